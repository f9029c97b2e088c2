/**
 * The broker's storage for one process: an Aedes persistence (the documented `persistence` option,
 * aedes-persistence's promise interface) on an embedded LevelDB under DATA_DIR, in a key layout
 * of our own (README.md), passing Aedes' own conformance suite (test/persistence-conformance.test.ts).
 *
 * One process owns everything here, so what Aedes reads on every message or SUBSCRIBE is served
 * from memory: subscriptions (and who a topic reaches), retained messages (a device's SUBSCRIBE
 * to its own `cmd` is one Map lookup, not a scan of every retained message), and the QoS 1
 * queues, written behind (queue.ts) so that a message acknowledged in time never touches the
 * disk. Memory holds everything but wills, QoS 2 packets and queued messages already written
 * (of those three, only which clients have one).
 */
import { Readable } from 'node:stream'
import { createRequire } from 'node:module'
import type { Client } from 'aedes'
import { Level } from 'level'
import { detachedCopy } from '../../runtime/buffers.js'
import { type Fields, decodeJson, decodePacket, encodeJson, encodePacket } from './codec.js'
import { migrateOldLayout } from './migrate.js'
import { OutgoingQueue, type QueueOptions, under } from './queue.js'
import { QLOBBER_OPTIONS, type Subscription, SubscriptionIndex } from './subscriptions.js'
import { Writes } from './writes.js'

const require = createRequire(import.meta.url)
const fromPersistence = createRequire(require.resolve('aedes-persistence'))
const { QlobberTrue } = fromPersistence('qlobber') as { QlobberTrue: new (opts: object) => { add(p: string): void; test(t: string): boolean } }

/** Key prefixes (README.md): one letter each, none a prefix of aedes-persistence-level's words. */
export const KEYS = { retained: 'r:', subscription: 's:', will: 'w:', incoming: 'i:', meta: 'm:' } as const
const LAYOUT_KEY = `${KEYS.meta}layout`
export const LAYOUT_VERSION = '1'

const enc = encodeURIComponent
const subKey = (clientId: string, topic: string) => `${KEYS.subscription}${enc(clientId)}:${topic}`
const incomingPrefix = (clientId: string) => `${KEYS.incoming}${enc(clientId)}:`
const incomingKey = (clientId: string, messageId: unknown) => `${incomingPrefix(clientId)}${String(messageId).padStart(5, '0')}`
const willKey = (clientId: string) => `${KEYS.will}${enc(clientId)}`
const isFilter = (pattern: string) => pattern.includes('+') || pattern.includes('#')

/** The fields of a packet as aedes-packet makes them (the conformance suite compares them). */
function aedesPacket(p: Fields): Fields {
  const out: Fields = {}
  for (const extra of ['clientId', 'nl', 'properties', 'messageExpiry']) if (Object.hasOwn(p, extra)) out[extra] = p[extra]
  Object.assign(out, { cmd: p.cmd ?? 'publish', brokerId: p.brokerId, brokerCounter: p.brokerCounter ?? 0, topic: p.topic, payload: p.payload ?? Buffer.alloc(0), qos: p.qos ?? 0, retain: p.retain ?? false, dup: p.dup ?? false })
  return out
}

/** The broker object Aedes passes to setup (only its id is used). */
interface BrokerLike {
  id: string
}

type ClientLike = Pick<Client, 'id'>

export interface LevelOptions extends QueueOptions {
  /** The LevelDB directory. */
  dir: string
  /** LevelDB's block cache and memtable, bytes. */
  cacheBytes?: number
  writeBufferBytes?: number
  /** Told what was converted from aedes-persistence-level's layout, if anything. */
  onMigrated?: (counts: Record<string, number>) => void
}

export class LevelPersistence {
  readonly queue: OutgoingQueue
  private readonly writes: Writes
  private readonly subs = new SubscriptionIndex()
  private readonly retained = new Map<string, Fields>()
  /** Clients with QoS 2 packets stored: a clean session's wipe is a Set lookup for the rest. */
  private readonly incomingClients = new Set<string>()
  /** Clients with a will stored: Aedes deletes the will at every CONNECT, and there rarely is one. */
  private readonly willClients = new Set<string>()
  private _broker: BrokerLike | undefined
  private destroyed = false

  private constructor(
    readonly db: Level<string, Buffer>,
    opts: LevelOptions,
  ) {
    this.writes = new Writes(db)
    this.queue = new OutgoingQueue(db, opts)
  }

  /** Opens (and, from aedes-persistence-level's layout, converts) the store; Aedes calls setup(). */
  static async open(opts: LevelOptions): Promise<LevelPersistence> {
    const db = new Level<string, Buffer>(opts.dir, {
      valueEncoding: 'buffer',
      ...(opts.cacheBytes ? { cacheSize: opts.cacheBytes } : {}),
      ...(opts.writeBufferBytes ? { writeBufferSize: opts.writeBufferBytes } : {}),
    })
    await db.open()
    const migrated = await migrateOldLayout(db)
    if (migrated) opts.onMigrated?.(migrated)
    await db.put(LAYOUT_KEY, Buffer.from(LAYOUT_VERSION))
    return new LevelPersistence(db, opts)
  }

  /** For the conformance suite: the broker given to setup. */
  get broker(): BrokerLike | undefined {
    return this._broker
  }

  async setup(broker: BrokerLike): Promise<void> {
    this._broker = broker
    for await (const value of this.db.values(under(KEYS.subscription))) {
      const { clientId, ...sub } = decodeJson<Subscription & { clientId: string }>(value)
      this.subs.add(clientId, [sub])
    }
    for await (const value of this.db.values(under(KEYS.retained))) {
      const packet = decodePacket(value)
      this.retained.set(String(packet.topic), packet)
    }
    await this.queue.load()
    for await (const key of this.db.keys(under(KEYS.will))) this.willClients.add(decodeURIComponent(key.slice(KEYS.will.length)))
    for await (const key of this.db.keys(under(KEYS.incoming))) this.incomingClients.add(decodeURIComponent(key.slice(KEYS.incoming.length, key.indexOf(':', KEYS.incoming.length))))
  }

  // --- retained messages [MQTT-3.3.1-5], [MQTT-3.3.1-6]

  storeRetained(packet: Fields): Promise<void> {
    const topic = String(packet.topic)
    const payload = packet.payload as Buffer | string
    // [MQTT-3.3.1-10] an empty payload removes the retained message
    if (payload.length === 0) {
      this.retained.delete(topic)
      return this.writes.del(KEYS.retained + topic)
    }
    // A copy: the caller may reuse the packet, and its payload may be a view of a socket's whole
    // chunk. Its own memory, not a slice of the shared pool (runtime/buffers.ts): kept for long.
    const copy = { ...packet, payload: Buffer.isBuffer(payload) ? detachedCopy(payload) : payload }
    this.retained.set(topic, copy)
    return this.writes.put(KEYS.retained + topic, encodePacket(copy))
  }

  createRetainedStreamCombi(patterns: readonly string[]): Readable {
    if (!patterns.some(isFilter)) return Readable.from(patterns.flatMap((p) => this.retained.get(p) ?? []))
    const matcher = new QlobberTrue(QLOBBER_OPTIONS)
    for (const p of patterns) matcher.add(p)
    const found: Fields[] = []
    for (const [topic, packet] of this.retained) if (matcher.test(topic)) found.push(packet)
    return Readable.from(found)
  }

  createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern])
  }

  // --- subscriptions of persistent sessions

  addSubscriptions(client: ClientLike, subs: readonly Subscription[]): Promise<void> {
    const changed = this.subs.add(client.id, subs)
    const writes = [...changed.values()].map((sub) => this.writes.put(subKey(client.id, sub.topic), encodeJson({ ...sub, clientId: client.id })))
    return Promise.all(writes).then(() => undefined)
  }

  removeSubscriptions(client: ClientLike, topics: readonly string[]): Promise<void> {
    const removed = this.subs.remove(client.id, topics)
    return Promise.all(removed.map((topic) => this.writes.del(subKey(client.id, topic)))).then(() => undefined)
  }

  subscriptionsByClient(client: ClientLike): Promise<Subscription[]> {
    return Promise.resolve(this.subs.ofClient(client.id))
  }

  countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return Promise.resolve(this.subs.count())
  }

  subscriptionsByTopic(topic: string): Promise<unknown[]> {
    return Promise.resolve(this.subs.byTopic(topic))
  }

  cleanSubscriptions(client: ClientLike): Promise<void> {
    return this.removeSubscriptions(client, this.subs.topicsOf(client.id))
  }

  getClientList(topic: string): Readable {
    return Readable.from(this.subs.clientsOf(topic))
  }

  // --- the QoS 1/2 queues (queue.ts)

  outgoingEnqueue(sub: { clientId: string }, packet: Fields): Promise<void> {
    this.queue.enqueue([sub.clientId], packet)
    return Promise.resolve()
  }

  outgoingEnqueueCombi(subs: ReadonlyArray<{ clientId: string }> | undefined, packet: Fields): Promise<void> {
    this.queue.enqueue((subs ?? []).map((s) => s.clientId), packet)
    return Promise.resolve()
  }

  outgoingUpdate(client: ClientLike, packet: Fields): Promise<void> {
    return this.queue.update(client.id, packet)
  }

  outgoingClearMessageId(client: ClientLike, packet: Fields): Promise<Fields | undefined> {
    return Promise.resolve(this.queue.clear(client.id, packet))
  }

  outgoingStream(client: ClientLike): Readable {
    return this.queue.stream(client.id)
  }

  // --- inbound QoS 2 packets [MQTT-4.3.3-2]

  incomingStorePacket(client: ClientLike, packet: Fields): Promise<void> {
    const stored = aedesPacket(packet)
    stored.messageId = packet.messageId
    this.incomingClients.add(client.id)
    return this.writes.put(incomingKey(client.id, packet.messageId), encodePacket(stored))
  }

  async incomingGetPacket(client: ClientLike, packet: Fields): Promise<Fields> {
    const value = await this.read(incomingKey(client.id, packet.messageId))
    if (value === undefined) throw new Error('no such packet')
    return decodePacket(value)
  }

  incomingDelPacket(client: ClientLike, packet: Fields): Promise<void> {
    return this.writes.del(incomingKey(client.id, packet.messageId))
  }

  /** [MQTT-3.1.2-6] a clean session's QoS 2 state goes with it. */
  async cleanIncoming(client: ClientLike): Promise<void> {
    if (!this.incomingClients.has(client.id)) return
    this.incomingClients.delete(client.id)
    const prefix = incomingPrefix(client.id)
    const keys = new Set(this.writes.pendingKeys(prefix))
    for await (const key of this.db.keys(under(prefix))) keys.add(key)
    await Promise.all([...keys].map((key) => this.writes.del(key)))
  }

  // --- wills

  putWill(client: ClientLike, packet: Fields): Promise<void> {
    packet.brokerId = this._broker?.id
    packet.clientId = client.id
    this.willClients.add(client.id)
    return this.writes.put(willKey(client.id), encodePacket(packet))
  }

  async getWill(client: ClientLike): Promise<Fields | undefined> {
    if (!this.willClients.has(client.id)) return undefined
    const value = await this.read(willKey(client.id))
    return value === undefined ? undefined : decodePacket(value)
  }

  /** The delete is queued at once: a putWill that comes after it (the client back) is never undone by it. */
  async delWill(client: ClientLike): Promise<Fields | undefined> {
    if (!this.willClients.has(client.id)) return undefined
    const key = willKey(client.id)
    const reading = this.read(key) // what it was before this delete
    this.willClients.delete(client.id)
    const deleting = this.writes.del(key)
    const value = await reading
    await deleting
    return value === undefined ? undefined : decodePacket(value)
  }

  /** Wills of brokers not in `brokers` (all when absent): those left by a broker that is gone. */
  streamWill(brokers?: Record<string, unknown>): Readable {
    const db = this.db
    const writes = this.writes
    return Readable.from(
      (async function* () {
        await writes.idle()
        for await (const value of db.values(under(KEYS.will))) {
          const will = decodePacket(value)
          if (!brokers || !brokers[String(will.brokerId)]) yield will
        }
      })(),
    )
  }

  // --- lifecycle

  /** Writes what is pending (queues included), then closes LevelDB. */
  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    await this.queue.close()
    await this.writes.idle()
    await this.db.close()
  }

  /** A value as it will be once pending writes land. */
  private async read(key: string): Promise<Buffer | undefined> {
    const pending = this.writes.peek(key)
    if (pending) return pending.value
    return (await this.db.get(key)) ?? undefined
  }
}
