/**
 * Issue 4, the `sim` service in the one-process system with the real broker service (device
 * auth and ACL): it registers its devices and keeps their passwords (0600), every device
 * connects with its own account, payloads follow the contract, a trainer injects a fault over
 * `sim/control`, and an operator's `stop` is acknowledged and shows in the next readings.
 * The simulated clock runs at 120x from a clear March morning (seed "it"), so the pump runs.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { type MqttClient, connect } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CommandAck, Status, TELEMETRY } from '../contracts/payloads.js'
import { SIM_ACK_TOPIC, SIM_CONTROL_TOPIC, SIM_STATE_TOPIC, SimAck, SimState } from '../contracts/sim-control.js'
import { parseTopic } from '../contracts/topics.js'
import { credentialsPath } from '../firmware-sim/credentials.js'
import type { Registry } from '../registry/index.js'
import { registryFilesContain } from './helpers/accounts.js'
import { type TestApp, startTestApp } from './helpers/app.js'
import { waitFor } from './helpers/wait-for.js'

interface Message {
  topic: string
  payload: Record<string, unknown>
  retain: boolean
  atMs: number
}

let app: TestApp
let appClosed = false
let watcher: MqttClient
let trainer: MqttClient
const seen: Message[] = []
const FARM = 'ranong-01'
const PUMP = 'ranong-01-pump'
const DEVICES = [PUMP, 'ranong-01-bank', 'ranong-01-soil-1', 'ranong-01-soil-2', 'ranong-01-soil-3']
const SIM_ENV = { SIM_FARMS: '1', SIM_SPEED: '120', SIM_SEED: 'it', SIM_START: '2026-03-08T09:30:00+07:00', SIM_TRAINING_FARMS: FARM }

async function client(username: string, role: 'service' | 'operator'): Promise<MqttClient> {
  const creds = await app.accounts.setUser(username, role)
  const c = connect(`mqtt://127.0.0.1:${app.mqttPort}`, { ...creds, clientId: username, protocolVersion: 4, keepalive: 30, reconnectPeriod: 500 })
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve())
    c.once('error', reject)
  })
  return c
}

const messages = (pred: (m: Message) => boolean) => seen.filter(pred)
const telemetry = (device: string) => messages((m) => m.topic.endsWith(`/${device}/telemetry`))

beforeAll(async () => {
  app = await startTestApp(['broker', 'sim'], SIM_ENV)
  watcher = await client('test-watcher', 'service')
  watcher.on('message', (topic, payload, packet) => {
    if (payload.length === 0) return
    seen.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain, atMs: Date.now() })
  })
  await watcher.subscribeAsync(['farm/#', `${SIM_ACK_TOPIC}`, SIM_STATE_TOPIC], { qos: 1 })
  trainer = await client('trainer-1', 'operator')
})

afterAll(async () => {
  if (appClosed) return rm(app.dataDir, { recursive: true, force: true })
  await trainer?.endAsync()
  await watcher?.endAsync()
  await app?.stop()
})

describe('the sim service', () => {
  it('registers its devices and keeps their passwords in DATA_DIR/sim/credentials.json, mode 0600', async () => {
    const path = credentialsPath(app.dataDir)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const saved = JSON.parse(await readFile(path, 'utf8')) as { devices: Record<string, string> }
    expect(Object.keys(saved.devices).sort()).toEqual([...DEVICES].sort())
    for (const d of DEVICES) {
      expect(app.accounts.getDevice(d)?.farm).toBe(FARM)
      expect(await app.accounts.authenticate(d, saved.devices[d] ?? '')).toMatchObject({ role: 'device', device: d })
    }
    expect(await registryFilesContain(app.dataDir, saved.devices[PUMP] ?? '')).toBe(false)
  })

  it('takes its training farms from the registry: SIM_TRAINING_FARMS set the flag there, and an edit there reaches sim/control/state', async () => {
    expect((await app.registry.farms.get(FARM))?.training).toBe(true)
    const trainingInState = () => {
      const last = messages((m) => m.topic === SIM_STATE_TOPIC).at(-1)
      return last ? SimState.parse(last.payload).farms.find((f) => f.farm === FARM)?.training : undefined
    }
    await waitFor(() => trainingInState() === true, { message: 'the training farm in the state' })
    const actor = { who: 'test', how: 'cli' } as const
    expect((await app.registry.farms.update(FARM, { training: false }, actor)).ok).toBe(true)
    await waitFor(() => trainingInState() === false, { timeoutMs: 1_000, message: 'the registry edit in sim/control/state within 1 s' })
    expect((await app.registry.farms.update(FARM, { training: true }, actor)).ok).toBe(true)
    await waitFor(() => trainingInState() === true, { timeoutMs: 1_000, message: 'marked again' })
  })

  it('connects every device with a retained birth and publishes valid telemetry', async () => {
    await waitFor(() => DEVICES.every((d) => messages((m) => m.topic.endsWith(`/${d}/status`) && m.payload.online === true).length > 0), { message: 'a birth from every device' })
    for (const m of messages((x) => x.topic.endsWith('/status'))) expect(Status.safeParse(m.payload).success).toBe(true)
    await waitFor(() => DEVICES.every((d) => telemetry(d).length > 0), { timeoutMs: 30_000, message: 'telemetry from every device' })
    for (const m of messages((x) => x.topic.endsWith('/telemetry'))) {
      const at = parseTopic(m.topic)
      if (!at.ok) throw new Error(at.reason)
      const r = TELEMETRY[at.kind].safeParse(m.payload)
      expect(r.success, JSON.stringify(m.payload)).toBe(true)
    }
    // A clear March morning in Ranong: the pump runs and reports every 5 simulated seconds.
    await waitFor(() => telemetry(PUMP).filter((m) => m.payload.state === 'running').length >= 5, { message: 'running pump readings' })
  })

  it('publishes its retained state: farms, the training farm, devices', async () => {
    const state = await waitFor(() => messages((m) => m.topic === SIM_STATE_TOPIC).at(-1), { message: 'sim state' })
    const parsed = SimState.parse(state.payload)
    expect(parsed.farms).toEqual([{ farm: FARM, training: true, devices: expect.any(Array) }])
    expect(parsed.farms[0]?.devices.map((d) => d.device)).toEqual(DEVICES)
    expect(parsed.speed).toBe(120)
  })

  it('takes a fault from a trainer over sim/control and shows its signature', async () => {
    trainer.publish(SIM_CONTROL_TOPIC, JSON.stringify({ action: 'inject', id: 'dry-1', device: PUMP, fault: 'dry_run' }), { qos: 1 })
    const ack = await waitFor(() => messages((m) => m.topic === SIM_ACK_TOPIC && m.payload.id === 'dry-1')[0], { message: 'sim control ack' })
    expect(SimAck.parse(ack.payload)).toEqual({ id: 'dry-1', ok: true })
    await waitFor(() => messages((m) => m.topic === SIM_STATE_TOPIC && (m.payload.faults as unknown[]).length === 1).length > 0, { message: 'state with the fault' })
    const dry = await waitFor(() => telemetry(PUMP).find((m) => m.payload.fault === 'DRY_RUN'), { timeoutMs: 20_000, message: 'DRY_RUN reading' })
    expect(dry.payload).toMatchObject({ state: 'fault', flow_lpm: 0 })
    expect(messages((m) => m.topic.endsWith(`/${PUMP}/event`) && m.payload.fault === 'DRY_RUN').length).toBeGreaterThan(0)
    trainer.publish(SIM_CONTROL_TOPIC, JSON.stringify({ action: 'clear', id: 'dry-2', device: PUMP }), { qos: 1 })
    trainer.publish(SIM_CONTROL_TOPIC, JSON.stringify({ action: 'inject', id: 'bad-1', device: PUMP, fault: 'gremlins' }), { qos: 1 })
    const bad = await waitFor(() => messages((m) => m.topic === SIM_ACK_TOPIC && m.payload.id === 'bad-1')[0], { message: 'refusal' })
    expect(bad.payload).toMatchObject({ ok: false, error: expect.stringMatching(/fault/) })
  })

  it('acknowledges an operator stop, and the next pump reading shows it stopped', async () => {
    const cmdTopic = `farm/${FARM}/pump/${PUMP}/cmd`
    // After the dry-run clear the controller waits out its back-off: a reset starts it now.
    trainer.publish(cmdTopic, JSON.stringify({ id: 'reset-1', cmd: 'reset' }), { qos: 1 })
    await waitFor(() => telemetry(PUMP).at(-1)?.payload.state === 'running', { timeoutMs: 20_000, message: 'pump running again' })
    const sentAt = Date.now()
    trainer.publish(cmdTopic, JSON.stringify({ id: 'stop-1', cmd: 'stop' }), { qos: 1 })
    const ack = await waitFor(() => messages((m) => m.topic.endsWith(`/${PUMP}/cmd/ack`) && m.payload.id === 'stop-1')[0], { message: 'stop ack' })
    expect(CommandAck.parse(ack.payload)).toEqual({ id: 'stop-1', ok: true })
    const after = await waitFor(
      () => {
        const xs = telemetry(PUMP).filter((m) => m.atMs >= ack.atMs && m.atMs >= sentAt)
        return xs.length >= 3 ? xs : undefined
      },
      { message: 'three readings after the stop' },
    )
    for (const m of after.slice(0, 3)) expect(m.payload).toMatchObject({ state: 'off', flow_lpm: 0, motor_rpm: 0 })
  })
})

describe('the sim service across restarts', () => {
  it('keeps its accounts, and registers again a device whose password it lost', async () => {
    const dataDir = app.dataDir
    const hashOf = async (registry: Registry, device: string) => (await registry.devices.get(device))?.credentialsHash
    const before = { pump: await hashOf(app.registry, PUMP), soil: await hashOf(app.registry, 'ranong-01-soil-2') }
    await trainer.endAsync()
    await watcher.endAsync()
    await app.close()
    appClosed = true
    const saved = JSON.parse(await readFile(credentialsPath(dataDir), 'utf8')) as { version: 1; devices: Record<string, string> }
    delete saved.devices['ranong-01-soil-2']
    await writeFile(credentialsPath(dataDir), JSON.stringify(saved), { mode: 0o600 })
    const again = await startTestApp(['broker', 'sim'], SIM_ENV, dataDir)
    try {
      expect(await hashOf(again.registry, PUMP)).toBe(before.pump)
      expect(await hashOf(again.registry, 'ranong-01-soil-2')).not.toBe(before.soil)
      const creds = JSON.parse(await readFile(credentialsPath(dataDir), 'utf8')) as { devices: Record<string, string> }
      expect(await again.accounts.authenticate('ranong-01-soil-2', creds.devices['ranong-01-soil-2'] ?? '')).toMatchObject({ role: 'device' })
      await waitFor(() => again.logs.find('simulator running').length === 1, { message: 'simulator running again' })
    } finally {
      await again.stop()
    }
  })
})

describe('the sim service turned off', () => {
  it('SIM_FARMS=0 (a real install): no simulated farm, device or reading, and nothing on sim/control/state', async () => {
    const off = await startTestApp(['broker', 'sim'], { SIM_FARMS: '0' })
    try {
      expect(off.info.sim).toEqual({ off: true })
      expect(off.accounts.listDevices()).toEqual([])
      expect(await off.registry.farms.list()).toEqual([])
      expect(off.logs.lines.some((l) => l.msg === 'SIM_FARMS=0: the simulator is off')).toBe(true)
    } finally {
      await off.stop()
    }
  })
})
