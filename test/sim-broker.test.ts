/**
 * Issue 4 "against the real broker": the broker service with device auth and ACL, and the
 * simulator as users run it. (1) `suanyang sim` is SIGKILLed: the broker publishes every
 * device's retained Last Will. (2) The broker is down for 10 simulated minutes (the clock runs
 * at 120x): the buffered readings arrive after it is back, with their original timestamps and no
 * gap in seq.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { type MqttClient, connect } from 'mqtt'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { Status } from '../contracts/payloads.js'
import { devicesOf } from '../firmware-sim/demo.js'
import { Engine } from '../firmware-sim/engine.js'
import { planFleet, registerDevices } from '../firmware-sim/setup.js'
import { mqttTransport } from '../firmware-sim/transport-mqtt.js'
import { silentLogger } from '../runtime/logger.js'
import { ROOT, type TestApp, makeDataDir, startTestApp } from './helpers/app.js'
import { waitFor } from './helpers/wait-for.js'

interface Got {
  topic: string
  payload: Record<string, unknown>
  retain: boolean
  atMs: number
}

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A service account that records what it receives; `clean: false` keeps its queue across a broker restart. */
async function watch(app: TestApp, filters: string[], clean = true): Promise<{ client: MqttClient; got: Got[] }> {
  const name = `watch-${Math.random().toString(36).slice(2, 8)}`
  const creds = await app.accounts.setUser(name, 'service')
  const got: Got[] = []
  const client = connect(`mqtt://127.0.0.1:${app.mqttPort}`, { ...creds, clientId: name, clean, protocolVersion: 4, keepalive: 30, reconnectPeriod: 200 })
  client.on('message', (topic, payload, packet) => {
    if (payload.length > 0) got.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain, atMs: Date.now() })
  })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  await client.subscribeAsync(filters, { qos: 1 })
  cleanups.push(() => client.endAsync(true))
  return { client, got }
}

describe('Last Will', () => {
  it('arrives, retained, for every device when the simulator process is killed', async () => {
    const app = await startTestApp(['broker'])
    cleanups.push(() => app.stop())
    const { got } = await watch(app, ['farm/+/+/+/status'])
    const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/suanyang.js'), 'sim', '--farms', '2', '--url', `mqtt://127.0.0.1:${app.mqttPort}`], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: app.dataDir, LOG_LEVEL: 'warn', SIM_START: '2026-03-08T09:30:00+07:00' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    cleanups.push(async () => {
      child.kill('SIGKILL')
      await exited
    })
    const plan = await planFleet({ farms: 2, devices: undefined, seed: 'ranong', training: [], scenarioPath: undefined, startMs: 0 })
    if (!plan.ok) throw new Error(plan.reason)
    const devices = devicesOf(plan.plan.farms).map((d) => d.device)
    const online = (d: string) => got.some((m) => m.topic.endsWith(`/${d}/status`) && m.payload.online === true)
    await waitFor(() => devices.every(online), { timeoutMs: 30_000, message: () => `a birth from all ${devices.length} devices; sim output:\n${output}` })

    const killedAt = Date.now()
    child.kill('SIGKILL')
    await exited
    const will = (d: string) => got.find((m) => m.topic.endsWith(`/${d}/status`) && m.payload.online === false && m.atMs >= killedAt)
    await waitFor(() => devices.every(will), {
      message: () => `the will of ${devices.filter((d) => !will(d)).join(', ')}; statuses seen: ${JSON.stringify(got.map((m) => [m.topic, m.payload.online]))}`,
    })
    for (const d of devices) expect(Status.parse(will(d)?.payload)).toMatchObject({ online: false, boot: 1 })
    // A client that comes later finds the will retained.
    const late = await watch(app, [`farm/+/pump/${devices[0]}/status`])
    const retained = await waitFor(() => late.got[0], { message: 'the retained status' })
    expect(retained).toMatchObject({ retain: true, payload: { online: false } })
  })
})

describe('broker outage', () => {
  it('after 10 minutes without the broker, the buffered readings arrive with their original ts and no seq gap', async () => {
    const dataDir = await makeDataDir()
    let app = await startTestApp(['broker'], {}, dataDir)
    const port = app.mqttPort
    cleanups.push(async () => {
      await app.stop()
      const { rm } = await import('node:fs/promises')
      await rm(dataDir, { recursive: true, force: true })
    })
    const watcher = await watch(app, ['farm/+/pump/+/telemetry'], false)

    const startMs = Date.parse('2026-03-08T09:30:00+07:00')
    const plan = await planFleet({ farms: 1, devices: undefined, seed: 'it', training: [], scenarioPath: undefined, startMs })
    if (!plan.ok) throw new Error(plan.reason)
    const passwords = await registerDevices(app.accounts, plan.plan.farms, dataDir, silentLogger)
    const engine = new Engine({
      farms: plan.plan.farms,
      seed: 'it',
      startMs,
      speed: 120,
      transport: mqttTransport({ url: `mqtt://127.0.0.1:${port}`, passwordOf: (d) => passwords.get(d), log: silentLogger }),
      log: silentLogger,
    })
    cleanups.push(() => engine.close(false))
    engine.startLive()
    const pump = engine.fleet.devices.get('ranong-01-pump')
    const readings = () => watcher.got.filter((m) => m.topic.endsWith('/ranong-01-pump/telemetry'))
    await waitFor(() => readings().filter((m) => m.payload.state === 'running').length >= 20, { message: 'running pump readings' })

    await app.close()
    const downFrom = engine.sched.now()
    // Ten simulated minutes of pumping, one reading per 5 s, all waiting in the device's buffer.
    await waitFor(() => engine.sched.now() >= downFrom + 10 * 60_000 && (pump?.backlog ?? 0) >= 120, { message: '10 simulated minutes of buffered readings' })
    const downTo = engine.sched.now()
    expect(pump?.connected).toBe(false)
    const restartedAt = Date.now()
    app = await startTestApp(['broker'], { MQTT_PORT: String(port) }, dataDir)

    await waitFor(() => pump?.connected && pump.backlog === 0 && readings().some((m) => (m.payload.ts as number) > downTo + 60_000), { timeoutMs: 30_000, message: 'the backlog delivered and live readings again' })
    const got = readings()
    const buffered = got.filter((m) => (m.payload.ts as number) > downFrom + 5_000 && (m.payload.ts as number) < downTo)
    expect(buffered.length).toBeGreaterThanOrEqual(100) // 10 min at one reading per 5 s
    for (const m of buffered) expect(m.atMs).toBeGreaterThanOrEqual(restartedAt)
    // Original timestamps: 5 s apart in simulated time, not the moment of the replay.
    const ts = [...new Set(buffered.map((m) => m.payload.ts as number))].sort((a, b) => a - b)
    expect(new Set(ts.slice(1).map((t, i) => t - (ts[i] ?? 0)))).toEqual(new Set([5_000]))
    const seqs = [...new Set(got.map((m) => m.payload.seq as number))].sort((a, b) => a - b)
    expect(seqs[0]).toBe(0)
    expect(seqs).toEqual(seqs.map((_, i) => i))
    expect(new Set(got.map((m) => m.payload.boot))).toEqual(new Set([1]))
  })
})
