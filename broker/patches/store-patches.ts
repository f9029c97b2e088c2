/**
 * Corrections to how Aedes 1.2 uses its persistence, found while testing and profiling this
 * broker; each keeps Aedes' behaviour and removes a defect or a cost:
 * - Aedes stores every filter of a SUBSCRIBE packet for a persistent session as soon as one of
 *   them is granted, refused ones included: messages were then queued (and the store grew) for a
 *   filter the ACL refused (test/broker-acl.test.ts). Only granted filters are stored now.
 * - It stores that list once per filter of the packet, all at once. aedes-persistence-redis
 *   waits for its own broadcast of each call under one key (client id and first filter), so
 *   every call but the last waited forever: a persistent session subscribing to several filters
 *   in one packet (ingest: telemetry, status, event) got no SUBACK and none of them live, and
 *   every QoS 1 reading for it was acknowledged to its device and lost (issue 14,
 *   test/broker-redis.test.ts). The same list of one client in flight is stored once.
 * - Every PUBACK is looked up in the store (a LevelDB get: the largest cost per QoS 1 message
 *   in a profile), but a clean session's deliveries are never stored. Its PUBACKs skip the
 *   lookup; packets left by an earlier session are still cleared at CONNECT (those pass here
 *   with their own `cmd`, not as a PUBACK).
 * - When a clean session's connection closes, its inbound QoS 2 store is wiped: a LevelDB range
 *   delete per connection, refused logins included (11 % of the broker's CPU in a storm of
 *   failed logins). Only a client that published QoS 2 can have left anything there; the wipe
 *   at CONNECT, for an earlier session's leftovers, is kept.
 */
import type { Client } from 'aedes'
import { definePatch, fn, problems, prop } from './patch.js'

export interface PatchableStore {
  addSubscriptions(client: Client, subs: Array<{ topic: string }>): Promise<void>
  outgoingClearMessageId(client: Client, packet: { cmd?: string; messageId?: number }): Promise<unknown>
  /** Absent from aedes-persistence-redis 11 (Aedes detects it). */
  cleanIncoming?: (client: Client) => Promise<unknown>
}

/** `granted(client, filter)`: the subscribe policy. Returns the set to mark QoS 2 publishers in. */
export function patchStore(store: PatchableStore, granted: (client: Client, filter: string) => boolean): { sentQos2: WeakSet<Client> } {
  // Redis storage is checked here, at start: the gate probes only the level store.
  const missing = storeProblems(store)
  if (missing.length > 0) throw new Error(`store-patches does not fit this persistence: ${missing.join('; ')}`)
  const addSubscriptions = store.addSubscriptions.bind(store)
  const storing = new Map<string, Promise<void>>()
  store.addSubscriptions = (client, subs) => {
    const kept = subs.filter((s) => granted(client, s.topic))
    // The same list for the same client, already being stored: once is what every call wanted.
    const key = JSON.stringify([client.id, kept])
    const running = storing.get(key)
    if (running) return running
    const stored = addSubscriptions(client, kept).finally(() => storing.delete(key))
    storing.set(key, stored)
    return stored
  }

  const clearMessageId = store.outgoingClearMessageId.bind(store)
  store.outgoingClearMessageId = (client, packet) =>
    client.clean && packet.cmd === 'puback' ? Promise.resolve(undefined) : clearMessageId(client, packet)

  const sentQos2 = new WeakSet<Client>()
  if (typeof store.cleanIncoming === 'function') {
    const cleanIncoming = store.cleanIncoming.bind(store)
    store.cleanIncoming = (client) => ((client as Client & { closed: boolean }).closed && !sentQos2.has(client) ? Promise.resolve() : cleanIncoming(client))
  }
  return { sentQos2 }
}

const storeProblems = (store: unknown) =>
  problems(
    fn('the persistence', store, 'addSubscriptions'),
    fn('the persistence', store, 'outgoingClearMessageId'),
    (store as { cleanIncoming?: unknown }).cleanIncoming === undefined ? undefined : fn('the persistence', store, 'cleanIncoming'),
  )

export const storePatches = definePatch({
  name: 'store-patches',
  package: 'aedes',
  versions: ['1.2.0'],
  clause: '[MQTT-3.9.3] a filter answered 0x80 is no subscription, so nothing is queued for it; and speed: no store reads for clean sessions',
  check: ({ client, persistence }) =>
    problems(prop('an Aedes client', client, 'clean', 'boolean'), prop('an Aedes client', client, 'closed', 'boolean'), ...(persistence ? storeProblems(persistence) : [])),
  install: patchStore,
})
