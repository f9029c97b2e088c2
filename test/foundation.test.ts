/**
 * Issue 2, end to end with real parts: the CLI registers a device, mosquitto_pub publishes as
 * that device, the broker authenticates and authorises, ingest validates and writes to a real
 * InfluxDB (1.6.7 behind the v2 write shim). Bad input is dead-lettered, never stored.
 */
import { createServer, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURE_TS, invalidPumpPayloads, validPump } from '../contracts/fixtures.js'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { registryFilesContain } from './helpers/accounts.js'
import { type DeviceCredentials, type TestApp, addDevice, runCli, startTestApp } from './helpers/app.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { mosquittoPub } from './helpers/mosquitto.js'
import { waitFor } from './helpers/wait-for.js'

let influx: InfluxHandle
let app: TestApp
let pump: DeviceCredentials
let pump2: DeviceCredentials

const topicOf = (d: DeviceCredentials, channel = 'telemetry') => `farm/${d.farm}/${d.kind}/${d.device}/${channel}`
const pub = (d: DeviceCredentials, message: string, opts: { topic?: string; password?: string; username?: string | undefined } = {}) =>
  mosquittoPub({
    port: app.mqttPort,
    username: 'username' in opts ? opts.username : d.username,
    password: opts.password ?? d.password,
    clientId: d.device,
    qos: 1,
    topic: opts.topic ?? topicOf(d),
    message,
  })
const reading = (over: Record<string, unknown> = {}) => JSON.stringify({ ...validPump, ...over })
const deadLetters = () => DeadLetterStore.forDataDir(app.dataDir).list()

beforeAll(async () => {
  influx = await startInflux()
  app = await startTestApp(['broker', 'ingest'], { INFLUX_URL: influx.url, INFLUX_BUCKET: influx.bucket, INFLUX_TOKEN: 'test' })
  // Registered while the broker runs: no restart needed.
  pump = await addDevice(app.dataDir, 'ranong-01', 'pump', 'pump-1')
  pump2 = await addDevice(app.dataDir, 'ranong-02', 'pump', 'pump-9')
})

afterAll(async () => {
  await app?.stop()
  await influx?.close()
})

describe('a registered device, end to end', () => {
  it('prints credentials once: username = device id, a secret of 128 bits or more, only a hash stored', async () => {
    expect(pump.username).toBe('pump-1')
    expect(Buffer.from(pump.password, 'base64url').length * 8).toBeGreaterThanOrEqual(128)
    expect((await app.registry.devices.get('pump-1'))?.credentialsHash).toMatch(/^hmac-sha256\$/)
    // Nowhere in the registry's files (the database and its write-ahead log) in clear.
    expect(await registryFilesContain(app.dataDir, pump.password)).toBe(false)
  })

  it('stores a mosquitto_pub reading with float fields, farm/device tags and the device timestamp', async () => {
    const r = await pub(pump, reading())
    expect(r.code, r.stderr).toBe(0)
    const rows = await waitFor(async () => {
      const rows = await influx.queryRows(`SELECT * FROM pump WHERE device = 'pump-1'`)
      return rows.length > 0 && rows
    })
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ time: FIXTURE_TS, farm: 'ranong-01', device: 'pump-1', flow_lpm: 31.5, motor_rpm: 2850, state: 'running', fault: 'none' })
    const types = await influx.fieldTypes('pump')
    for (const [field, type] of Object.entries(types)) expect(type, field).toBe(['state', 'fault'].includes(field) ? 'string' : 'float')
  })

  it('stores the same reading delivered twice once, and 20 then 20.5 in one field both', async () => {
    await pub(pump, reading({ ts: FIXTURE_TS + 1000, seq: 43, pv_v: 20 }))
    await pub(pump, reading({ ts: FIXTURE_TS + 1000, seq: 43, pv_v: 20 }))
    await pub(pump, reading({ ts: FIXTURE_TS + 2000, seq: 44, pv_v: 20.5 }))
    const rows = await waitFor(async () => {
      const rows = await influx.queryRows(`SELECT pv_v FROM pump WHERE device = 'pump-1' AND time > ${FIXTURE_TS}ms`)
      return rows.length >= 2 && rows
    })
    expect(rows.map((r) => r.pv_v)).toEqual([20, 20.5])
    expect(app.metrics.counter('ingest_duplicates_total', '').total()).toBeGreaterThanOrEqual(1)
  })
})

describe('refused at the broker: never stored, each with a logged reason', () => {
  const count = () => influx.queryRows(`SELECT count(flow_lpm) FROM pump`).then((r) => Number(r[0]?.count ?? 0))

  it.each([
    ['a wrong password', { username: 'pump-1', password: 'not-the-password' }, 'bad username or password'],
    ['an unknown user', { username: 'pump-404', password: 'whatever-it-is' }, 'bad username or password'],
    ['an anonymous client', { username: undefined, password: undefined }, 'anonymous'],
  ])('%s', async (_name, opts, reason) => {
    const before = await count()
    const r = await mosquittoPub({ port: app.mqttPort, clientId: 'x', qos: 1, topic: topicOf(pump), message: reading({ seq: 99 }), ...opts })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/refused|not authori[sz]ed|bad user/i)
    await waitFor(() => app.logs.find('connection refused', { reason }).length > 0, { message: `log "${reason}"` })
    expect(await count()).toBe(before)
  })

  it.each([
    ['as another device', 'farm/ranong-01/pump/pump-2/telemetry'],
    ['on another farm', 'farm/ranong-02/pump/pump-1/telemetry'],
    ['a forged status for another device', 'farm/ranong-02/pump/pump-9/status'],
  ])('a device publishing %s', async (_name, topic) => {
    await pub(pump, reading({ seq: 500, ts: FIXTURE_TS + 500_000 }), { topic })
    await waitFor(() => app.logs.find('publish denied', { topic }).length > 0, { message: `denial of ${topic}` })
    const [denial] = app.logs.find('publish denied', { topic })
    expect(denial?.reason).toMatch(/own farm\/kind\/id/)
    expect(await influx.queryRows(`SELECT * FROM pump WHERE time = ${FIXTURE_TS + 500_000}ms`)).toEqual([])
  })
})

describe('bad payloads: dead-lettered with the reason, never stored, nothing stops', () => {
  it.each(invalidPumpPayloads.map((c, i) => ({ ...c, i })))('$why', async ({ raw, why, i }) => {
    // Each case gets its own timestamp so a wrongly stored row would be visible.
    const marked = raw.replace(String(FIXTURE_TS), String(FIXTURE_TS + 3_600_000 + i))
    const r = await pub(pump, marked)
    expect(r.code, r.stderr).toBe(0)
    const entry = await waitFor(async () => (await deadLetters()).find((e) => e.payload === marked), { message: `dead letter for ${why}` })
    expect(entry.stage).toBe('ingest')
    expect(entry.reason.length).toBeGreaterThan(5)
    expect(await influx.queryRows(`SELECT * FROM pump WHERE time = ${FIXTURE_TS + 3_600_000 + i}ms`)).toEqual([])
  })

  it('refuses a payload over the size limit and disconnects the client', async () => {
    const r = await pub(pump, reading({ pad: 'x'.repeat(100 * 1024) }))
    expect(r.code).not.toBe(0)
    await waitFor(async () => (await deadLetters()).some((e) => e.stage === 'broker' && e.code === 'too_large'))
    expect(app.logs.find('oversized packet: client disconnected').length).toBeGreaterThan(0)
  })

  it('keeps running: a valid reading afterwards is stored', async () => {
    await pub(pump, reading({ ts: FIXTURE_TS + 7_200_000, seq: 700 }))
    await waitFor(async () => (await influx.queryRows(`SELECT * FROM pump WHERE time = ${FIXTURE_TS + 7_200_000}ms`)).length === 1)
    const counts = await runCli(['deadletter', 'count', '--json'], { DATA_DIR: app.dataDir })
    expect(JSON.parse(counts.stdout)).toMatchObject({ 'ingest/bad_json': 2, 'ingest/invalid': 8, 'broker/too_large': 1 })
    expect(pump2.device).toBe('pump-9')
  })
})

describe('the CLI', () => {
  it('explains every command', async () => {
    const r = await runCli(['--help'], {})
    expect(r.code).toBe(0)
    for (const cmd of ['start', 'device add', 'device list', 'device remove', 'deadletter', 'schema', 'sim']) expect(r.stdout).toContain(cmd)
  })

  it('refuses bad configuration with one error listing every bad variable, and starts nothing', async () => {
    const r = await runCli(['start', 'broker', 'ingest'], { MQTT_PORT: 'abc', INFLUX_URL: 'not a url', LOG_LEVEL: 'loud', DATA_DIR: app.dataDir })
    expect(r.code).toBe(1)
    for (const v of ['MQTT_PORT', 'INFLUX_URL', 'LOG_LEVEL']) expect(r.stderr).toContain(v)
  })

  it('a WebSocket port already in use fails the start with EADDRINUSE instead of an uncaught error', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      await expect(startTestApp(['broker'], { MQTT_WS_PORT: String(port) })).rejects.toThrow(/EADDRINUSE/)
    } finally {
      taken.close()
    }
  })
})
