/**
 * Write-behind for the QoS 1 queues of persistent sessions, in front of aedes-persistence-level.
 *
 * Aedes stores every QoS 1 message for every persistent subscriber, online or not, before it
 * delivers it: aedes-persistence-level then costs three puts, two gets and two deletes per message
 * (msgpack each time), and the ingest service, a persistent session that acknowledges within
 * milliseconds, made that ~85 % of the broker's CPU (bench/README.md). Here a message waits in
 * memory; if the subscriber acknowledges it in time, it never touches the disk. What is still
 * unacknowledged is written in one batch, in the same keys and encoding as aedes-persistence-level,
 * which still reads the queue back (outgoingStream) after a reconnect or a restart. Which packet
 * id a delivery got lives in memory only: after a restart the queue is delivered again under new
 * ids, as QoS 1 allows.
 *
 * How long "in time" is depends on the subscriber. Offline: `flushMs`, so the devices get their
 * PUBACKs (durable-ack.ts) and can let go of those readings. Connected: `holdMs`, much longer.
 * A connected ingest acknowledges within milliseconds, but its fsync sometimes stalls for a few
 * hundred while InfluxDB compacts on the same disk; writing those messages then cost the broker
 * most of its CPU exactly when it was busiest (measured: 124 -> 61 us a reading at a 25,000/s
 * offer, bench/README.md). Holding them instead only delays those devices' PUBACKs, which slows
 * the devices down: backpressure, not work. `maxPending` bounds the memory either way.
 *
 * A broker killed without a shutdown (SIGKILL, power) loses what only this memory held; the
 * devices have not been told it was received (durable-ack.ts holds their PUBACKs until then),
 * so they send it again. A graceful stop writes everything first.
 */
import { createRequire } from 'node:module'
import { PassThrough, pipeline } from 'node:stream'
import type { Client } from 'aedes'
import { type Shapes, definePatch, fn, problems } from './patch.js'

const require = createRequire(import.meta.url)
// The encoding aedes-persistence-level reads back: its own dependency, not a second copy.
const msgpack = require(createRequire(require.resolve('aedes-persistence-level')).resolve('msgpack-lite')) as {
  encode(value: unknown): Buffer
  decode(bytes: Buffer): unknown
}

interface QueuedPacket {
  cmd: string
  topic: string
  payload: Buffer
  qos: number
  brokerId: string
  brokerCounter: number
  messageId?: number | undefined
}

/** The callback-wrapped aedes-persistence-level methods this replaces (promise API, as Aedes 1.x calls them). */
export interface QueueStore {
  outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket): Promise<unknown>
  outgoingEnqueueCombi(subs: Array<{ clientId: string }> | undefined, packet: QueuedPacket): Promise<unknown>
  outgoingUpdate(client: Client, packet: QueuedPacket): Promise<unknown>
  outgoingClearMessageId(client: Client, packet: Partial<QueuedPacket>): Promise<unknown>
  outgoingStream(client: Client): NodeJS.ReadableStream
}

export interface LevelBatch {
  batch(ops: Array<{ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }>, opts: { valueEncoding: 'buffer' }): Promise<void>
  clear(range: { gte: string; lt: string }): Promise<void>
}

/** Key layout of aedes-persistence-level 9 (outgoingKey): the queue sorts by broker counter. */
const clientPrefix = (clientId: string) => `outgoing:${encodeURIComponent(clientId)}:`
/** Client ids seen, with their key prefix (built for every message otherwise). */
const prefixes = new Map<string, string>()
const keyOf = (clientId: string, brokerId: string, counter: number) => {
  let prefix = prefixes.get(clientId)
  if (prefix === undefined) {
    if (prefixes.size >= 10_000) prefixes.clear()
    prefixes.set(clientId, (prefix = clientPrefix(clientId)))
  }
  return `${prefix}${brokerId}:${String(counter).padStart(16, '0')}`
}

/** Someone waiting until every queued copy of one message is acknowledged or on disk. */
interface Waiter {
  copies: number
  safe(): void
}

interface Pending {
  clientId: string
  /** When it was queued (ms). */
  at: number
  packet: QueuedPacket
  /** In the batch being written now: an acknowledgement then has to delete it afterwards. */
  writing: boolean
  cleared: boolean
  waiter: Waiter | undefined
}

interface Delivery {
  key: string
  packet: QueuedPacket
}

export interface WriteBehind {
  /** Writes every pending message now (before a queue is read back, and at shutdown). */
  flush(): Promise<void>
  /** Messages in memory not yet written nor acknowledged. */
  pending(): number
  /** Messages written so far, and messages acknowledged before they had to be. */
  counts(): { written: number; skipped: number }
  /**
   * Calls `safe` once the message that Aedes will enqueue under (brokerId, brokerCounter) is
   * acknowledged by, or written to disk for, every persistent session it is queued for (at once
   * when there is none). Register before Aedes enqueues it; `cancel` if it never will.
   */
  whenSafe(brokerId: string, brokerCounter: number, safe: () => void): void
  cancel(brokerId: string, brokerCounter: number): void
  /** Tells which subscribers are connected (their messages may wait `holdMs`); until then none is. */
  knowConnected(connected: (clientId: string) => boolean): void
}

export interface WriteBehindOptions {
  /** How long a message for a disconnected subscriber may wait in memory (ms). */
  flushMs: number
  /** How long a message for a connected subscriber may wait for its acknowledgement (ms). */
  holdMs?: number
  /** Messages in memory at most: past it everything is written at once. */
  maxPending?: number
  now?: () => number
  onError(err: unknown): void
}

export function writeBehind(store: QueueStore, db: LevelBatch, opts: WriteBehindOptions): WriteBehind {
  const maxPending = opts.maxPending ?? 20_000
  const holdMs = Math.max(opts.holdMs ?? opts.flushMs, opts.flushMs)
  const now = opts.now ?? Date.now
  let connected: (clientId: string) => boolean = () => false
  const pending = new Map<string, Pending>()
  let deletes: string[] = []
  /** Per client: packet id -> what was delivered under it, and key -> its current packet id. */
  const byId = new Map<string, Map<number, Delivery>>()
  const idOfKey = new Map<string, Map<string, number>>()
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> | undefined
  let written = 0
  let skipped = 0
  /** By broker id, then broker counter: no key string per message. */
  const waiters = new Map<string, Map<number, Waiter>>()
  const settle = (p: Pending) => {
    const w = p.waiter
    p.waiter = undefined
    if (w && --w.copies === 0) w.safe()
  }

  const schedule = () => {
    if (pending.size >= maxPending) void flush()
    else timer ??= setTimeout(() => void flush(false), opts.flushMs)
  }

  /** all = false: only what has waited its time (flushMs, or holdMs for a connected subscriber). */
  async function writeOnce(all: boolean): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    const ops: Parameters<LevelBatch['batch']>[0] = []
    const batch: Array<[string, Pending]> = []
    const t = now()
    const online = new Map<string, boolean>()
    let held = false
    for (const [key, p] of pending) {
      if (p.writing) continue
      if (!all && t - p.at < holdMs) {
        let on = online.get(p.clientId)
        if (on === undefined) online.set(p.clientId, (on = connected(p.clientId)))
        if (on || t - p.at < opts.flushMs) {
          held = true
          continue
        }
      }
      p.writing = true
      batch.push([key, p])
      ops.push({ type: 'put', key, value: msgpack.encode(p.packet) })
    }
    for (const key of deletes) ops.push({ type: 'del', key })
    deletes = []
    if (ops.length === 0) {
      if (held) schedule()
      return
    }
    try {
      await db.batch(ops, { valueEncoding: 'buffer' })
    } catch (err) {
      // Kept in memory and tried again: a full disk must not lose the queue.
      for (const [key, p] of batch) {
        p.writing = false
        if (p.cleared) pending.delete(key)
      }
      opts.onError(err)
      throw err
    }
    written += batch.length
    for (const [key, p] of batch) {
      if (pending.get(key) === p) pending.delete(key)
      if (p.cleared) deletes.push(key)
      settle(p)
    }
    if (pending.size > 0 || deletes.length > 0) schedule()
  }

  /** One batch at a time, so a delete never overtakes the put it undoes. */
  function flush(all = true): Promise<void> {
    const run = (writing ?? Promise.resolve()).catch(() => undefined).then(() => writeOnce(all))
    writing = run
    void run.catch(() => {
      if (pending.size > 0) timer ??= setTimeout(() => void flush(false), Math.max(opts.flushMs, 1_000))
    }).finally(() => {
      if (writing === run) writing = undefined
    })
    return run
  }

  const enqueue = (clientIds: string[], packet: QueuedPacket) => {
    const ofBroker = waiters.get(packet.brokerId)
    const waiter = ofBroker?.get(packet.brokerCounter)
    if (waiter) ofBroker?.delete(packet.brokerCounter)
    if (waiter) waiter.copies = clientIds.length
    const copy = { ...packet }
    const at = now()
    for (const clientId of clientIds) pending.set(keyOf(clientId, packet.brokerId, packet.brokerCounter), { clientId, at, packet: copy, writing: false, cleared: false, waiter })
    if (clientIds.length > 0) schedule()
    else waiter?.safe()
  }

  const forget = (clientId: string, key: string) => {
    const p = pending.get(key)
    if (p?.writing) p.cleared = true
    else if (p) {
      pending.delete(key)
      skipped++
      settle(p)
    } else {
      deletes.push(key)
      schedule()
    }
    const id = idOfKey.get(clientId)?.get(key)
    if (id !== undefined) {
      idOfKey.get(clientId)?.delete(key)
      byId.get(clientId)?.delete(id)
    }
  }

  store.outgoingEnqueue = (sub, packet) => {
    enqueue([sub.clientId], packet)
    return Promise.resolve()
  }
  store.outgoingEnqueueCombi = (subs, packet) => {
    enqueue((subs ?? []).map((s) => s.clientId), packet)
    return Promise.resolve()
  }
  store.outgoingUpdate = (client, packet) => {
    const key = keyOf(client.id, packet.brokerId, packet.brokerCounter)
    const ids = idOfKey.get(client.id) ?? idOfKey.set(client.id, new Map()).get(client.id)!
    const deliveries = byId.get(client.id) ?? byId.set(client.id, new Map()).get(client.id)!
    const previous = ids.get(key)
    if (previous !== undefined) deliveries.delete(previous)
    if (packet.messageId === undefined) return Promise.reject(new Error('no packet id'))
    // A packet id still held by an unacknowledged delivery is reused only after 65,535 others:
    // that older message stays queued and comes again at the next connection.
    const displaced = deliveries.get(packet.messageId)
    if (displaced) ids.delete(displaced.key)
    ids.set(key, packet.messageId)
    deliveries.set(packet.messageId, { key, packet })
    return Promise.resolve()
  }
  store.outgoingClearMessageId = (client, packet) => {
    const delivery = packet.messageId === undefined ? undefined : byId.get(client.id)?.get(packet.messageId)
    if (delivery) {
      forget(client.id, delivery.key)
      return Promise.resolve(delivery.packet)
    }
    // A queued packet itself (a session made clean, a message the ACL no longer forwards).
    if (packet.brokerId !== undefined && packet.brokerCounter !== undefined) forget(client.id, keyOf(client.id, packet.brokerId, packet.brokerCounter))
    return Promise.resolve(undefined)
  }
  const stream = store.outgoingStream.bind(store)
  store.outgoingStream = (client) => {
    // What is pending must be on disk before the queue is read back: one flush, then the stream.
    const out = new PassThrough({ objectMode: true })
    flush().then(
      () => pipeline(stream(client), out, () => undefined), // an error reaches `out`, and so Aedes
      (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))),
    )
    return out
  }

  return {
    flush,
    pending: () => pending.size,
    counts: () => ({ written, skipped }),
    whenSafe(brokerId, brokerCounter, safe) {
      const ofBroker = waiters.get(brokerId) ?? waiters.set(brokerId, new Map()).get(brokerId)!
      ofBroker.set(brokerCounter, { copies: 0, safe })
    },
    cancel(brokerId, brokerCounter) {
      waiters.get(brokerId)?.delete(brokerCounter)
    },
    knowConnected(fn) {
      connected = fn
    },
  }
}

/** Packet-id records of the old layout: ids are in memory now, and stale ones would mislead. */
export const OLD_ID_RANGE = { gte: 'outgoing-id:', lt: 'outgoing-id;' }

/** What aedes-persistence-level wrote for the probe's queued packet, if it is what this file writes. */
function layoutProblems(write: Shapes['queuedWrite']): string[] {
  if (!write) return ['asyncPersistence.outgoingEnqueue wrote nothing with put()']
  const ours = keyOf(write.clientId, write.brokerId, write.brokerCounter)
  if (write.key !== ours) return [`a queued message's key is ${JSON.stringify(write.key)}, not ${JSON.stringify(ours)}`]
  let topic: unknown
  try {
    topic = Buffer.isBuffer(write.value) ? (msgpack.decode(write.value) as { topic?: unknown }).topic : undefined
  } catch {
    // not msgpack
  }
  return topic === 'probe/topic' ? [] : ['a queued message is not stored as msgpack-lite']
}

export const queueStore = definePatch({
  name: 'queue-store',
  package: 'aedes-persistence-level',
  versions: ['9.2.0'],
  clause: 'none: speed (three puts, two gets and two deletes per QoS 1 message were ~85 % of the CPU); the queue survives a restart as before',
  storage: 'level',
  check: ({ persistence, queuedWrite }) =>
    problems(
      ...(['outgoingEnqueue', 'outgoingEnqueueCombi', 'outgoingUpdate', 'outgoingClearMessageId'] as const).map((name) => fn('the persistence', persistence, name)),
      fn('the persistence', persistence, 'outgoingStream', 1),
      ...layoutProblems(queuedWrite),
    ),
  install: writeBehind,
})
