/**
 * Who a topic reaches, remembered until a subscription changes.
 *
 * Aedes matches every QoS 1 message against two tries: the persistence's (which persistent
 * sessions to queue it for) and the emitter's (which connections to deliver it to). Both walk the
 * topic level by level, splitting the string, for every message, and a device publishes on the
 * same two or three topics all its life, while subscriptions change only when a client comes or
 * goes. Here each trie's answer is kept per topic and all of them are forgotten, synchronously,
 * whenever the trie is changed, so no message sees an answer older than the last change.
 */

interface Trie {
  match(topic: string): unknown
  add(...args: unknown[]): unknown
  remove(...args: unknown[]): unknown
  clear?(): unknown
}

/** Topics remembered at most; past it the cache starts again (a fleet has a few per device). */
const MAX_TOPICS = 50_000

/** Answers per topic, all forgotten at once; `generation` tells an answer asked before a change. */
class TopicMemo<V> {
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

interface AsyncLevelPersistence {
  subscriptionsByTopic(topic: string): Promise<unknown[]>
  addSubscriptions(...args: unknown[]): Promise<unknown>
  removeSubscriptions(...args: unknown[]): Promise<unknown>
  setup(...args: unknown[]): Promise<unknown>
}

/**
 * The same for aedes-persistence-level, whose trie is private: its three writers (setup,
 * addSubscriptions, removeSubscriptions; cleanSubscriptions calls removeSubscriptions on the
 * instance) forget the answers when called, and setup again when it has loaded the trie.
 */
export function cacheSubscriptionsByTopic(persistence: { asyncPersistence?: AsyncLevelPersistence }): void {
  const store = persistence.asyncPersistence
  if (!store || typeof store.subscriptionsByTopic !== 'function') return
  const memo = new TopicMemo<unknown[]>()
  const forget = () => memo.forget()
  const byTopic = store.subscriptionsByTopic.bind(store)
  store.subscriptionsByTopic = async (topic) => {
    const hit = memo.get(topic)
    if (hit) return hit
    const asked = memo.generation
    const subs = await byTopic(topic)
    memo.set(topic, subs, asked) // not kept if a subscription changed meanwhile
    return subs
  }
  for (const name of ['addSubscriptions', 'removeSubscriptions'] as const) {
    const original = store[name].bind(store)
    store[name] = (...args: unknown[]) => {
      forget()
      return original(...args)
    }
  }
  const setup = store.setup.bind(store)
  store.setup = (...args: unknown[]) => {
    forget()
    return setup(...args).finally(forget)
  }
}
