/**
 * The subscriptions of persistent sessions, in memory (one process owns them all): per client
 * for restoring a session, and a trie of the QoS > 0 ones for which sessions a message is queued
 * for, its answers remembered per topic until a subscription changes (a device publishes on the
 * same few topics all its life). LevelPersistence writes each change to disk and loads them all
 * at start. Semantics as aedes-persistence's memory store (its conformance suite): a filter
 * subscribed again replaces the old one; QoS 0 subscriptions are restored but queue nothing.
 */
import { createRequire } from 'node:module'
import { TopicMemo } from '../patches/match-cache.js'

const require = createRequire(import.meta.url)
// The trie Aedes' own persistences use, as they load it.
const fromPersistence = createRequire(require.resolve('aedes-persistence'))
const QlobberSub = fromPersistence('qlobber/aedes/qlobber-sub') as new (opts: object) => Trie

/** As aedes-persistence-level (the broker's store before this one): `a/+` matches `a/`. */
export const QLOBBER_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/', match_empty_levels: true }

export interface Subscription {
  topic: string
  qos: number
  rh?: number | undefined
  rap?: boolean | undefined
  nl?: boolean | undefined
  subscriptionIdentifier?: number | undefined
}

/** What subscriptionsByTopic returns. */
export interface Subscriber {
  clientId: string
  topic: string
  qos: number
  rh?: number | undefined
  rap?: boolean | undefined
  nl?: boolean | undefined
}

interface Trie {
  add(topic: string, sub: Subscriber): void
  remove(topic: string, sub: { clientId: string; topic: string }): void
  match(topic: string): Subscriber[]
  subscriptionsCount: number
}

type Record = Omit<Subscription, 'topic'>

export class SubscriptionIndex {
  private readonly byClient = new Map<string, Map<string, Record>>()
  private readonly trie = new QlobberSub(QLOBBER_OPTIONS)
  private readonly memo = new TopicMemo<Subscriber[]>()

  /** Adds or replaces; returns the records to store (topic -> record). */
  add(clientId: string, subs: readonly Subscription[]): Map<string, Subscription> {
    this.memo.forget()
    let stored = this.byClient.get(clientId)
    if (!stored) this.byClient.set(clientId, (stored = new Map()))
    const changed = new Map<string, Subscription>()
    for (const sub of subs) {
      const before = stored.get(sub.topic)
      const record: Record = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl }
      // MQTT 5 subscription identifier: kept with the session, not in the trie (as Aedes' memory store).
      if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier
      if (sub.qos > 0) this.trie.add(sub.topic, { clientId, topic: sub.topic, qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl })
      else if ((before?.qos ?? 0) > 0) this.trie.remove(sub.topic, { clientId, topic: sub.topic })
      stored.set(sub.topic, record)
      changed.set(sub.topic, { topic: sub.topic, ...record })
    }
    return changed
  }

  /** Removes these filters; returns those that were there. */
  remove(clientId: string, topics: readonly string[]): string[] {
    const stored = this.byClient.get(clientId)
    if (!stored) return []
    this.memo.forget()
    const removed: string[] = []
    for (const topic of topics) {
      const before = stored.get(topic)
      if (before === undefined) continue
      if (before.qos > 0) this.trie.remove(topic, { clientId, topic })
      stored.delete(topic)
      removed.push(topic)
    }
    if (stored.size === 0) this.byClient.delete(clientId)
    return removed
  }

  ofClient(clientId: string): Subscription[] {
    return [...(this.byClient.get(clientId) ?? [])].map(([topic, record]) => ({ topic, ...record }))
  }

  topicsOf(clientId: string): string[] {
    return [...(this.byClient.get(clientId)?.keys() ?? [])]
  }

  byTopic(topic: string): Subscriber[] {
    let hit = this.memo.get(topic)
    if (hit === undefined) {
      hit = this.trie.match(topic)
      this.memo.set(topic, hit)
    }
    return hit
  }

  clientsOf(topic: string): string[] {
    const out: string[] = []
    for (const [clientId, stored] of this.byClient) if (stored.has(topic)) out.push(clientId)
    return out
  }

  count(): { subsCount: number; clientsCount: number } {
    return { subsCount: this.trie.subscriptionsCount, clientsCount: this.byClient.size }
  }
}
