/**
 * Issue 5: fuzzed payloads (property-based, 1,000 cases) through the real broker and ingest into a
 * real InfluxDB: zero crashes, and every message either stored or dead-lettered with a reason.
 */
import fc from 'fast-check'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validPump } from '../contracts/fixtures.js'
import { PumpTelemetry } from '../contracts/payloads.js'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { type TestApp, addDevice, startTestApp } from './helpers/app.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { waitFor } from './helpers/wait-for.js'
import { weirdValues } from './helpers/weird-values.js'

const CASES = 1_000
const T0 = Date.UTC(2026, 3, 1)
let influx: InfluxHandle
let app: TestApp

beforeAll(async () => {
  influx = await startInflux()
  app = await startTestApp(['broker', 'ingest'], { INFLUX_URL: influx.url, INFLUX_BUCKET: influx.bucket, INFLUX_TOKEN: 't' })
})
afterAll(async () => {
  await app?.stop()
  await influx?.close()
})

const fieldNames = Object.keys(validPump).filter((k) => !['ts', 'seq', 'boot'].includes(k))
const weird = fc.oneof(...weirdValues)
/** A valid reading with a few fields replaced or removed. */
const mutated = fc
  .record({ changes: fc.dictionary(fc.constantFrom(...fieldNames), fc.option(weird, { nil: undefined }), { maxKeys: 3 }), extra: fc.option(fc.jsonValue()) })
  .map(({ changes, extra }) => ({ kind: 'object' as const, value: { ...validPump, ...changes, ...(extra === null ? {} : { extra }) } }))
const payloads = fc.oneof(
  { arbitrary: mutated, weight: 5 },
  { arbitrary: fc.constant({ kind: 'object' as const, value: { ...validPump } }), weight: 2 },
  { arbitrary: fc.jsonValue().map((v) => ({ kind: 'json' as const, value: v })), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ kind: 'bytes' as const, value: b })), weight: 1 },
)

describe('fuzzed payloads', () => {
  it(`${CASES} generated payloads: each stored or dead-lettered with a reason, nothing crashes`, async () => {
    const cases = fc.sample(payloads, { numRuns: CASES, seed: 20261123 })
    const device = await addDevice(app.dataDir, 'fuzz-farm', 'pump', 'pump-fz')
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, {
      clientId: device.device,
      username: device.username,
      password: device.password,
      protocolVersion: 4,
    })
    let expectedRows = 0
    for (const [i, c] of cases.entries()) {
      let raw: Buffer
      if (c.kind === 'bytes') raw = Buffer.from(c.value)
      else if (c.kind === 'json') raw = Buffer.from(JSON.stringify(c.value) ?? 'null')
      else {
        // unique time and sequence, so every valid reading is its own row
        const value = { ...c.value, ts: T0 + i * 1000, seq: i }
        raw = Buffer.from(JSON.stringify(value))
        if (PumpTelemetry.safeParse(value).success) expectedRows++
      }
      await client.publishAsync('farm/fuzz-farm/pump/pump-fz/telemetry', raw, { qos: 1 })
    }
    await client.endAsync()

    const counter = (name: string) => app.metrics.counter(name, '').total()
    await waitFor(() => counter('ingest_received_total') >= CASES, { message: () => `${CASES} received, got ${counter('ingest_received_total')}` })
    await waitFor(() => counter('ingest_accepted_total') + counter('ingest_rejected_total') >= CASES, { timeoutMs: 20_000 })
    expect(counter('ingest_accepted_total') + counter('ingest_rejected_total') + counter('ingest_duplicates_total')).toBe(CASES)
    expect(counter('ingest_accepted_total')).toBe(expectedRows)
    expect(expectedRows).toBeGreaterThan(100) // the generator must produce enough valid readings to mean something
    expect(counter('ingest_rejected_total')).toBeGreaterThan(300)

    const letters = await waitFor(async () => {
      const all = (await DeadLetterStore.forDataDir(app.dataDir).list()).filter((e) => e.stage === 'ingest')
      return all.length >= counter('ingest_rejected_total') && all
    })
    expect(letters).toHaveLength(counter('ingest_rejected_total'))
    for (const l of letters) expect(l.reason.length, JSON.stringify(l)).toBeGreaterThan(3)

    await waitFor(async () => Number((await influx.queryRows(`SELECT count(seq) FROM pump WHERE device = 'pump-fz'`))[0]?.count ?? 0) === expectedRows, {
      timeoutMs: 20_000,
      message: `${expectedRows} rows`,
    })
    const types = await influx.fieldTypes('pump')
    for (const [field, type] of Object.entries(types)) expect(type, field).toBe(['state', 'fault'].includes(field) ? 'string' : 'float')
  }, 120_000)
})
