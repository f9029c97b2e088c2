import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { decodePacket } from './codec.js'
import { OutgoingQueue, type QueueDb } from './queue.js'

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }

/** A LevelDB stand-in that records batches; `fail` makes the next write throw. */
function fakeDb() {
  const rows = new Map<string, Buffer>()
  const batches: Op[][] = []
  const sorted = (range: { gte: string; lt: string }) => [...rows.keys()].filter((k) => k >= range.gte && k < range.lt).sort()
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
    async *iterator(range: { gte: string; lt: string }): AsyncGenerator<[string, Buffer]> {
      for (const k of sorted(range)) yield [k, rows.get(k)!]
    },
    async *keys(range: { gte: string; lt: string }): AsyncGenerator<string> {
      yield* sorted(range)
    },
  }
  return db
}

let counter = 0
const packet = () => ({ cmd: 'publish', topic: 'farm/f/pump/p/telemetry', payload: Buffer.from(`{"n":${counter + 1}}`), qos: 1, brokerId: 'b1', brokerCounter: ++counter })
const T0 = 1_700_000_000_000
const keys = (db: ReturnType<typeof fakeDb>) => [...db.rows.keys()].sort()
const topicsOn = (db: ReturnType<typeof fakeDb>) => keys(db).map((k) => `${k.split(':')[1]} ${decodePacket(db.rows.get(k)!).brokerCounter as number}`)

async function drain(q: OutgoingQueue, clientId: string) {
  const out: Array<Record<string, unknown>> = []
  for await (const p of q.stream(clientId)) out.push(p as Record<string, unknown>)
  return out
}

describe('OutgoingQueue: the write-behind queue of persistent sessions', () => {
  let db: ReturnType<typeof fakeDb>
  let errors: unknown[]
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
    counter = 0
    db = fakeDb()
    errors = []
  })
  afterEach(() => vi.useRealTimers())
  const open = (extra: { holdMs?: number; maxPending?: number } = {}) => new OutgoingQueue(db as unknown as QueueDb, { flushMs: 100, ...extra, onError: (e) => errors.push(e) })
  /** A queue on the same disk, as a restarted broker makes it. */
  const reopened = async () => {
    const q = open()
    await q.load()
    return q
  }

  it('a message acknowledged before the flush never reaches the disk', async () => {
    const q = open()
    const p = packet()
    q.enqueue(['ingest'], p)
    await q.update('ingest', { ...p, messageId: 7 })
    expect(q.clear('ingest', { cmd: 'puback', messageId: 7 })).toMatchObject({ brokerCounter: 1, messageId: 7 })
    await vi.advanceTimersByTimeAsync(500)
    expect(db.batches).toEqual([])
    expect(q.counts()).toEqual({ written: 0, skipped: 1 })
  })

  it('an unacknowledged message is written after flushMs, one key per copy, and deleted when acknowledged', async () => {
    const q = open()
    const p = packet()
    q.enqueue(['ingest', 'console'], p)
    await vi.advanceTimersByTimeAsync(99)
    expect(db.batches).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(topicsOn(db)).toEqual(['console 1', 'ingest 1'])
    expect(q.pending()).toBe(0)
    // Read back (the session resumes), delivered, acknowledged: deleted.
    expect(await drain(q, 'ingest')).toHaveLength(1)
    await q.update('ingest', { ...p, messageId: 3 })
    expect(q.clear('ingest', { cmd: 'puback', messageId: 3 })).toMatchObject({ brokerCounter: 1 })
    await vi.advanceTimersByTimeAsync(100)
    expect(topicsOn(db)).toEqual(['console 1'])
  })

  it('an acknowledgement that arrives while its batch is being written deletes it afterwards', async () => {
    const q = open({ holdMs: 100 })
    q.knowConnected(() => true)
    const p = packet()
    q.enqueue(['ingest'], p)
    await q.update('ingest', { ...p, messageId: 1 })
    let release = () => {}
    const batch = db.batch.bind(db)
    db.batch = (ops) => new Promise<void>((resolve) => (release = () => void batch(ops).then(resolve)))
    await vi.advanceTimersByTimeAsync(100) // the put is in flight now
    q.clear('ingest', { cmd: 'puback', messageId: 1 })
    db.batch = batch
    release()
    await vi.advanceTimersByTimeAsync(200)
    expect(db.batches.map((ops) => ops.map((o) => o.type))).toEqual([['put'], ['del']])
    expect(db.rows.size).toBe(0)
  })

  it('a queue read back is in the order the messages came, across broker ids and restarts', async () => {
    const q = open()
    q.enqueue(['ingest'], { ...packet(), brokerId: 'zz-old-run' })
    await vi.advanceTimersByTimeAsync(1)
    q.enqueue(['ingest'], { ...packet(), brokerId: 'aa-new-run' }) // sorts first by id, came second
    q.enqueue(['ingest'], { ...packet(), brokerId: 'aa-new-run' }) // same millisecond
    const read = await drain(q, 'ingest')
    expect(read.map((p) => p.brokerCounter)).toEqual([1, 2, 3])
    expect(read.every((p) => p.messageId === undefined)).toBe(true)
    // A new queue on the same disk (a restart) reads the same order.
    expect((await drain(await reopened(), 'ingest')).map((p) => p.brokerCounter)).toEqual([1, 2, 3])
  })

  it('a failed write keeps the messages and tries again', async () => {
    const q = open()
    db.fail = true
    q.enqueue(['ingest'], packet())
    await vi.advanceTimersByTimeAsync(100)
    expect(errors).toHaveLength(1)
    expect(db.rows.size).toBe(0)
    expect(q.pending()).toBe(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(topicsOn(db)).toEqual(['ingest 1'])
  })

  it('a redelivery under a new packet id, and a queued packet cleared by itself', async () => {
    const q = open()
    const a = packet()
    const b = packet()
    q.enqueue(['ingest'], a)
    q.enqueue(['ingest'], b)
    await q.update('ingest', { ...a, messageId: 1 })
    await q.update('ingest', { ...a, messageId: 2 }) // reconnected: sent again
    expect(q.clear('ingest', { cmd: 'puback', messageId: 1 })).toBeUndefined()
    q.clear('ingest', { cmd: 'puback', messageId: 2 })
    q.clear('ingest', { brokerId: 'b1', brokerCounter: b.brokerCounter }) // a session made clean
    await vi.advanceTimersByTimeAsync(500)
    expect(db.batches).toEqual([])
    await expect(q.update('ingest', { ...b, messageId: 3 })).rejects.toThrow('no such packet')
  })

  it('a PUBREL replaces its message, on disk too', async () => {
    const q = open()
    const p = { ...packet(), qos: 2 }
    q.enqueue(['ingest'], p)
    await q.update('ingest', { ...p, messageId: 9 })
    await q.update('ingest', { cmd: 'pubrel', messageId: 9 })
    expect(await drain(q, 'ingest')).toEqual([{ cmd: 'pubrel', messageId: 9 }])
    expect(decodePacket([...db.rows.values()][0]!)).toMatchObject({ cmd: 'pubrel', messageId: 9 })
    expect(await drain(await reopened(), 'ingest')).toEqual([{ cmd: 'pubrel', messageId: 9 }]) // after a restart
    q.clear('ingest', { cmd: 'pubcomp', messageId: 9 })
    await vi.advanceTimersByTimeAsync(100)
    expect(db.rows.size).toBe(0)
  })

  it('whenSafe: once every copy is acknowledged or on disk, at once when there is no copy', async () => {
    const q = open()
    const safe: string[] = []
    const a = packet()
    q.whenSafe('b1', a.brokerCounter, () => safe.push('a'))
    q.enqueue(['ingest', 'away'], a)
    await q.update('ingest', { ...a, messageId: 1 })
    q.clear('ingest', { cmd: 'puback', messageId: 1 })
    expect(safe).toEqual([]) // the away session's copy is only in memory
    const b = packet()
    q.whenSafe('b1', b.brokerCounter, () => safe.push('b'))
    q.enqueue([], b) // no persistent subscriber
    expect(safe).toEqual(['b'])
    await vi.advanceTimersByTimeAsync(100)
    expect(safe).toEqual(['b', 'a'])
    expect(topicsOn(db)).toEqual(['away 1'])
    const c = packet()
    q.whenSafe('b1', c.brokerCounter, () => safe.push('c'))
    q.cancel('b1', c.brokerCounter)
    q.enqueue(['away'], c)
    await vi.advanceTimersByTimeAsync(100)
    expect(safe).toEqual(['b', 'a'])
  })

  it('a connected subscriber gets holdMs to acknowledge, a disconnected one flushMs', async () => {
    const online = new Set(['ingest'])
    const q = open({ holdMs: 1_000 })
    q.knowConnected((id) => online.has(id))
    const safe: number[] = []
    const a = packet()
    q.whenSafe('b1', a.brokerCounter, () => safe.push(a.brokerCounter))
    q.enqueue(['ingest', 'console'], a)
    await vi.advanceTimersByTimeAsync(100)
    expect(topicsOn(db)).toEqual(['console 1']) // console is away
    expect(safe).toEqual([]) // ingest's copy waits for its PUBACK
    await vi.advanceTimersByTimeAsync(800)
    expect(db.rows.size).toBe(1)
    await vi.advanceTimersByTimeAsync(100)
    expect(topicsOn(db)).toEqual(['console 1', 'ingest 1']) // 1 s: on disk after all
    expect(safe).toEqual([1])

    // Ingest goes away while one of its messages waits: written at the next flush, not after holdMs.
    q.enqueue(['ingest'], packet())
    await vi.advanceTimersByTimeAsync(200)
    expect(topicsOn(db)).toEqual(['console 1', 'ingest 1'])
    online.delete('ingest')
    await vi.advanceTimersByTimeAsync(100)
    expect(topicsOn(db)).toEqual(['console 1', 'ingest 1', 'ingest 2'])
    expect(q.pending()).toBe(0)
  })

  it('a connected subscriber that falls behind by maxPending messages has them written anyway', async () => {
    const q = open({ holdMs: 60_000, maxPending: 3 })
    q.knowConnected(() => true)
    for (let i = 0; i < 3; i++) q.enqueue(['ingest'], packet())
    await vi.advanceTimersByTimeAsync(0)
    expect(db.rows.size).toBe(3)
    expect(q.pending()).toBe(0)
  })

  it('a session with nothing queued is not read from disk, nor are the others flushed for it', async () => {
    const q = open({ holdMs: 60_000 })
    q.knowConnected(() => true)
    q.enqueue(['ingest'], packet()) // held for ingest's PUBACK
    let reads = 0
    const iterator = db.iterator.bind(db)
    db.iterator = (range) => {
      reads++
      return iterator(range)
    }
    expect(await drain(q, 'device-1')).toEqual([])
    expect(reads).toBe(0)
    expect(db.batches).toEqual([])
    expect(q.pending()).toBe(1)
  })

  it('written messages nobody is connected for leave memory; count() still sees them', async () => {
    const q = open()
    for (let i = 0; i < 5; i++) q.enqueue(['away'], packet())
    expect(await q.count()).toBe(5)
    await vi.advanceTimersByTimeAsync(100)
    expect(q.pending()).toBe(0)
    expect((q as unknown as { clients: Map<string, unknown> }).clients.size).toBe(0)
    expect(await q.count()).toBe(5)
  })
})
