import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import { Level } from 'level'
import { afterEach, describe, expect, it } from 'vitest'
import { PUBLISH, clientOf, closeBroker, closedAfterEach, connect, subscribe } from '../../test/helpers/aedes-wire.js'
import { type LevelStore, openLevelStore } from '../../test/helpers/level-store.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { LevelPersistence } from './level.js'

const require = createRequire(import.meta.url)
const opened = closedAfterEach()
const TELEMETRY = 'farm/f1/pump/p1/telemetry'
const STATUS = 'farm/f1/pump/p1/status'
const reading = (seq: number) => ({ cmd: 'publish', topic: TELEMETRY, payload: Buffer.from(`{"seq":${seq}}`), qos: 1, messageId: seq, retain: false, dup: false }) as const

async function brokerOn(store: LevelStore) {
  const b = opened(await Aedes.createBroker({ persistence: store.persistence as never }))
  store.persistence.queue.knowConnected((id) => clientOf(b, id)?.connected === true)
  return b
}

/** Counts the store's reads of LevelDB ranges (scans) from now on. */
function countScans(store: LevelStore): { scans: number } {
  const seen = { scans: 0 }
  const db = store.persistence.db as unknown as Record<'values' | 'iterator' | 'keys', (...a: unknown[]) => unknown>
  for (const name of ['values', 'iterator', 'keys'] as const) {
    const original = db[name].bind(db)
    db[name] = (...args: unknown[]) => {
      seen.scans++
      return original(...args)
    }
  }
  return seen
}

describe('LevelPersistence on real Aedes', () => {
  it('messages a connected persistent session acknowledges in time never reach the disk', async () => {
    const store = opened(await openLevelStore({ flushMs: 50, holdMs: 60_000 }))
    const b = await brokerOn(store)
    const ingest = await connect(b, 'ingest', { clean: false })
    ingest.onPacket((p) => {
      if (p.type === PUBLISH && p.messageId !== undefined) ingest.send({ cmd: 'puback', messageId: p.messageId })
    })
    await subscribe(ingest, ['farm/+/pump/+/telemetry'])
    let acked = 0
    b.on('ack', () => acked++)
    const device = await connect(b, 'p1')
    for (let seq = 1; seq <= 5; seq++) device.send(reading(seq))
    await waitFor(() => acked === 5, { message: () => `5 acknowledgements (have ${acked})` })
    await new Promise((resolve) => setTimeout(resolve, 120))
    expect(store.persistence.queue.counts()).toEqual({ written: 0, skipped: 5 })
    expect(await store.keys('q:')).toEqual([])
  })

  it('what stays unacknowledged is on disk, and a restarted broker delivers it in order; subscriptions and retained messages come back too', async () => {
    const store = opened(await openLevelStore({ flushMs: 50 }))
    const first = await brokerOn(store)
    const away = await connect(first, 'ingest', { clean: false })
    await subscribe(away, ['farm/+/pump/+/telemetry'])
    away.destroy()
    await waitFor(() => !clientOf(first, 'ingest'), { message: 'ingest gone' })
    await new Promise((resolve) => first.publish({ cmd: 'publish', topic: STATUS, payload: Buffer.from('online'), qos: 1, retain: true, dup: false }, resolve))
    const device = await connect(first, 'p1')
    for (let seq = 1; seq <= 3; seq++) device.send(reading(seq))
    await waitFor(() => store.persistence.queue.counts().written === 3, { message: 'three messages written' })
    await closeBroker(first)
    // A new broker id sorts before the old one: the order is the queue's, not the ids'.
    const again = opened(await store.reopen())
    const b = opened(await Aedes.createBroker({ id: '0-first-by-id', persistence: again.persistence as never }))
    expect((await again.persistence.subscriptionsByClient({ id: 'ingest' })).map((s) => s.topic)).toEqual(['farm/+/pump/+/telemetry'])
    b.publish({ cmd: 'publish', topic: TELEMETRY, payload: Buffer.from('{"seq":4}'), qos: 1, retain: false, dup: false }, () => undefined)
    await waitFor(async () => (await again.keys('q:')).length === 4, { message: 'the fourth queued' })
    const back = await connect(b, 'ingest', { clean: false })
    const got = await back.waitFor(PUBLISH, 4)
    expect(got.map((p) => p.payload?.toString())).toEqual([1, 2, 3, 4].map((seq) => `{"seq":${seq}}`))
    const viewer = await connect(b, 'viewer')
    await subscribe(viewer, [STATUS])
    expect((await viewer.waitFor(PUBLISH))[0]?.payload?.toString()).toBe('online')
  })

  it('a device subscribing its own topic gets its retained message without a scan of the store; a filter matches in memory too', async () => {
    const store = opened(await openLevelStore())
    const b = await brokerOn(store)
    await new Promise((resolve) => b.publish({ cmd: 'publish', topic: STATUS, payload: Buffer.from('online'), qos: 1, retain: true, dup: false }, resolve))
    const seen = countScans(store)
    const device = await connect(b, 'viewer')
    await subscribe(device, [STATUS])
    expect((await device.waitFor(PUBLISH))[0]?.payload?.toString()).toBe('online')
    const console = await connect(b, 'console')
    await subscribe(console, ['farm/+/pump/+/status'])
    expect((await console.waitFor(PUBLISH))[0]?.payload?.toString()).toBe('online')
    expect(seen.scans).toBe(0)
  })

  it('who a topic reaches follows every add, remove and clean at once, also one made while an answer was on its way', async () => {
    const store = opened(await openLevelStore())
    const p = store.persistence
    await p.setup({ id: 'b1' })
    const ids = async (topic: string) => ((await p.subscriptionsByTopic(topic)) as Array<{ clientId: string }>).map((s) => s.clientId).sort()
    await p.addSubscriptions({ id: 'ingest' }, [{ topic: 'farm/+/pump/+/telemetry', qos: 1 }])
    expect(await ids(TELEMETRY)).toEqual(['ingest'])
    const before = p.subscriptionsByTopic('farm/f1/pump/p2/telemetry')
    const adding = p.addSubscriptions({ id: 'console' }, [{ topic: 'farm/f1/#', qos: 1 }])
    await before
    await adding
    expect(await ids('farm/f1/pump/p2/telemetry')).toEqual(['console', 'ingest'])
    expect(await ids(TELEMETRY)).toEqual(['console', 'ingest'])
    await p.removeSubscriptions({ id: 'console' }, ['farm/f1/#'])
    expect(await ids(TELEMETRY)).toEqual(['ingest'])
    await p.cleanSubscriptions({ id: 'ingest' })
    expect(await ids(TELEMETRY)).toEqual([])
    expect(await store.keys('s:')).toEqual([])
  })

  it("a will stored right after the old one's delete was asked for (the device back at once) is kept, across a restart", async () => {
    const store = opened(await openLevelStore())
    await store.persistence.setup({ id: 'b1' })
    const will = (text: string) => ({ cmd: 'publish', topic: STATUS, payload: Buffer.from(text), qos: 1, retain: true })
    await store.persistence.putWill({ id: 'p1' }, will('first'))
    const deleting = store.persistence.delWill({ id: 'p1' })
    const putting = store.persistence.putWill({ id: 'p1' }, will('second'))
    expect((await deleting)?.payload?.toString()).toBe('first')
    await putting
    const again = opened(await store.reopen())
    await again.persistence.setup({ id: 'b2' })
    expect((await again.persistence.getWill({ id: 'p1' }))?.payload?.toString()).toBe('second')
    expect(await again.persistence.delWill({ id: 'nobody' })).toBeUndefined()
  })

  it('writes land in the order they were asked for: the last retained message of a topic is the one kept', async () => {
    const store = opened(await openLevelStore())
    await store.persistence.setup({ id: 'b1' })
    const writes = Array.from({ length: 50 }, (_, i) => store.persistence.storeRetained({ cmd: 'publish', topic: STATUS, payload: Buffer.from(String(i)), qos: 0, retain: true }))
    await Promise.all(writes)
    const again = opened(await store.reopen())
    await again.persistence.setup({ id: 'b1' })
    const [kept] = await again.persistence.createRetainedStream(STATUS).toArray()
    expect((kept as { payload: Buffer }).payload.toString()).toBe('49')
  })
})

describe('a DATA_DIR written by aedes-persistence-level 9 (the broker before broker/storage/)', () => {
  const dirs: string[] = []
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })

  it('is converted at the first start: sessions, their queues in order, retained messages and wills; then not scanned again', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'suanyang-migrate-')), 'broker')
    dirs.push(dir)
    const old = (require('aedes-persistence-level') as (db: unknown) => Record<string, (...a: unknown[]) => Promise<unknown>>)(new Level(dir))
    await old.setup!({ id: 'old-broker', counter: 0 })
    await old.addSubscriptions!({ id: 'ingest' }, [{ topic: 'farm/+/pump/+/telemetry', qos: 1 }])
    await old.storeRetained!({ cmd: 'publish', topic: STATUS, payload: Buffer.from('online'), qos: 1, retain: true })
    for (const counter of [9, 10, 11]) {
      await old.outgoingEnqueue!({ clientId: 'ingest' }, { cmd: 'publish', topic: TELEMETRY, payload: Buffer.from(`{"seq":${counter}}`), qos: 1, retain: false, brokerId: 'old-broker', brokerCounter: counter })
    }
    // Delivered once under packet id 1 (Aedes passes the whole packet), not acknowledged.
    await old.outgoingUpdate!({ id: 'ingest' }, { cmd: 'publish', topic: TELEMETRY, payload: Buffer.from('{"seq":9}'), qos: 1, retain: false, brokerId: 'old-broker', brokerCounter: 9, messageId: 1 })
    await old.putWill!({ id: 'p1' }, { topic: STATUS, payload: Buffer.from('offline'), qos: 1, retain: true })
    await old.destroy!()

    const converted: Array<Record<string, number>> = []
    const open = () => LevelPersistence.open({ dir, flushMs: 50, onError: () => undefined, onMigrated: (c) => converted.push(c) })
    const ours = await open()
    expect(converted).toEqual([{ subscriptions: 1, retained: 1, outgoing: 3, 'outgoing-id': 1, will: 1 }])
    const oldKeys: string[] = []
    for await (const key of ours.db.keys()) if (!/^[a-z]:/.test(key)) oldKeys.push(key)
    expect(oldKeys).toEqual([])
    const b = await Aedes.createBroker({ persistence: ours as never })
    try {
      expect((await ours.getWill({ id: 'p1' }))?.payload?.toString()).toBe('offline')
      const ingest = await connect(b, 'ingest', { clean: false })
      const got = await ingest.waitFor(PUBLISH, 3)
      expect(got.map((p) => p.payload?.toString())).toEqual([9, 10, 11].map((seq) => `{"seq":${seq}}`))
      const viewer = await connect(b, 'viewer')
      await subscribe(viewer, [STATUS])
      expect((await viewer.waitFor(PUBLISH))[0]?.payload?.toString()).toBe('online')
    } finally {
      await closeBroker(b)
      await ours.destroy()
    }
    await (await open()).destroy()
    expect(converted).toHaveLength(1)
  })
})
