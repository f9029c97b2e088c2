/**
 * The QoS 1 (and 2) queues of persistent sessions, written behind (issue 20): the outgoing half of
 * LevelPersistence, behind the documented persistence methods (outgoingEnqueueCombi,
 * outgoingUpdate, outgoingClearMessageId, outgoingStream), in keys of our own (README.md).
 *
 * Aedes stores every QoS 1 message for every persistent subscriber, online or not, before it
 * delivers it. Written through, that was ~85 % of the broker's CPU with ingest subscribed
 * (bench/README.md), though ingest acknowledges within milliseconds. Here a message waits in
 * memory; acknowledged in time, it never touches the disk. A subscriber that is away gets
 * `flushMs` (the devices' PUBACKs wait for it: durable-ack.ts), a connected one `holdMs` (its
 * fsync can stall while InfluxDB compacts; writing then cost the CPU exactly when the broker was
 * busiest). `maxPending` bounds the memory either way. What a queue holds is read back from disk
 * (after one flush) when its session resumes.
 *
 * Which packet id a delivery got lives in memory only: after a restart the queue is delivered
 * again under new ids, as QoS 1 allows [MQTT-4.4.0-1]. A PUBREL (QoS 2) replaces its message on
 * disk too. A broker killed without a shutdown loses only what was not yet written, and the
 * devices were not yet told it was received, so they send it again.
 */
import { Readable } from 'node:stream'
import { type Fields, decodePacket, encodePacket } from './codec.js'

export interface QueueDb {
  batch(ops: Array<{ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }>): Promise<void>
  iterator(range: { gte: string; lt: string }): AsyncIterable<[string, Buffer]>
  keys(range: { gte: string; lt: string }): AsyncIterable<string>
}

/** What durable-ack.ts needs: word when a message is acknowledged by, or on disk for, every persistent subscriber. */
export interface SafetyNotices {
  /**
   * Calls `safe` once the message Aedes will enqueue under (brokerId, brokerCounter) is
   * acknowledged by, or written to disk for, every session it is queued for (at once when there
   * is none). Register before Aedes enqueues it; `cancel` if it never will.
   */
  whenSafe(brokerId: string, brokerCounter: number, safe: () => void): void
  cancel(brokerId: string, brokerCounter: number): void
}

export interface QueueOptions {
  /** How long a message for a disconnected subscriber may wait in memory (ms). */
  flushMs: number
  /** How long a message for a connected subscriber may wait for its acknowledgement (ms). */
  holdMs?: number | undefined
  /** Messages in memory at most: past it everything is written at once. */
  maxPending?: number | undefined
  now?: () => number
  onError(err: unknown): void
}

interface Waiter {
  copies: number
  safe(): void
}

/** One message queued for one client. */
interface Entry {
  clientId: string
  /** Its key on disk; made when first needed (most messages are acknowledged before). */
  key: string | undefined
  /** The message's sequence number (its key's last part). */
  seq: number
  ref: string
  /** What the queue holds: the publish (without packet id), or the PUBREL that replaced it. */
  packet: Fields
  messageId: number | undefined
  /** When it was queued or last changed (ms). */
  at: number
  /** memory: to be written; writing: in the batch being written; disk: written as it is now. */
  state: 'memory' | 'writing' | 'disk'
  /** Changed while being written: written again after. */
  dirty: boolean
  /** Some version of it is on disk (a delete is needed when it goes). */
  onDisk: boolean
  cleared: boolean
  waiter: Waiter | undefined
}

interface ClientQueue {
  /** brokerId:brokerCounter -> entry, for what is in memory (pending, delivered, read back). */
  byRef: Map<string, Entry>
  /** packet id -> the entry delivered under it. */
  byId: Map<number, Entry>
}

export const QUEUE_PREFIX = 'q:'
const MAX_COUNTED = 1_000_000
const clientPrefix = (clientId: string) => `${QUEUE_PREFIX}${encodeURIComponent(clientId)}:`
/** The keys under a prefix ending in ':' (';' is the next byte: nothing sorts between). */
export const under = (prefix: string) => ({ gte: prefix, lt: `${prefix.slice(0, -1)};` })
const refOf = (brokerId: unknown, brokerCounter: unknown) => `${String(brokerId)}:${String(brokerCounter)}`

/** The fields of a queued publish, as aedes-packet makes them: no packet id, no wire length. */
function queued(p: Fields): Fields {
  const out: Fields = {
    cmd: p.cmd ?? 'publish',
    brokerId: p.brokerId,
    brokerCounter: p.brokerCounter ?? 0,
    topic: p.topic,
    payload: p.payload ?? Buffer.alloc(0),
    qos: p.qos ?? 0,
    retain: p.retain ?? false,
    dup: p.dup ?? false,
    messageId: undefined,
  }
  for (const extra of ['clientId', 'nl', 'properties', 'messageExpiry']) if (Object.hasOwn(p, extra)) out[extra] = p[extra]
  return out
}

/** What a reader gets: the entry's packet with the id it was delivered under (a PUBREL as it was given). */
const output = (e: Entry): Fields => (e.packet.cmd === 'pubrel' ? { cmd: 'pubrel', messageId: e.messageId } : { ...e.packet, messageId: e.messageId })

export class OutgoingQueue implements SafetyNotices {
  private readonly maxPending: number
  private readonly holdMs: number
  private readonly now: () => number
  private connected: (clientId: string) => boolean = () => false
  private readonly clients = new Map<string, ClientQueue>()
  private readonly prefixes = new Map<string, string>()
  /** Entries to write, in the order they came. */
  private readonly toWrite = new Set<Entry>()
  private deletes: Entry[] = []
  /** Per client, how many of its entries are on disk: a session with none is not read back (every CONNECT asks). */
  private readonly onDisk = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | undefined
  private lastSeq = 0
  private written = 0
  private skipped = 0
  private closed = false
  /** By broker id, then broker counter: no key string per message. */
  private readonly waiters = new Map<string, Map<number, Waiter>>()

  constructor(
    private readonly db: QueueDb,
    private readonly opts: QueueOptions,
  ) {
    this.maxPending = opts.maxPending ?? 20_000
    this.holdMs = Math.max(opts.holdMs ?? opts.flushMs, opts.flushMs)
    this.now = opts.now ?? Date.now
  }

  /** Counts what is on disk per client (at start). */
  async load(): Promise<void> {
    this.onDisk.clear()
    for await (const key of this.db.keys(under(QUEUE_PREFIX))) {
      const clientId = decodeURIComponent(key.slice(QUEUE_PREFIX.length, key.indexOf(':', QUEUE_PREFIX.length)))
      this.onDisk.set(clientId, (this.onDisk.get(clientId) ?? 0) + 1)
    }
  }

  /** Tells which subscribers are connected (their messages may wait `holdMs`); until then none is. */
  knowConnected(connected: (clientId: string) => boolean): void {
    this.connected = connected
  }

  pending(): number {
    return this.toWrite.size
  }

  /** Messages written so far, and messages acknowledged before they had to be. */
  counts(): { written: number; skipped: number } {
    return { written: this.written, skipped: this.skipped }
  }

  /** Messages queued, in memory or on disk (keys only, no values decoded; bounded). */
  async count(): Promise<number> {
    let n = this.toWrite.size
    for await (const _key of this.db.keys(under(QUEUE_PREFIX))) if (++n >= MAX_COUNTED) break
    return n
  }

  whenSafe(brokerId: string, brokerCounter: number, safe: () => void): void {
    const ofBroker = this.waiters.get(brokerId) ?? this.waiters.set(brokerId, new Map()).get(brokerId)!
    ofBroker.set(brokerCounter, { copies: 0, safe })
  }

  cancel(brokerId: string, brokerCounter: number): void {
    this.waiters.get(brokerId)?.delete(brokerCounter)
  }

  enqueue(clientIds: readonly string[], packet: Fields): void {
    const ofBroker = this.waiters.get(String(packet.brokerId))
    const waiter = ofBroker?.get(packet.brokerCounter as number)
    if (waiter) {
      ofBroker?.delete(packet.brokerCounter as number)
      waiter.copies = clientIds.length
    }
    if (clientIds.length === 0) return waiter?.safe()
    const copy = queued(packet)
    const ref = refOf(copy.brokerId, copy.brokerCounter)
    // One sequence number per message, the same for all its copies: the queue sorts by it, across
    // restarts and broker ids (the clock, in µs, and never backwards within a run).
    const at = this.now()
    const seq = (this.lastSeq = Math.max(this.lastSeq + 1, at * 1000))
    for (const clientId of clientIds) {
      const entry: Entry = { clientId, key: undefined, seq, ref, packet: copy, messageId: undefined, at, state: 'memory', dirty: false, onDisk: false, cleared: false, waiter }
      this.queueOf(clientId).byRef.set(ref, entry)
      this.toWrite.add(entry)
    }
    this.schedule()
  }

  /** Records the packet id a queued message is delivered under, or the PUBREL that replaces it. */
  update(clientId: string, packet: Fields): Promise<void> {
    const q = this.clients.get(clientId)
    const messageId = packet.messageId as number | undefined
    if (packet.cmd === 'pubrel' || packet.brokerId === undefined) {
      const e = messageId === undefined ? undefined : q?.byId.get(messageId)
      if (!e) return Promise.reject(new Error('no such packet'))
      if (packet.cmd === 'pubrel') {
        e.packet = { cmd: 'pubrel', messageId, brokerId: e.packet.brokerId, brokerCounter: e.packet.brokerCounter }
        this.touch(e)
      }
      return Promise.resolve()
    }
    const e = q?.byRef.get(refOf(packet.brokerId, packet.brokerCounter))
    if (!q || !e || messageId === undefined) return Promise.reject(new Error('no such packet'))
    if (e.messageId !== undefined && q.byId.get(e.messageId) === e) q.byId.delete(e.messageId)
    // An id still held by an unacknowledged delivery is reused only after 65,535 others: that
    // older message keeps its place and comes again at the next connection.
    e.messageId = messageId
    q.byId.set(messageId, e)
    return Promise.resolve()
  }

  /** Removes what was delivered under the packet's id (a PUBACK), or the queued packet itself. */
  clear(clientId: string, packet: Partial<Fields>): Fields | undefined {
    const q = this.clients.get(clientId)
    if (!q || packet === null || typeof packet !== 'object') return undefined
    const byRef = packet.brokerId === undefined ? undefined : q.byRef.get(refOf(packet.brokerId, packet.brokerCounter))
    const e = byRef ?? (packet.messageId === undefined ? undefined : q.byId.get(packet.messageId as number))
    if (!e) return undefined
    const out = output(e)
    this.forget(q, e)
    return out
  }

  /** The client's queue in order, after writing what is pending (so the disk has all of it). */
  stream(clientId: string): Readable {
    return Readable.from(this.read(clientId))
  }

  private async *read(clientId: string): AsyncGenerator<Fields> {
    // A batch being written may hold this client's messages or deletes: its outcome first.
    if (this.writing) await this.writing.catch(() => undefined)
    const q = this.clients.get(clientId)
    const waiting = (q !== undefined && [...q.byRef.values()].some((e) => e.state !== 'disk')) || this.deletes.some((e) => e.clientId === clientId)
    if (waiting) await this.flush()
    // Nothing queued (a clean session, a device): no read of the disk, no flush of the others' queues.
    else if (!this.onDisk.get(clientId)) return
    for await (const [key, value] of this.db.iterator(under(this.prefix(clientId)))) {
      const q = this.queueOf(clientId)
      const stored = decodePacket(value)
      const ref = refOf(stored.brokerId, stored.brokerCounter)
      const known = q.byRef.get(ref)
      if (known && this.keyOf(known) === key) {
        if (!known.cleared) yield output(known)
        continue
      }
      if (known) {
        // Two messages of one broker id and counter (a fixed BROKER_ID across a restart): the
        // older is delivered, and acknowledged, without a record here; it stays on disk.
        yield { ...stored, messageId: undefined }
        continue
      }
      const e: Entry = { clientId, key, seq: 0, ref, packet: stored, messageId: stored.cmd === 'pubrel' ? (stored.messageId as number) : undefined, at: this.now(), state: 'disk', dirty: false, onDisk: true, cleared: false, waiter: undefined }
      q.byRef.set(ref, e)
      if (e.messageId !== undefined) q.byId.set(e.messageId, e)
      yield output(e)
    }
  }

  /** Writes every pending message now (before a queue is read back, and at shutdown). */
  flush(all = true): Promise<void> {
    const run = (this.writing ?? Promise.resolve()).catch(() => undefined).then(() => this.writeOnce(all))
    this.writing = run
    void run
      .catch(() => {
        if (this.toWrite.size > 0 && !this.closed) this.timer ??= setTimeout(() => void this.flush(false), Math.max(this.opts.flushMs, 1_000))
      })
      .finally(() => {
        if (this.writing === run) this.writing = undefined
      })
    return run
  }

  async close(): Promise<void> {
    await this.flush()
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private prefix(clientId: string): string {
    let prefix = this.prefixes.get(clientId)
    if (prefix === undefined) {
      if (this.prefixes.size >= 10_000) this.prefixes.clear()
      this.prefixes.set(clientId, (prefix = clientPrefix(clientId)))
    }
    return prefix
  }

  private keyOf(e: Entry): string {
    return (e.key ??= this.prefix(e.clientId) + String(e.seq).padStart(16, '0'))
  }

  private queueOf(clientId: string): ClientQueue {
    let q = this.clients.get(clientId)
    if (!q) this.clients.set(clientId, (q = { byRef: new Map(), byId: new Map() }))
    return q
  }

  private schedule(): void {
    if (this.closed) return
    if (this.toWrite.size >= this.maxPending) void this.flush().catch(() => undefined)
    else this.timer ??= setTimeout(() => void this.flush(false).catch(() => undefined), this.opts.flushMs)
  }

  /** A changed entry is written (again). */
  private touch(e: Entry): void {
    e.at = this.now()
    if (e.state === 'writing') e.dirty = true
    else {
      e.state = 'memory'
      this.toWrite.add(e)
      this.schedule()
    }
  }

  private settle(e: Entry): void {
    const w = e.waiter
    e.waiter = undefined
    if (w && --w.copies === 0) w.safe()
  }

  private forget(q: ClientQueue, e: Entry): void {
    if (q.byRef.get(e.ref) === e) q.byRef.delete(e.ref)
    if (e.messageId !== undefined && q.byId.get(e.messageId) === e) q.byId.delete(e.messageId)
    if (q.byRef.size === 0 && q.byId.size === 0) this.clients.delete(e.clientId)
    e.cleared = true
    if (e.state === 'writing') return // deleted once its write is done
    const wasPending = this.toWrite.delete(e)
    if (e.onDisk) {
      this.deletes.push(e)
      this.schedule()
    } else if (wasPending) {
      this.skipped++
      this.settle(e)
    }
  }

  /** all = false: only what has waited its time (flushMs, or holdMs for a connected subscriber). */
  private async writeOnce(all: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const ops: Parameters<QueueDb['batch']>[0] = []
    const batch: Entry[] = []
    const t = this.now()
    const online = new Map<string, boolean>()
    let held = false
    for (const e of this.toWrite) {
      if (!all && t - e.at < this.holdMs) {
        let on = online.get(e.clientId)
        if (on === undefined) online.set(e.clientId, (on = this.connected(e.clientId)))
        if (on || t - e.at < this.opts.flushMs) {
          held = true
          continue
        }
      }
      this.toWrite.delete(e)
      e.state = 'writing'
      batch.push(e)
      ops.push({ type: 'put', key: this.keyOf(e), value: encodePacket(e.packet) })
    }
    for (const e of this.deletes) ops.push({ type: 'del', key: this.keyOf(e) })
    const deletes = this.deletes
    this.deletes = []
    if (ops.length === 0) {
      if (held) this.schedule()
      return
    }
    try {
      await this.db.batch(ops)
    } catch (err) {
      // Kept in memory and tried again: a full disk must not lose the queue.
      for (const e of batch) {
        e.state = 'memory'
        if (!e.cleared) this.toWrite.add(e)
        else if (e.onDisk) this.deletes.push(e)
        else this.settle(e)
      }
      this.deletes.push(...deletes)
      this.opts.onError(err)
      throw err
    }
    this.written += batch.length
    for (const e of deletes) this.countOnDisk(e.clientId, -1)
    for (const e of batch) this.written1(e)
    if (this.toWrite.size > 0 || this.deletes.length > 0) this.schedule()
  }

  private countOnDisk(clientId: string, change: number): void {
    const n = (this.onDisk.get(clientId) ?? 0) + change
    if (n > 0) this.onDisk.set(clientId, n)
    else this.onDisk.delete(clientId)
  }

  private written1(e: Entry): void {
    if (!e.onDisk) this.countOnDisk(e.clientId, 1)
    e.state = 'disk'
    e.onDisk = true
    this.settle(e)
    if (e.cleared) {
      this.deletes.push(e)
      return
    }
    if (e.dirty) {
      e.dirty = false
      e.state = 'memory'
      this.toWrite.add(e)
      return
    }
    // Undelivered, and nobody connected to deliver it to: memory is freed; read back from disk.
    if (e.messageId === undefined && !this.connected(e.clientId)) {
      const q = this.clients.get(e.clientId)
      if (q?.byRef.get(e.ref) === e) q.byRef.delete(e.ref)
      if (q && q.byRef.size === 0 && q.byId.size === 0) this.clients.delete(e.clientId)
    }
  }
}
