/**
 * Who a topic reaches in aedes-persistence-level (which persistent sessions to queue a QoS 1
 * message for), remembered until a subscription changes: the same as match-cache.ts does for the
 * emitter. The persistence's trie is private: its three writers (setup, addSubscriptions,
 * removeSubscriptions; cleanSubscriptions calls removeSubscriptions on the instance) forget the
 * answers when called, and setup again when it has loaded the trie.
 */
import { TopicMemo } from './match-cache.js'
import { definePatch, fn, problems } from './patch.js'

interface AsyncLevelPersistence {
  subscriptionsByTopic(topic: string): Promise<unknown[]>
  addSubscriptions(...args: unknown[]): Promise<unknown>
  removeSubscriptions(...args: unknown[]): Promise<unknown>
  setup(...args: unknown[]): Promise<unknown>
}

export function cacheSubscriptionsByTopic(persistence: { asyncPersistence?: AsyncLevelPersistence }): void {
  const store = persistence.asyncPersistence
  if (!store) throw new Error('persistence-match-cache: the persistence has no asyncPersistence') // the gate refuses this first
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

export const persistenceMatchCache = definePatch({
  name: 'persistence-match-cache',
  package: 'aedes-persistence-level',
  versions: ['9.2.0'],
  clause: 'none: speed (one trie walk per QoS 1 message); every answer is forgotten when a subscription changes',
  storage: 'level',
  check({ persistence }) {
    const store = (persistence as { asyncPersistence?: unknown } | undefined)?.asyncPersistence
    if (!store) return ['an aedes-persistence-level instance has no asyncPersistence']
    const where = 'asyncPersistence'
    return problems(
      fn(where, store, 'subscriptionsByTopic', 1),
      fn(where, store, 'addSubscriptions', 2),
      fn(where, store, 'removeSubscriptions', 2),
      fn(where, store, 'cleanSubscriptions', 1),
      fn(where, store, 'setup', 1),
    )
  },
  install: cacheSubscriptionsByTopic,
})
