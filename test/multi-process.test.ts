/**
 * Issue 14, the deployment beyond one machine: two broker processes on one PostgreSQL registry
 * and one Redis, two ingest processes splitting the fleet by farm (INGEST_FARMS), each with its
 * own DATA_DIR as on its own machine, writing into one real InfluxDB. Both ingests keep their
 * broker sessions (neither one's login replaces the other's secret, neither takes over the
 * other's session, not even across a restart), every reading published to either broker is
 * stored exactly once and processed by exactly one ingest, none lost while one is restarted, and a device added by `suanyang
 * device add` logs in on both brokers within a second.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAll, connectAs, publishOutcome } from '../bench/lib/mqttjs.js'
import { type DeviceCredentials, addDevice, makeDataDir } from './helpers/app.js'
import { type Daemon, freePort } from './helpers/daemon.js'
import { pumpReading } from './helpers/device-stream.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { startRedis } from './helpers/redis.js'
import { registryStores } from './helpers/registry.js'
import { type ServiceProcess, startServiceProcess } from './helpers/service-process.js'
import { waitFor } from './helpers/wait-for.js'

const T0 = Date.UTC(2026, 2, 1, 0, 0, 0)
/** Readings per device: even seq to broker A, odd to broker B. */
const PER_DEVICE = 40

const stores = registryStores()
const dirs: string[] = []
let redis: Daemon
let influx: InfluxHandle
let shared: Record<string, string>
/** Where `suanyang device add` runs: a DATA_DIR of its own, the shared registry. */
let cliDir: string
const brokers: Array<{ process: ServiceProcess; url: string }> = []
const ingests: Array<{ process: ServiceProcess; env: Record<string, string> }> = []
const devices: DeviceCredentials[] = []

async function dataDir(): Promise<string> {
  const dir = await makeDataDir()
  dirs.push(dir)
  return dir
}

async function startBroker(id: string): Promise<{ process: ServiceProcess; url: string }> {
  const port = await freePort()
  const env = { ...shared, DATA_DIR: await dataDir(), MQTT_PORT: String(port), MQTT_WS_PORT: '0', BROKER_ID: id }
  return { process: await startServiceProcess(['broker'], env, id), url: `mqtt://127.0.0.1:${port}` }
}

/** An ingest process: its own DATA_DIR, the default INGEST_CLIENT_ID and service login (as every machine gets them). */
async function startIngest(label: string, brokerUrl: string, farms: string): Promise<{ process: ServiceProcess; env: Record<string, string> }> {
  const env = {
    ...shared,
    DATA_DIR: await dataDir(),
    MQTT_URL: brokerUrl,
    INGEST_FARMS: farms,
    INFLUX_URL: influx.url,
    INFLUX_BUCKET: influx.bucket,
    INFLUX_TOKEN: 'test',
    INGEST_FLUSH_MS: '50',
  }
  return { process: await startServiceProcess(['ingest'], env, label), env }
}

interface Connected {
  username: string
  clientId: string
  sessionPresent: boolean
}
const connected = (p: ServiceProcess) => p.logs.filter((l) => l.msg === 'ingest connected') as unknown as Connected[]
const sum = async (processes: ServiceProcess[], metric: string) => (await Promise.all(processes.map((p) => p.metric(metric)))).reduce((a, b) => a + b, 0)
const storedOf = async (device: string) =>
  Number((await influx.queryRows(`SELECT count(flow_lpm) FROM pump WHERE device = '${device}'`))[0]?.count ?? 0)

beforeAll(async () => {
  const redisDir = await mkdtemp(join(tmpdir(), 'suanyang-redis-'))
  dirs.push(redisDir)
  const [started, at, influxd] = await Promise.all([startRedis(redisDir), stores.fresh('postgres'), startInflux()])
  redis = started.daemon
  influx = influxd
  cliDir = at.dataDir
  shared = { DATABASE_URL: at.databaseUrl ?? '', REDIS_URL: `redis://127.0.0.1:${started.port}` }
  brokers.push(...(await Promise.all([startBroker('node-a'), startBroker('node-b')])))
  // Ingest A reads from broker A and handles the north farms (a pattern: it subscribes to every
  // farm and ignores the others); ingest B from broker B, south-01 alone (subscribed to it alone).
  ingests.push(...(await Promise.all([startIngest('ingest-a', brokers[0]!.url, 'north-*'), startIngest('ingest-b', brokers[1]!.url, 'south-01')])))
  for (const farm of ['north-01', 'south-01']) {
    for (const n of [1, 2]) devices.push(await addDevice(cliDir, farm, 'pump', `${farm}-p${n}`, shared))
  }
}, 60_000)

afterAll(async () => {
  for (const i of ingests) await i.process.stop().catch(() => undefined)
  for (const b of brokers) await b.process.stop().catch(() => undefined)
  await redis?.stop()
  await influx?.close()
  await stores.close()
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

describe('two brokers and two ingest processes on PostgreSQL and Redis', () => {
  it('each ingest logs in with an account of its own, on a session of its own', async () => {
    await waitFor(() => ingests.every((i) => connected(i.process).length > 0), { timeoutMs: 10_000, message: 'both ingests connected' })
    const [a, b] = ingests.map((i) => connected(i.process)[0])
    for (const who of [a, b]) {
      expect(who?.username).toMatch(/^ingest-[0-9a-f]{8}$/)
      expect(who?.clientId).toBe(`${who?.username}_1`) // INGEST_CLIENT_ID ingest-1, under its own login
    }
    expect(a?.username).not.toBe(b?.username)
  })

  it('stores every reading published to either broker exactly once, each through one ingest', async () => {
    const clients: MqttClient[] = []
    try {
      const sends: Array<Promise<string>> = []
      for (const d of devices) {
        // One connection per broker, each with a client id of its own (the username + `_` + suffix).
        const pair = await Promise.all(brokers.map((b, i) => connectAs(b.url, d, { clientId: `${d.device}_${i}` })))
        clients.push(...pair)
        for (const c of pair) c.setMaxListeners(PER_DEVICE) // one close listener per publish in flight
        for (let seq = 0; seq < PER_DEVICE; seq++) {
          sends.push(publishOutcome(pair[seq % 2]!, `farm/${d.farm}/pump/${d.device}/telemetry`, pumpReading(seq, T0 + seq * 1_000)))
        }
      }
      expect(new Set(await Promise.all(sends))).toEqual(new Set(['acked']))
    } finally {
      await closeAll(clients)
    }
    const total = PER_DEVICE * devices.length
    const received: number[] = []
    const stored = async () => {
      received.splice(0, 2, ...(await Promise.all(ingests.map((i) => i.process.metric('ingest_received_total')))))
      return Number((await influx.queryRows('SELECT count(flow_lpm) FROM pump'))[0]?.count ?? 0)
    }
    let seen = 0
    await waitFor(async () => (seen = await stored()) >= total, {
      timeoutMs: 20_000,
      message: () => `${total} readings in InfluxDB (${seen}; received by the ingests: ${received.join(', ')})`,
    })
    const seqs = await influx.queryRows('SELECT min(seq), max(seq), count(seq) FROM pump GROUP BY device')
    expect(Object.fromEntries(seqs.map((r) => [r.device, [r.min, r.max, r.count]]))).toEqual(
      Object.fromEntries(devices.map((d) => [d.device, [0, PER_DEVICE - 1, PER_DEVICE]])),
    )
    // Processed once, not written twice and overwritten: the two ingests' counts add up to the total.
    const processes = ingests.map((i) => i.process)
    await waitFor(async () => (await sum(processes, 'ingest_points_written_total')) >= total, { timeoutMs: 10_000, message: 'written counted' })
    expect(await sum(processes, 'ingest_accepted_total')).toBe(total)
    expect(await sum(processes, 'ingest_points_written_total')).toBe(total)
    const [a, b] = await Promise.all(processes.map((p) => p.metric('ingest_accepted_total')))
    expect([a, b]).toEqual([total / 2, total / 2])
    expect(await ingests[0]!.process.metric('ingest_ignored_total')).toBe(total / 2) // the south farm, not its own
    expect(await ingests[1]!.process.metric('ingest_ignored_total')).toBe(0)
  })

  it('an ingest restarted keeps its account and its session (with what was queued meanwhile) and disturbs the other one in nothing', async () => {
    const before = connected(ingests[0]!.process)[0]!
    await ingests[0]!.process.stop()
    // Meanwhile a north device publishes through broker B: the session of ingest A keeps them.
    const north = devices[0]!
    const device = await connectAs(brokers[1]!.url, north, { clientId: `${north.device}_away` })
    try {
      for (let seq = PER_DEVICE; seq < PER_DEVICE + 10; seq++) expect(await publishOutcome(device, `farm/${north.farm}/pump/${north.device}/telemetry`, pumpReading(seq, T0 + seq * 1_000))).toBe('acked')
    } finally {
      await closeAll([device])
    }
    const again = await startServiceProcess(['ingest'], ingests[0]!.env, 'ingest-a')
    ingests[0] = { process: again, env: ingests[0]!.env }
    await waitFor(() => connected(again).length > 0, { timeoutMs: 10_000, message: 'ingest A connected again' })
    expect(connected(again)[0]).toMatchObject({ username: before.username, clientId: before.clientId, sessionPresent: true })
    await waitFor(async () => (await storedOf(north.device)) >= PER_DEVICE + 10, { timeoutMs: 10_000, message: 'the readings queued while ingest A was away, stored' })
    expect(await storedOf(north.device)).toBe(PER_DEVICE + 10)
    // Seen by the other ingest's broker and its ingest: nothing closed, nothing taken over.
    await new Promise((r) => setTimeout(r, 600)) // past the brokers' 250 ms account poll
    for (const i of ingests) expect(await i.process.metric('ingest_mqtt_connections_total')).toBe(1)
    for (const b of brokers) {
      expect(await b.process.metric('mqtt_sessions_revoked_total')).toBe(0)
      expect(await b.process.metric('mqtt_session_takeovers_total')).toBe(0)
    }
    expect(ingests.flatMap((i) => i.process.logs).filter((l) => /refused|disconnected|closed/.test(String(l.msg)))).toEqual([])
  })

  it('a device added by `suanyang device add` logs in on both brokers within 1 s, and its readings are stored once', async () => {
    const added = await addDevice(cliDir, 'south-01', 'pump', 'south-01-p3', shared)
    const clients: MqttClient[] = []
    try {
      for (const [i, b] of brokers.entries()) {
        const began = Date.now()
        clients.push(await waitFor(() => connectAs(b.url, added, { clientId: `${added.device}_${i}` }).catch(() => undefined), { timeoutMs: 1_000, intervalMs: 50, message: `${b.url} accepts the added device within 1 s` }))
        expect(Date.now() - began).toBeLessThan(1_000)
      }
      for (const [i, c] of clients.entries()) expect(await publishOutcome(c, `farm/south-01/pump/${added.device}/telemetry`, pumpReading(i, T0 + i * 1_000))).toBe('acked')
    } finally {
      await closeAll(clients)
    }
    await waitFor(async () => (await storedOf(added.device)) >= 2, { timeoutMs: 10_000, message: 'its two readings stored' })
    expect(await storedOf(added.device)).toBe(2)
    for (const b of brokers) expect(await b.process.metric('mqtt_sessions_revoked_total')).toBe(0)
  })
})
