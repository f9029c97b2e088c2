/**
 * Which clients have anything stored under their id, kept in memory, so a clean-session CONNECT
 * of a client with nothing stored costs no disk reads (issue 20, connect cost; issue 14's
 * benchmark: 10,000 devices connecting).
 *
 * At every clean-session CONNECT Aedes asks the persistence to drop the client's earlier
 * session [MQTT-3.1.2-6]: `cleanSubscriptions` (aedes-persistence-level reads every
 * subscription of the client with a LevelDB iterator, then deletes them) and `cleanIncoming` (a
 * range delete of its inbound QoS 2 packets). A device that never subscribed and never sent QoS 2
 * has nothing there, yet each connect paid an iterator and a range delete: about a fifth of
 * the broker's CPU in a reconnect storm (bench/idle.ts, 14.8 -> 11.2 s for 10,000 devices).
 * Likewise before it stores a device's Last Will, Aedes deletes the one stored before (`delWill`:
 * a read, and a delete when found), also when a device's Will was published and deleted when it
 * went away, as after a tower outage; and after every CONNACK, clean sessions included, it reads
 * the client's queue of stored QoS 1 messages (`outgoingStream`: an iterator, and queue-store's
 * flush before it), the largest of these costs (about a third of the broker's main thread while
 * 10,000 devices connect). Only a client something was queued for has a queue: the index knows
 * them (added at every enqueue, never removed: one entry per persistent session, such as ingest).
 *
 * The index is a superset of what is on disk, never less: a client is added before a write that
 * stores something under its id can start, and removed only after a wipe succeeded with no write
 * for that client since the wipe began. At start it is filled from the keys on disk (the
 * subscriptions and inbound packets an earlier process left, read once; until then every wipe
 * runs as before). A client not in it has nothing to wipe, so the wipe is skipped.
 *
 * The key layout read at start is aedes-persistence-level's (`subscriptions:{id}:{topic}`,
 * `incoming:{id}:{messageId}`, `will:{id}`, `outgoing:{id}:...`, the id URI-encoded): checked against what the real package writes
 * (probe.ts) before the broker starts.
 */
import { Readable } from 'node:stream'
import type { Client } from 'aedes'
import { type Shapes, definePatch, fn, problems } from './patch.js'

export interface IndexedStore {
  addSubscriptions(client: Client, subs: Array<{ topic: string }>): Promise<unknown>
  cleanSubscriptions(client: Client): Promise<unknown>
  incomingStorePacket(client: Client, packet: object): Promise<unknown>
  cleanIncoming?: (client: Client) => Promise<unknown>
  putWill(client: { id: string }, packet: object): Promise<unknown>
  delWill(client: { id: string }): Promise<unknown>
  outgoingEnqueue(sub: { clientId: string }, packet: object): Promise<unknown>
  outgoingEnqueueCombi(subs: ReadonlyArray<{ clientId: string }>, packet: object): Promise<unknown>
  outgoingStream(client: Client): NodeJS.ReadableStream
}

/** The keys of a LevelDB range, as `level` gives them. */
export interface KeySource {
  keys(range: { gte: string; lt: string }): AsyncIterable<string>
}

export const SUBSCRIPTION_PREFIX = 'subscriptions:'
export const INCOMING_PREFIX = 'incoming:'
export const WILL_PREFIX = 'will:'
export const OUTGOING_PREFIX = 'outgoing:'

/** The client id a stored key belongs to, or undefined when the key is not under `prefix`. */
export function clientOfKey(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined
  // A Will's key ends with the id; the others go on after a ':' (which an encoded id never holds).
  const end = prefix === WILL_PREFIX ? key.length : key.indexOf(':', prefix.length)
  if (end === -1) return undefined
  try {
    return decodeURIComponent(key.slice(prefix.length, end))
  } catch {
    return undefined
  }
}

/** Per client id: a counter of writes begun, so a wipe knows whether one came in meanwhile. */
class Tracked {
  private readonly writes = new Map<string, number>()

  has(id: string): boolean {
    return this.writes.has(id)
  }

  /** Before a write under `id`. */
  add(id: string): void {
    this.writes.set(id, (this.writes.get(id) ?? 0) + 1)
  }

  mark(id: string): number | undefined {
    return this.writes.get(id)
  }

  /** After a wipe of `id` that began at `mark`: forgotten only if nothing was written since. */
  wiped(id: string, mark: number | undefined): void {
    if (this.writes.get(id) === mark) this.writes.delete(id)
  }

  get size(): number {
    return this.writes.size
  }
}

export interface SessionIndex {
  /** Resolves when the keys on disk are read; wipes are never skipped before. */
  ready: Promise<void>
  /** Clients that may have subscriptions / inbound packets stored (for tests and metrics). */
  sizes(): { subscriptions: number; incoming: number; wills: number; queues: number }
  /** Wipes skipped because nothing was stored. */
  skipped(): number
}

function range(prefix: string) {
  return { gte: prefix, lt: `${prefix.slice(0, -1)};` }
}

export function indexSessions(store: IndexedStore, db: KeySource, onError: (err: unknown) => void): SessionIndex {
  const subs = new Tracked()
  const incoming = new Tracked()
  const wills = new Tracked()
  const queues = new Tracked()
  let loaded = false
  let skips = 0

  // A wipe of `id` through `wipe`, skipped when the index knows nothing is stored.
  const guarded = <C extends { id: string }>(tracked: Tracked, wipe: (client: C) => Promise<unknown>) => (client: C) => {
    if (loaded && !tracked.has(client.id)) {
      skips++
      return Promise.resolve(undefined)
    }
    const mark = tracked.mark(client.id)
    return wipe(client).then((r) => {
      if (loaded) tracked.wiped(client.id, mark)
      return r
    })
  }

  const addSubscriptions = store.addSubscriptions.bind(store)
  store.addSubscriptions = (client, list) => {
    if (list.length > 0) subs.add(client.id)
    return addSubscriptions(client, list)
  }
  // A client whose last filter is removed keeps its entry: the next wipe finds nothing and clears it.
  store.cleanSubscriptions = guarded(subs, store.cleanSubscriptions.bind(store))
  const incomingStorePacket = store.incomingStorePacket.bind(store)
  store.incomingStorePacket = (client, packet) => {
    incoming.add(client.id)
    return incomingStorePacket(client, packet)
  }
  if (typeof store.cleanIncoming === 'function') store.cleanIncoming = guarded(incoming, store.cleanIncoming.bind(store))
  const putWill = store.putWill.bind(store)
  store.putWill = (client, packet) => {
    wills.add(client.id)
    return putWill(client, packet)
  }
  store.delWill = guarded(wills, store.delWill.bind(store))
  const outgoingEnqueue = store.outgoingEnqueue.bind(store)
  store.outgoingEnqueue = (sub, packet) => {
    queues.add(sub.clientId)
    return outgoingEnqueue(sub, packet)
  }
  const outgoingEnqueueCombi = store.outgoingEnqueueCombi.bind(store)
  store.outgoingEnqueueCombi = (list, packet) => {
    for (const sub of list) queues.add(sub.clientId)
    return outgoingEnqueueCombi(list, packet)
  }
  const outgoingStream = store.outgoingStream.bind(store)
  store.outgoingStream = (client) => {
    if (!loaded || queues.has(client.id)) return outgoingStream(client)
    skips++
    return Readable.from([])
  }

  const load = async () => {
    for (const [prefix, tracked] of [
      [SUBSCRIPTION_PREFIX, subs],
      [INCOMING_PREFIX, incoming],
      [WILL_PREFIX, wills],
      [OUTGOING_PREFIX, queues],
    ] as const) {
      for await (const key of db.keys(range(prefix))) {
        const id = clientOfKey(prefix, key)
        if (id !== undefined) tracked.add(id)
      }
    }
    loaded = true
  }
  const ready = load().catch(onError)
  return {
    ready,
    sizes: () => ({ subscriptions: subs.size, incoming: incoming.size, wills: wills.size, queues: queues.size }),
    skipped: () => skips,
  }
}

/** What the real package wrote for the probe's subscription and inbound packet, against the layout read here. */
function layoutProblems(writes: Shapes['sessionWrites'], queued: Shapes['queuedWrite']): string[] {
  if (!writes) return ['the probe recorded no subscription and inbound packet writes']
  const out: string[] = []
  if (clientOfKey(OUTGOING_PREFIX, queued?.key ?? '') !== queued?.clientId) out.push(`a queued message's key is ${JSON.stringify(queued?.key)}, not under ${OUTGOING_PREFIX}{id}:`)
  if (clientOfKey(SUBSCRIPTION_PREFIX, writes.subscription ?? '') !== writes.clientId) {
    out.push(`a subscription's key is ${JSON.stringify(writes.subscription)}, not under ${SUBSCRIPTION_PREFIX}{id}:`)
  }
  if (clientOfKey(INCOMING_PREFIX, writes.incoming ?? '') !== writes.clientId) {
    out.push(`an inbound packet's key is ${JSON.stringify(writes.incoming)}, not under ${INCOMING_PREFIX}{id}:`)
  }
  if (clientOfKey(WILL_PREFIX, writes.will ?? '') !== writes.clientId) out.push(`a Will's key is ${JSON.stringify(writes.will)}, not ${WILL_PREFIX}{id}`)
  return out
}

export const sessionIndex = definePatch({
  name: 'session-index',
  package: 'aedes-persistence-level',
  versions: ['9.2.0'],
  clause: '[MQTT-3.1.2-6] a clean session still discards every earlier session state, [MQTT-3.1.2-8] a Will is still deleted once published or after a DISCONNECT, [MQTT-4.4.0-1] a session\'s stored messages are still sent at reconnect; speed: no disk reads at CONNECT when nothing is stored',
  storage: 'level',
  check: ({ persistence, sessionWrites, queuedWrite }) =>
    problems(
      ...(['addSubscriptions', 'cleanSubscriptions', 'incomingStorePacket', 'cleanIncoming', 'putWill', 'delWill', 'outgoingEnqueue', 'outgoingEnqueueCombi'] as const).map((name) =>
        fn('the persistence', persistence, name),
      ),
      fn('the persistence', persistence, 'outgoingStream', 1),
      ...layoutProblems(sessionWrites, queuedWrite),
    ),
  install: indexSessions,
})
