/**
 * Who a topic reaches, remembered until a subscription changes.
 *
 * Aedes matches every QoS 1 message against two tries: the persistence's (which persistent
 * sessions to queue it for) and the emitter's (which connections to deliver it to). Both walk the
 * topic level by level, splitting the string, for every message, and a device publishes on the
 * same two or three topics all its life, while subscriptions change only when a client comes or
 * goes. Here each trie's answer is kept per topic and all of them are forgotten, synchronously,
 * whenever the trie is changed, so no message sees an answer older than the last change.
 * This file: the emitter's trie (mqemitter's private `_matcher`, a qlobber); the persistence's
 * is kept by the broker's own persistence (../storage/subscriptions.ts).
 */
import { definePatch, fn, problems } from './patch.js'

interface Trie {
  match(topic: string): unknown
  add(...args: unknown[]): unknown
  remove(...args: unknown[]): unknown
  clear?(): unknown
}

/** Topics remembered at most; past it the cache starts again (a fleet has a few per device). */
const MAX_TOPICS = 50_000

/** Answers per topic, all forgotten at once; `generation` tells an answer asked before a change. */
export class TopicMemo<V> {
  private known = new Map<string, V>()
  generation = 0

  get(topic: string): V | undefined {
    return this.known.get(topic)
  }

  /** Keeps `answer` unless the trie changed since it was asked for (at `asked`). */
  set(topic: string, answer: V, asked = this.generation): void {
    if (asked !== this.generation) return
    if (this.known.size >= MAX_TOPICS) this.known = new Map()
    this.known.set(topic, answer)
  }

  forget(): void {
    this.known = new Map()
    this.generation++
  }
}

/** Remembers `match` per topic, forgetting everything when `add`, `remove` or `clear` runs. */
export function cacheTrie(trie: Trie): void {
  const memo = new TopicMemo<unknown>()
  const match = trie.match.bind(trie)
  trie.match = (topic: string) => {
    let hit = memo.get(topic)
    if (hit === undefined) {
      hit = match(topic)
      memo.set(topic, hit)
    }
    return hit
  }
  for (const name of ['add', 'remove', 'clear'] as const) {
    const original = trie[name]?.bind(trie)
    if (!original) continue
    trie[name] = (...args: unknown[]) => {
      memo.forget()
      return original(...args)
    }
  }
}

/** The trie of Aedes' own emitter (one process: level storage), or undefined. */
export const matcherOf = (broker: object): Trie | undefined => (broker as { mq?: { _matcher?: Trie } }).mq?._matcher

export const matchCache = definePatch({
  name: 'match-cache',
  package: 'mqemitter',
  versions: ['7.1.0'],
  clause: 'none: speed (two trie walks per QoS 1 message); every answer is forgotten when a subscription changes',
  storage: 'level',
  check({ broker }) {
    const trie = matcherOf(broker)
    if (!trie) return ["an Aedes broker's mq has no _matcher"]
    return problems(fn('mq._matcher', trie, 'match', 2), fn('mq._matcher', trie, 'add', 2), fn('mq._matcher', trie, 'remove', 2), fn('mq._matcher', trie, 'clear', 0))
  },
  install(broker: object): void {
    const trie = matcherOf(broker)
    if (!trie) throw new Error("match-cache: Aedes' emitter has no _matcher") // the gate refuses this first
    cacheTrie(trie)
  },
})
