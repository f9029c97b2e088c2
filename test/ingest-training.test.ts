/**
 * A training farm lives on its own clock (issue 16), through the real broker, ingest and a real
 * InfluxDB: its readings, stamped hours ahead by a simulation at 60x, are accepted and stored in
 * the training bucket, never among real data; a real farm keeps the future-timestamp guard (a
 * reading from its future is dead-lettered) and its readings never reach the training bucket. A
 * farm flagged training while ingest runs is treated so within a second.
 */
import { rm } from 'node:fs/promises'
import { connectAsync, type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validPump } from '../contracts/fixtures.js'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { openRegistry } from '../registry/index.js'
import { type TestApp, makeDataDir, startTestApp } from './helpers/app.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { waitFor } from './helpers/wait-for.js'

const SYSTEM = { who: 'test', how: 'system' } as const
const HOUR = 3_600_000
let influx: InfluxHandle
let app: TestApp
const clients: MqttClient[] = []
let seq = 0

async function device(farm: string, id: string): Promise<MqttClient> {
  const { password } = await app.accounts.addDevice({ farm, kind: 'pump', device: id })
  const c = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { username: id, password, clientId: id, protocolVersion: 4 })
  clients.push(c)
  return c
}

const publish = (c: MqttClient, farm: string, id: string, ts: number) =>
  c.publishAsync(`farm/${farm}/pump/${id}/telemetry`, JSON.stringify({ ...validPump, ts, seq: seq++, boot: 1 }), { qos: 1 })

const count = async (db: string, device: string) => {
  const rows = await influx.queryRows(`SELECT count("pv_w") FROM "${db}"."autogen"."pump" WHERE "device" = '${device}'`)
  return Number(rows[0]?.count ?? 0)
}

beforeAll(async () => {
  influx = await startInflux()
  await influx.exec(`CREATE DATABASE "${influx.db}_training"`)
  // The farms are in the registry before ingest starts, so its first read knows the training one.
  const dataDir = await makeDataDir()
  const registry = await openRegistry({ dataDir })
  expect((await registry.farms.add({ id: 'workshop-01', training: true }, SYSTEM)).ok).toBe(true)
  expect((await registry.farms.add({ id: 'ranong-01' }, SYSTEM)).ok).toBe(true)
  await registry.close()
  app = await startTestApp(['broker', 'ingest'], { INFLUX_URL: influx.url, INFLUX_BUCKET: influx.bucket }, dataDir)
  // Subscribed before anything is published (a loaded machine can take a while).
  await waitFor(async () => (await fetch(`http://127.0.0.1:${app.httpPort}/readyz`)).status === 200, { message: 'ingest ready', timeoutMs: 30_000 })
}, 90_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync()))
  await app?.stop()
  await rm(app?.dataDir ?? '', { recursive: true, force: true })
  await influx?.close()
})

describe('a training farm on its own clock', () => {
  it('stores the training farm\'s readings from hours ahead in the training bucket; a real farm\'s future reading is refused', async () => {
    const sim = await device('workshop-01', 'workshop-01-pump')
    const real = await device('ranong-01', 'ranong-01-pump')
    const now = Date.now()
    // An hour of simulated time at 60x runs an hour ahead of the wall clock after a real minute.
    for (let i = 0; i < 5; i++) await publish(sim, 'workshop-01', 'workshop-01-pump', now + 2 * HOUR + i * 60_000)
    await publish(real, 'ranong-01', 'ranong-01-pump', now)
    await publish(real, 'ranong-01', 'ranong-01-pump', now + 2 * HOUR)

    await waitFor(async () => (await count(`${influx.db}_training`, 'workshop-01-pump')) === 5, { message: 'five training readings stored', timeoutMs: 15_000 })
    await waitFor(async () => (await count(influx.db, 'ranong-01-pump')) === 1, { message: 'the real reading stored', timeoutMs: 15_000 })
    expect(await count(influx.db, 'workshop-01-pump')).toBe(0)
    expect(await count(`${influx.db}_training`, 'ranong-01-pump')).toBe(0)
    const letters = (await DeadLetterStore.forDataDir(app.dataDir).list()).filter((l) => l.stage === 'ingest')
    expect(letters.map((l) => [l.code, l.topic])).toEqual([['future_ts', 'farm/ranong-01/pump/ranong-01-pump/telemetry']])
  })

  it('follows the registry: a farm flagged training while ingest runs is stored apart within a second', async () => {
    expect((await app.registry.farms.add({ id: 'krabi-02' }, SYSTEM)).ok).toBe(true)
    const c = await device('krabi-02', 'krabi-02-pump')
    expect((await app.registry.farms.update('krabi-02', { training: true }, SYSTEM)).ok).toBe(true)
    await new Promise((r) => setTimeout(r, 1_000))
    await publish(c, 'krabi-02', 'krabi-02-pump', Date.now() + HOUR)
    await waitFor(async () => (await count(`${influx.db}_training`, 'krabi-02-pump')) === 1, { message: 'the newly flagged farm in the training bucket', timeoutMs: 15_000 })
    expect(await count(influx.db, 'krabi-02-pump')).toBe(0)
  })
})
