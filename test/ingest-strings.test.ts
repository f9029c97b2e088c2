/**
 * Issue 13 (line-protocol injection), against a real InfluxDB: 1,200 generated readings whose
 * string fields hold line breaks, control characters, forged lines aimed at another farm's
 * series, quotes, backslashes and unpaired surrogates, with hostile extra keys, from four devices
 * of two farms through the real broker and ingest. Batches are kept small (INGEST_BATCH_BYTES)
 * so the spool cuts between lines often, and one reading in eight is stamped in a later shard
 * where `fw` is pre-seeded as a float: there a status reading with a firmware version is refused
 * by InfluxDB (field type conflict) and must be narrowed out of its batch, alone and whole.
 * Then InfluxDB holds exactly the accepted readings, each in its own series and nowhere else, and
 * every refused one is in the dead-letter store with a reason.
 */
import fc from 'fast-check'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHANNEL_SPECS } from '../contracts/registry.js'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { type DeviceCredentials, type TestApp, addDevice, startTestApp } from './helpers/app.js'
import { STORED_CASES, expectedFields, hostilePayload, measurementOf } from './helpers/contract-cases.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { parseLine } from './helpers/line-protocol.js'
import { waitFor } from './helpers/wait-for.js'

const CASES = 1_200
const T0 = Date.UTC(2026, 3, 1)
/** Readings stamped here land in another shard (InfluxDB 1.x: 7-day shard groups), where fw is a float. */
const CONFLICT_T0 = T0 + 9 * 86_400_000
const SEED = `device_status,device=seed,farm=seed fw=1 ${CONFLICT_T0 - 1000}`
const tsOf = (i: number) => (i % 8 === 0 ? CONFLICT_T0 : T0) + i * 1000
let influx: InfluxHandle
let app: TestApp

beforeAll(async () => {
  influx = await startInflux()
  const seeded = await fetch(`${influx.directUrl}/write?db=${influx.db}&precision=ms`, { method: 'POST', body: SEED })
  expect(seeded.status).toBe(204)
  app = await startTestApp(['broker', 'ingest'], { INFLUX_URL: influx.url, INFLUX_BUCKET: influx.bucket, INFLUX_TOKEN: 't', INGEST_BATCH_BYTES: '2048' })
})
afterAll(async () => {
  await app?.stop()
  await influx?.close()
})

interface Sent {
  topic: string
  raw: Buffer
  /** `measurement|farm|device|time` and the fields InfluxDB must hold, when accepted. */
  row?: { key: string; fields: Record<string, unknown> }
  refusedBy?: 'ingest' | 'writer'
}

describe('hostile strings into a real InfluxDB', () => {
  it(`${CASES} generated readings: InfluxDB holds exactly the accepted ones, in their own series; the refused are dead-lettered with a reason`, async () => {
    const devices: DeviceCredentials[] = [
      await addDevice(app.dataDir, 'farm-a', 'pump', 'pump-a'),
      await addDevice(app.dataDir, 'farm-a', 'soil', 'soil-a'),
      await addDevice(app.dataDir, 'farm-a', 'waterbank', 'bank-a'),
      await addDevice(app.dataDir, 'farm-b', 'pump', 'pump-b'),
    ]
    // forged lines aim at farm-b's pump; farm-b's own readings must be the only ones there
    const target = { farm: 'farm-b', device: 'pump-b' }
    const casesOf = (kind: string) => STORED_CASES.filter((c) => c.kind === kind || c.channel !== 'telemetry') // status, event: any kind
    const arb = fc.integer({ min: 0, max: devices.length - 1 }).chain((d) =>
      fc.constantFrom(...casesOf(devices[d]!.kind)).chain((c) => fc.record({ d: fc.constant(d), c: fc.constant(c), payload: hostilePayload(c, target) })),
    )
    const sent: Sent[] = fc.sample(arb, { numRuns: CASES, seed: 20261313 }).map(({ d, c, payload }, i) => {
      const dev = devices[d]!
      const kind = dev.kind as (typeof STORED_CASES)[number]['kind']
      const value = { ...payload, ts: tsOf(i), ...(c.channel === 'telemetry' ? { seq: i, boot: 1 } : {}) }
      const raw = Buffer.from(JSON.stringify(value))
      const topic = `farm/${dev.farm}/${kind}/${dev.device}/${c.channel}`
      const zod = CHANNEL_SPECS[c.channel].schemaFor(kind).safeParse(JSON.parse(raw.toString()))
      if (!zod.success) return { topic, raw, refusedBy: 'ingest' }
      const fields = expectedFields(kind, c.channel, zod.data as Record<string, unknown>)
      const row = { key: `${measurementOf(kind, c.channel)}|${dev.farm}|${dev.device}|${value.ts}`, fields }
      if (c.channel === 'status' && 'fw' in fields && value.ts >= CONFLICT_T0) return { topic, raw, row, refusedBy: 'writer' }
      return { topic, raw, row }
    })
    const stored = sent.filter((s) => s.row && !s.refusedBy)
    const refused = (by: string) => sent.filter((s) => s.refusedBy === by)
    expect(stored.length).toBeGreaterThan(300) // the generator reaches every side
    expect(refused('ingest').length).toBeGreaterThan(300)
    expect(refused('writer').length).toBeGreaterThan(10)

    const clients = new Map<string, MqttClient>()
    for (const dev of devices) {
      const opts = { clientId: dev.device, username: dev.username, password: dev.password, protocolVersion: 4 as const }
      clients.set(dev.device, await mqtt.connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, opts))
    }
    await Promise.all(sent.map((s) => clients.get(s.topic.split('/')[3]!)!.publishAsync(s.topic, s.raw, { qos: 1 })))
    await Promise.all([...clients.values()].map((c) => c.endAsync()))

    const letters = async (stage: string) => (await DeadLetterStore.forDataDir(app.dataDir).list()).filter((l) => l.stage === stage)
    const rows = async () => {
      const out = new Map<string, Record<string, unknown>>()
      for (const m of ['pump', 'soil', 'waterbank', 'device_status', 'device_event']) {
        // fw is a string in one shard and a float in the other; InfluxDB 1.x would show one type
        // for both: the string one is asked for by name, the float one (the seed) comes as fw_1
        const select = m === 'device_status' ? `"fw"::string, *` : '*'
        for (const s of await influx.query(`SELECT ${select} FROM "${m}" GROUP BY *`)) {
          expect(Object.keys(s.tags).sort(), `${m} ${JSON.stringify(s.tags)}`).toEqual(['device', 'farm']) // no other tag key, ever
          for (const v of s.values) {
            const fields = Object.fromEntries(s.columns.map((col, i) => [col, v[i]]).filter(([col, x]) => col !== 'time' && col !== 'fw_1' && x !== null))
            out.set(`${m}|${s.tags.farm}|${s.tags.device}|${v[0]}`, fields)
          }
        }
      }
      return out
    }
    const counter = (name: string) => app.metrics.counter(name, '').total()
    await waitFor(() => counter('ingest_accepted_total') + counter('ingest_rejected_total') === CASES, { message: () => `${CASES} judged` })
    const spoolBytes = app.metrics.gauge('ingest_spool_bytes', '')
    await waitFor(() => spoolBytes.render() && spoolBytes.get() === 0, {
      timeoutMs: 40_000,
      message: () => `the spool drained (${spoolBytes.get()} bytes left; last write answers ${influx.shim.log.slice(-5).map((r) => r.status)})`,
    })

    const got = await rows()
    got.delete(`device_status|seed|seed|${CONFLICT_T0 - 1000}`)
    expect([...got.keys()].sort()).toEqual(stored.map((s) => s.row!.key).sort()) // nothing else, in no other series
    for (const s of stored) expect(got.get(s.row!.key), s.raw.toString()).toEqual(s.row!.fields)
    expect((await influx.queryRows('SHOW MEASUREMENTS')).map((r) => r.name).sort()).toEqual(['device_event', 'device_status', 'pump', 'soil', 'waterbank'])

    const byIngest = await letters('ingest')
    expect(byIngest.map((l) => l.payload).sort()).toEqual(refused('ingest').map((s) => s.raw.toString()).sort())
    for (const l of byIngest) expect(l.reason).toMatch(/^\w+: /) // names the field
    const byWriter = await letters('writer')
    // each refused line alone and whole, not a fragment: it reads back as the reading it was
    const lineKey = (text = '') => {
      const p = parseLine(text)
      return p.ok ? { key: `${p.line.measurement}|${p.line.tags.farm}|${p.line.tags.device}|${p.line.time}`, fields: p.line.fields } : p.reason
    }
    expect(byWriter.map((l) => lineKey(l.payload))).toEqual(expect.arrayContaining(refused('writer').map((s) => s.row)))
    expect(byWriter).toHaveLength(refused('writer').length)
    for (const l of byWriter) expect(l.reason).toContain('field type conflict')
  }, 120_000)
})
