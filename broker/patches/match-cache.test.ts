import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { afterEach, describe, expect, it } from 'vitest'
import { cacheSubscriptionsByTopic, cacheTrie } from './match-cache.js'

const require = createRequire(import.meta.url)
// The trie mqemitter uses, from Aedes' own dependency tree.
const fromEmitter = createRequire(createRequire(require.resolve('aedes')).resolve('mqemitter'))
const { Qlobber } = fromEmitter('qlobber') as { Qlobber: new (o: object) => { add(t: string, v: unknown): void; remove(t: string, v?: unknown): void; match(t: string): unknown[] } }

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

describe('cacheTrie (the emitter)', () => {
  it('answers from memory until a subscription is added or removed', () => {
    const trie = new Qlobber({ separator: '/', wildcard_one: '+', wildcard_some: '#' })
    let walks = 0
    const match = trie.match.bind(trie)
    trie.match = (t: string) => {
      walks++
      return match(t)
    }
    cacheTrie(trie)
    const topic = 'farm/f1/pump/p1/telemetry'
    trie.add('farm/+/pump/+/telemetry', 'ingest')
    expect(trie.match(topic)).toEqual(['ingest'])
    expect(trie.match(topic)).toEqual(['ingest'])
    expect(walks).toBe(1)
    trie.add('farm/f1/#', 'console')
    expect((trie.match(topic) as string[]).slice().sort()).toEqual(['console', 'ingest'])
    trie.remove('farm/+/pump/+/telemetry', 'ingest')
    expect(trie.match(topic)).toEqual(['console'])
    expect(walks).toBe(3)
  })
})

describe('cacheSubscriptionsByTopic (aedes-persistence-level)', () => {
  async function store() {
    const dir = await mkdtemp(join(tmpdir(), 'match-cache-'))
    dirs.push(dir)
    const persistence = (require('aedes-persistence-level') as (db: unknown) => Record<string, (...a: unknown[]) => Promise<unknown>> & { asyncPersistence: never })(new Level(dir))
    const broker = { id: 'b1', on() {}, subscribe(_t: string, _f: unknown, done: () => void) { done() }, unsubscribe(_t: string, _f: unknown, done: () => void) { done() } }
    await persistence.setup?.(broker)
    cacheSubscriptionsByTopic(persistence)
    const ids = async (topic: string) => ((await persistence.subscriptionsByTopic?.(topic)) as Array<{ clientId: string }>).map((s) => s.clientId).sort()
    return { persistence, ids }
  }
  const client = (id: string) => ({ id })
  const topic = 'farm/f1/pump/p1/telemetry'

  it('sees every add, remove and clean at once, also one made while an answer was on its way', async () => {
    const { persistence, ids } = await store()
    await persistence.addSubscriptions?.(client('ingest'), [{ topic: 'farm/+/pump/+/telemetry', qos: 1 }])
    expect(await ids(topic)).toEqual(['ingest'])
    expect(await ids(topic)).toEqual(['ingest'])

    const other = 'farm/f1/pump/p2/telemetry' // not asked yet: no answer in memory
    const before = persistence.subscriptionsByTopic?.(other) // computed now, resolved later
    const adding = persistence.addSubscriptions?.(client('console'), [{ topic: 'farm/f1/#', qos: 1 }])
    await before
    await adding
    expect(await ids(other)).toEqual(['console', 'ingest'])
    expect(await ids(topic)).toEqual(['console', 'ingest'])

    await persistence.removeSubscriptions?.(client('console'), ['farm/f1/#'])
    expect(await ids(topic)).toEqual(['ingest'])
    await persistence.cleanSubscriptions?.(client('ingest'))
    expect(await ids(topic)).toEqual([])
    await persistence.destroy?.()
  })
})
