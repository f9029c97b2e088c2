import { Readable } from 'node:stream'
import { Aedes, type Client } from 'aedes'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PUBLISH, clientOf, closeBroker, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { type LevelStore, openLevelStore } from '../../test/helpers/level-store.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { type LevelBatch, type QueueStore, queueStore, writeBehind } from './queue-store.js'

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }

/** A LevelDB stand-in that records batches; `fail` makes the next write throw. */
function fakeDb() {
  const rows = new Map<string, Buffer>()
  const batches: Op[][] = []
  const db = {
    fail: false,
    rows,
    batches,
    async batch(ops: Op[]) {
      if (db.fail) {
        db.fail = false
        throw new Error('disk full')
      }
      batches.push(ops)
      for (const op of ops) {
        if (op.type === 'put') rows.set(op.key, op.value)
        else rows.delete(op.key)
      }
    },
    async clear() {},
  }
  return db
}

/** The underlying store: only outgoingStream is read (it lists what is on "disk"). */
function fakeStore(db: ReturnType<typeof fakeDb>): QueueStore {
  const unused = () => Promise.reject(new Error('replaced by writeBehind'))
  return {
    outgoingEnqueue: unused,
    outgoingEnqueueCombi: unused,
    outgoingUpdate: unused,
    outgoingClearMessageId: unused,
    outgoingStream: () => Readable.from([...db.rows.keys()].sort().map((key) => ({ key }))),
  }
}

const client = (id: string) => ({ id }) as Client
let counter = 0
const packet = () => ({ cmd: 'publish', topic: 'farm/f/pump/p/telemetry', payload: Buffer.from('{}'), qos: 1, brokerId: 'b1', brokerCounter: ++counter })
const KEY = (c: number) => `outgoing:ingest:b1:${String(c).padStart(16, '0')}`

describe('write-behind queue for persistent sessions', () => {
  let db: ReturnType<typeof fakeDb>
  let store: QueueStore
  let errors: unknown[]
  beforeEach(() => {
    vi.useFakeTimers()
    counter = 0
    db = fakeDb()
    store = fakeStore(db)
    errors = []
  })
  afterEach(() => vi.useRealTimers())
  const open = (maxPending?: number) => writeBehind(store, db as unknown as LevelBatch, { flushMs: 100, ...(maxPending ? { maxPending } : {}), onError: (e) => errors.push(e) })

  it('a message acknowledged before the flush never reaches the disk', async () => {
    const q = open()
    const p = packet()
    await store.outgoingEnqueueCombi([{ clientId: 'ingest' }], p)
    await store.outgoingUpdate(client('ingest'), { ...p, messageId: 7 })
    expect(await store.outgoingClearMessageId(client('ingest'), { messageId: 7 })).toMatchObject({ brokerCounter: 1, messageId: 7 })
    await vi.advanceTimersByTimeAsync(500)
    expect(db.batches).toEqual([])
    expect(q.counts()).toEqual({ written: 0, skipped: 1 })
  })

  it('an unacknowledged message is written after flushMs in aedes-persistence-level keys, and deleted when acknowledged', async () => {
    const q = open()
    const p = packet()
    await store.outgoingEnqueueCombi([{ clientId: 'ingest' }, { clientId: 'console' }], p)
    await vi.advanceTimersByTimeAsync(99)
    expect(db.batches).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect([...db.rows.keys()]).toEqual([KEY(1), 'outgoing:console:b1:0000000000000001'])
    expect(q.pending()).toBe(0)
    await store.outgoingUpdate(client('ingest'), { ...p, messageId: 3 })
    await store.outgoingClearMessageId(client('ingest'), { messageId: 3 })
    await vi.advanceTimersByTimeAsync(100)
    expect([...db.rows.keys()]).toEqual(['outgoing:console:b1:0000000000000001'])
  })

  it('an acknowledgement that arrives while its batch is being written deletes it afterwards', async () => {
    open()
    const p = packet()
    await store.outgoingEnqueue({ clientId: 'ingest' }, p)
    await store.outgoingUpdate(client('ingest'), { ...p, messageId: 1 })
    let release = () => {}
    const batch = db.batch.bind(db)
    db.batch = (ops) => new Promise<void>((resolve) => (release = () => void batch(ops).then(resolve)))
    await vi.advanceTimersByTimeAsync(100) // the put is in flight now
    await store.outgoingClearMessageId(client('ingest'), { messageId: 1 })
    db.batch = batch
    release()
    await vi.advanceTimersByTimeAsync(200)
    expect(db.batches.map((ops) => ops.map((o) => o.type))).toEqual([['put'], ['del']])
    expect(db.rows.size).toBe(0)
  })

  it('reading a queue back writes what is pending first', async () => {
    open()
    await store.outgoingEnqueue({ clientId: 'ingest' }, packet())
    await store.outgoingEnqueue({ clientId: 'ingest' }, packet())
    const read: unknown[] = []
    for await (const row of store.outgoingStream(client('ingest'))) read.push(row)
    expect(read).toEqual([{ key: KEY(1) }, { key: KEY(2) }])
  })

  it('a failed write keeps the messages and tries again', async () => {
    const q = open()
    db.fail = true
    await store.outgoingEnqueue({ clientId: 'ingest' }, packet())
    await vi.advanceTimersByTimeAsync(100)
    expect(errors).toHaveLength(1)
    expect(db.rows.size).toBe(0)
    expect(q.pending()).toBe(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect([...db.rows.keys()]).toEqual([KEY(1)])
  })

  it('a redelivery under a new packet id, and a queued packet cleared by itself', async () => {
    open()
    const a = packet()
    const b = packet()
    await store.outgoingEnqueueCombi([{ clientId: 'ingest' }], a)
    await store.outgoingEnqueueCombi([{ clientId: 'ingest' }], b)
    await store.outgoingUpdate(client('ingest'), { ...a, messageId: 1 })
    await store.outgoingUpdate(client('ingest'), { ...a, messageId: 2 }) // reconnected: sent again
    expect(await store.outgoingClearMessageId(client('ingest'), { messageId: 1 })).toBeUndefined()
    await store.outgoingClearMessageId(client('ingest'), { messageId: 2 })
    await store.outgoingClearMessageId(client('ingest'), { brokerId: 'b1', brokerCounter: b.brokerCounter }) // a session made clean
    await vi.advanceTimersByTimeAsync(500)
    expect(db.batches).toEqual([])
  })

  it('whenSafe: once every copy is acknowledged or on disk, at once when there is no copy', async () => {
    const q = open()
    const safe: string[] = []
    const a = packet()
    q.whenSafe('b1', a.brokerCounter, () => safe.push('a'))
    await store.outgoingEnqueueCombi([{ clientId: 'ingest' }, { clientId: 'away' }], a)
    await store.outgoingUpdate(client('ingest'), { ...a, messageId: 1 })
    await store.outgoingClearMessageId(client('ingest'), { messageId: 1 })
    expect(safe).toEqual([]) // the away session's copy is only in memory
    const b = packet()
    q.whenSafe('b1', b.brokerCounter, () => safe.push('b'))
    await store.outgoingEnqueueCombi([], b) // no persistent subscriber
    expect(safe).toEqual(['b'])
    await vi.advanceTimersByTimeAsync(100)
    expect(safe).toEqual(['b', 'a'])
    expect([...db.rows.keys()]).toEqual(['outgoing:away:b1:0000000000000001'])
    const c = packet()
    q.whenSafe('b1', c.brokerCounter, () => safe.push('c'))
    q.cancel('b1', c.brokerCounter)
    await store.outgoingEnqueueCombi([{ clientId: 'away' }], c)
    await vi.advanceTimersByTimeAsync(100)
    expect(safe).toEqual(['b', 'a'])
  })

  it('a connected subscriber gets holdMs to acknowledge, a disconnected one flushMs', async () => {
    const online = new Set(['ingest'])
    const q = writeBehind(store, db as unknown as LevelBatch, { flushMs: 100, holdMs: 1_000, onError: (e) => errors.push(e) })
    q.knowConnected((id) => online.has(id))
    const safe: number[] = []
    const a = packet()
    q.whenSafe('b1', a.brokerCounter, () => safe.push(a.brokerCounter))
    await store.outgoingEnqueueCombi([{ clientId: 'ingest' }, { clientId: 'console' }], a)
    await vi.advanceTimersByTimeAsync(100)
    expect([...db.rows.keys()]).toEqual(['outgoing:console:b1:0000000000000001']) // console is away
    expect(safe).toEqual([]) // ingest's copy waits for its PUBACK
    await vi.advanceTimersByTimeAsync(800)
    expect(db.rows.size).toBe(1)
    await vi.advanceTimersByTimeAsync(100)
    expect([...db.rows.keys()].sort()).toEqual(['outgoing:console:b1:0000000000000001', KEY(1)]) // 1 s: on disk after all
    expect(safe).toEqual([1])

    // Ingest goes away while one of its messages waits: written at the next flush, not after holdMs.
    const b = packet()
    await store.outgoingEnqueue({ clientId: 'ingest' }, b)
    await vi.advanceTimersByTimeAsync(200)
    expect(db.rows.has(KEY(2))).toBe(false)
    online.delete('ingest')
    await vi.advanceTimersByTimeAsync(100)
    expect(db.rows.has(KEY(2))).toBe(true)
    expect(q.pending()).toBe(0)
  })

  it('a connected subscriber that falls behind by maxPending messages has them written anyway', async () => {
    const q = writeBehind(store, db as unknown as LevelBatch, { flushMs: 100, holdMs: 60_000, maxPending: 3, onError: (e) => errors.push(e) })
    q.knowConnected(() => true)
    for (let i = 0; i < 3; i++) await store.outgoingEnqueue({ clientId: 'ingest' }, packet())
    await vi.advanceTimersByTimeAsync(0)
    expect(db.rows.size).toBe(3)
    expect(q.pending()).toBe(0)
  })

  it('a long backlog is written in batches of maxPending without waiting for the timer', async () => {
    open(3)
    for (let i = 0; i < 7; i++) await store.outgoingEnqueue({ clientId: 'ingest' }, packet())
    await vi.advanceTimersByTimeAsync(0)
    expect(db.rows.size).toBeGreaterThanOrEqual(6)
    await vi.advanceTimersByTimeAsync(100)
    expect(db.rows.size).toBe(7)
  })
})

describe('write-behind on real Aedes and aedes-persistence-level', () => {
  const opened = closedAfterEach()

  /** Aedes on LevelDB with the write-behind installed (as persistence.ts does); counts the queue's puts to LevelDB. */
  async function queuedBroker(l: LevelStore) {
    const puts = { outgoing: 0 }
    const count = (key: unknown) => {
      if (String(key).startsWith('outgoing:')) puts.outgoing++
    }
    const db = l.db as unknown as { put(k: unknown, ...rest: unknown[]): Promise<void>; batch(...args: unknown[]): unknown }
    const put = db.put.bind(db)
    db.put = (key, ...rest) => {
      count(key)
      return put(key, ...rest)
    }
    const batch = db.batch.bind(db)
    db.batch = (...args) => {
      if (Array.isArray(args[0])) for (const op of args[0] as Array<{ type: string; key: string }>) if (op.type === 'put') count(op.key)
      return batch(...args)
    }
    const queue = queueStore.install(l.persistence as unknown as QueueStore, l.db as unknown as LevelBatch, { flushMs: 50, holdMs: 60_000, onError: () => undefined })
    const b = opened(await Aedes.createBroker({ persistence: l.persistence as never }))
    queue.knowConnected((id) => clientOf(b, id)?.connected === true)
    return { b, queue, puts }
  }
  const reading = (seq: number) => ({ cmd: 'publish', topic: 'farm/f1/pump/p1/telemetry', payload: Buffer.from(`{"seq":${seq}}`), qos: 1, messageId: seq, retain: false, dup: false }) as const

  it('fits the installed aedes-persistence-level', () => {
    expect(fitsInstalled(queueStore)).toEqual({ ok: true })
  })

  it('messages a connected persistent session acknowledges in time never reach the disk', async () => {
    const level = opened(await openLevelStore())
    const { b, puts } = await queuedBroker(level)
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
    expect(puts.outgoing).toBe(0)
    expect(await level.keys('outgoing')).toEqual([])
  })

  it('what stays unacknowledged is written where aedes-persistence-level reads it back after a restart', async () => {
    const level = opened(await openLevelStore())
    const first = await queuedBroker(level)
    const away = await connect(first.b, 'ingest', { clean: false })
    await subscribe(away, ['farm/+/pump/+/telemetry'])
    away.destroy()
    await waitFor(() => !clientOf(first.b, 'ingest'), { message: 'ingest gone' })
    const device = await connect(first.b, 'p1')
    for (let seq = 1; seq <= 3; seq++) device.send(reading(seq))
    await waitFor(() => first.queue.counts().written === 3, { message: 'three messages written' })
    await closeBroker(first.b)
    const again = opened(await level.reopen()) // a fresh aedes-persistence-level, without the write-behind
    const b = opened(await Aedes.createBroker({ persistence: again.persistence as never }))
    const back = await connect(b, 'ingest', { clean: false })
    const got = await back.waitFor(PUBLISH, 3)
    expect(got.map((p) => p.payload?.toString())).toEqual([1, 2, 3].map((seq) => `{"seq":${seq}}`))
  })
})
