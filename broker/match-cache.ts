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

/** Remembers `match` per topic, forgetting everything when `add`, `remove` or `clear` runs. */
export function cacheTrie(trie: Trie): void {
  let known = new Map<string, unknown>()
  const match = trie.match.bind(trie)
  trie.match = (topic: string) => {
    let hit = known.get(topic)
    if (hit === undefined) {
      hit = match(topic)
      if (known.size >= MAX_TOPICS) known = new Map()
      known.set(topic, hit)
    }
    return hit
  }
  for (const name of ['add', 'remove', 'clear'] as const) {
    const original = trie[name]?.bind(trie)
    if (!original) continue
    trie[name] = (...args: unknown[]) => {
      known = new Map()
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
  let known = new Map<string, unknown[]>()
  /** Bumped by every change: an answer computed before one is not kept after it. */
  let generation = 0
  const forget = () => {
    known = new Map()
    generation++
  }
  const byTopic = store.subscriptionsByTopic.bind(store)
  store.subscriptionsByTopic = async (topic) => {
    const hit = known.get(topic)
    if (hit) return hit
    const asked = generation
    const subs = await byTopic(topic)
    if (asked === generation) {
      if (known.size >= MAX_TOPICS) known = new Map()
      known.set(topic, subs)
    }
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
