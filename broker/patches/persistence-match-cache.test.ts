import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import { Level } from 'level'
import { afterEach, describe, expect, it } from 'vitest'
import { PUBLISH, clientOf, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { openLevelStore } from '../../test/helpers/level-store.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { cacheSubscriptionsByTopic, persistenceMatchCache } from './persistence-match-cache.js'

const require = createRequire(import.meta.url)

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
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

describe('persistence-match-cache on real Aedes and aedes-persistence-level', () => {
  const opened = closedAfterEach()

  it('fits the installed aedes-persistence-level', () => {
    expect(fitsInstalled(persistenceMatchCache)).toEqual({ ok: true })
  })

  it('the persistent sessions a topic reaches are looked up once until one subscribes, and the new one gets its copy', async () => {
    const level = opened(await openLevelStore())
    const store = level.persistence.asyncPersistence as unknown as { subscriptionsByTopic(topic: string): Promise<unknown[]> }
    const topic = 'farm/f1/pump/p1/telemetry'
    let walks = 0
    const byTopic = store.subscriptionsByTopic.bind(store)
    store.subscriptionsByTopic = (t) => {
      if (t === topic) walks++
      return byTopic(t)
    }
    const b = opened(await Aedes.createBroker({ persistence: level.persistence as never }))
    persistenceMatchCache.install(level.persistence as never) // after createBroker, as broker/index.ts does
    const ingest = await connect(b, 'ingest', { clean: false })
    await subscribe(ingest, ['farm/+/pump/+/telemetry'])
    const publish = (n: number) => new Promise((resolve) => b.publish({ cmd: 'publish', topic, payload: Buffer.from(String(n)), qos: 1, retain: false, dup: false }, resolve))
    for (let n = 1; n <= 5; n++) await publish(n)
    expect(walks).toBe(1)
    const away = await connect(b, 'console', { clean: false })
    await subscribe(away, ['farm/f1/#'])
    away.destroy()
    await waitFor(() => !clientOf(b, 'console'), { message: 'console gone' })
    await publish(6)
    expect(walks).toBe(2)
    const back = await connect(b, 'console', { clean: false })
    const [queued] = await back.waitFor(PUBLISH)
    expect(queued?.payload?.toString()).toBe('6')
    await ingest.waitFor(PUBLISH, 6)
  })
})
