/**
 * Issue 3, beyond one machine: two broker instances sharing a real redis-server (mqemitter-redis
 * routes messages, aedes-persistence-redis keeps retained messages, sessions and queues) act as
 * one broker. Both open the same DATA_DIR's registry: accounts are shared through it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Credentials } from '../runtime/accounts.js'
import { closeAll, collect, connectAs, connectCollecting, publishOutcome, subackCodes } from '../bench/lib/mqttjs.js'
import { type TestApp, makeDataDir, startTestApp } from './helpers/app.js'
import type { Daemon } from './helpers/daemon.js'
import { startRedis } from './helpers/redis.js'
import { waitFor } from './helpers/wait-for.js'

let redis: Daemon
let redisDir: string
let dir: string
let a: TestApp
let b: TestApp
let pump: Credentials
let ingest: Credentials

const TELEMETRY = 'farm/ranong-01/pump/pump-1/telemetry'
const STATUS = 'farm/ranong-01/pump/pump-1/status'
const urlOf = (app: TestApp) => `mqtt://127.0.0.1:${app.mqttPort}`

beforeAll(async () => {
  redisDir = await mkdtemp(join(tmpdir(), 'suanyang-redis-'))
  const started = await startRedis(redisDir)
  redis = started.daemon
  dir = await makeDataDir()
  const env = { REDIS_URL: `redis://127.0.0.1:${started.port}` }
  a = await startTestApp(['broker'], { ...env, BROKER_ID: 'node-a' }, dir)
  b = await startTestApp(['broker'], { ...env, BROKER_ID: 'node-b' }, dir)
  // Added through node A's store; node B finds them in the shared registry.
  pump = await a.accounts.addDevice({ farm: 'ranong-01', kind: 'pump', device: 'pump-1' })
  ingest = await a.accounts.setUser('ingest', 'service')
  // B reads them on its next poll of the registry's change counter (within a second).
  await waitFor(async () => (await b.accounts.authenticate('ingest', ingest.password)) !== undefined && b.accounts.getDevice('pump-1') !== undefined, {
    timeoutMs: 1_000,
    message: 'node B sees the accounts added through node A',
  })
})

afterAll(async () => {
  await a?.stop()
  await b?.stop()
  await redis?.stop()
  await rm(dir, { recursive: true, force: true })
  await rm(redisDir, { recursive: true, force: true })
})

describe('two brokers, one redis', () => {
  it('runs on redis storage on both nodes', () => {
    for (const app of [a, b]) expect(app.logs.find('broker listening').at(-1)).toMatchObject({ storage: 'redis' })
  })

  it('a device on A, a subscriber on B: every one of 300 QoS 1 messages arrives, once', async () => {
    const subscriber = await connectAs(urlOf(b), ingest)
    const inbox = collect(subscriber)
    expect(await subackCodes(subscriber, ['farm/+/+/+/telemetry'])).toEqual([1])
    const device = await connectAs(urlOf(a), pump)
    await Promise.all(Array.from({ length: 300 }, (_, seq) => device.publishAsync(TELEMETRY, JSON.stringify({ seq }), { qos: 1 })))
    await waitFor(() => inbox.messages.length >= 300, { message: () => `300 messages on B (have ${inbox.messages.length})` })
    const seqs = inbox.messages.map((m) => (JSON.parse(m.payload) as { seq: number }).seq)
    expect(seqs).toHaveLength(300)
    expect(new Set(seqs).size).toBe(300)
    await closeAll([device, subscriber])
  })

  it('a retained status published on A is visible to new subscribers on both nodes, and the reverse', async () => {
    const device = await connectAs(urlOf(a), pump, { clientId: 'pump-1' })
    expect(await publishOutcome(device, STATUS, '{"online":true,"via":"a"}', true)).toBe('acked')
    await closeAll([device])
    for (const app of [a, b]) {
      const late = await connectAs(urlOf(app), ingest)
      const inbox = collect(late)
      await subackCodes(late, [STATUS])
      const got = await inbox.waitFor((m) => m.topic === STATUS)
      expect(got).toMatchObject({ retain: true, payload: '{"online":true,"via":"a"}' })
      await closeAll([late])
    }
    const onB = await connectAs(urlOf(b), pump, { clientId: 'pump-1' })
    expect(await publishOutcome(onB, STATUS, '{"online":true,"via":"b"}', true)).toBe('acked')
    await closeAll([onB])
    const lateA = await connectAs(urlOf(a), ingest)
    const inboxA = collect(lateA)
    await subackCodes(lateA, [STATUS])
    expect(await inboxA.waitFor((m) => m.topic === STATUS)).toMatchObject({ retain: true, payload: '{"online":true,"via":"b"}' })
    await closeAll([lateA])
  })

  it('a persistent session left on A is resumed on B with the messages queued meanwhile', async () => {
    let subscriber: MqttClient = await connectAs(urlOf(a), ingest, { clientId: 'ingest-1', clean: false })
    expect(await subackCodes(subscriber, ['farm/+/+/+/telemetry'])).toEqual([1])
    await subscriber.endAsync()
    // Until A has read the DISCONNECT it still delivers to the closing client, which may ack and drop them.
    await waitFor(() => /^mqtt_clients_connected\{role="service"\} 0$/m.test(a.metrics.render()), { message: 'A seeing the subscriber gone' })
    const device = await connectAs(urlOf(a), pump)
    for (let seq = 0; seq < 20; seq++) await device.publishAsync(TELEMETRY, JSON.stringify({ queued: seq }), { qos: 1 })
    await closeAll([device])
    // The listener is in place before the queued messages arrive (they can share a read with the CONNACK).
    const resumed = await connectCollecting(urlOf(b), ingest, { clientId: 'ingest-1', clean: false })
    subscriber = resumed.client
    const inbox = resumed.inbox
    await waitFor(() => inbox.messages.filter((m) => m.payload.includes('queued')).length >= 20, { message: () => `20 queued messages on B (have ${inbox.messages.length})` })
    await subscriber.endAsync()
  })

  it('a persistent session subscribing to several filters in one SUBSCRIBE gets its SUBACK and every message, on both nodes', async () => {
    // Aedes stores the whole list once per filter; aedes-persistence-redis waited forever on all
    // but one of those calls (broker/patches/store-patches.ts): no SUBACK, no filter
    // live, and every reading for ingest (telemetry, status, event in one packet) acknowledged and lost.
    const subscriber = await connectAs(urlOf(a), ingest, { clientId: 'ingest-multi', clean: false })
    const inbox = collect(subscriber)
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no SUBACK within 3 s')), 3_000).unref())
    expect(await Promise.race([subackCodes(subscriber, ['farm/+/+/+/telemetry', 'farm/+/+/+/status', 'farm/+/+/+/event']), timeout])).toEqual([1, 1, 1])
    for (const app of [a, b]) {
      const device = await connectAs(urlOf(app), pump)
      expect(await publishOutcome(device, TELEMETRY, JSON.stringify({ multi: app === a ? 'a' : 'b' }))).toBe('acked')
      await closeAll([device])
    }
    await waitFor(() => inbox.messages.filter((m) => m.payload.includes('multi')).length >= 2, { timeoutMs: 3_000, message: () => `2 messages (have ${inbox.messages.length})` })
    await subscriber.endAsync()
  })

  it('the same client id connecting on B closes its older connection on A', async () => {
    const first = await connectAs(urlOf(a), pump, { clientId: 'pump-1' })
    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()))
    const second = await connectAs(urlOf(b), pump, { clientId: 'pump-1' })
    await closed
    expect(second.connected).toBe(true)
    await closeAll([first, second])
  })
})
