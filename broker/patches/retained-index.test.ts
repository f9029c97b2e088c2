import { Readable } from 'node:stream'
import { Aedes } from 'aedes'
import { describe, expect, it } from 'vitest'
import { PUBLISH, closeBroker, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { type LevelStore, openLevelStore } from '../../test/helpers/level-store.js'
import { type RetainedPacket, type RetainedStore, indexRetained, retainedIndex } from './retained-index.js'

const packet = (topic: string, payload: string): RetainedPacket => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true })

/** A store that scans everything, as aedes-persistence-level does, and counts its scans. */
function fakeStore(initial: RetainedPacket[]) {
  const stored = new Map(initial.map((p) => [p.topic, p]))
  const calls = { scans: 0, combi: [] as string[][] }
  const store: RetainedStore = {
    setup: async () => undefined,
    storeRetained: async (p) => {
      if (p.payload.length === 0) stored.delete(p.topic)
      else stored.set(p.topic, p)
    },
    createRetainedStream: () => {
      calls.scans++
      return Readable.from([...stored.values()])
    },
    createRetainedStreamCombi: (patterns) => {
      calls.combi.push(patterns)
      return Readable.from([...stored.values()].filter((p) => patterns.includes(p.topic) || patterns.includes('#')))
    },
  }
  return { store, stored, calls }
}

const topics = async (r: Readable) => (await r.toArray()).map((p: RetainedPacket) => `${p.topic}=${p.payload.toString()}`)

describe('retained index', () => {
  it('answers exact topics from memory, loaded once at setup and kept current', async () => {
    const { store, stored, calls } = fakeStore([packet('a/status', 'on'), packet('b/status', 'off')])
    const index = indexRetained(store)
    await store.setup({})
    expect(calls.scans).toBe(1)
    expect(index.size()).toBe(2)
    expect(await topics(store.createRetainedStreamCombi(['a/status', 'x/none']))).toEqual(['a/status=on'])
    await store.storeRetained(packet('a/status', 'off'))
    await store.storeRetained(packet('c/status', 'on'))
    await store.storeRetained(packet('b/status', '')) // [MQTT-3.3.1-10] empty payload clears
    expect(await topics(store.createRetainedStreamCombi(['a/status', 'b/status', 'c/status']))).toEqual(['a/status=off', 'c/status=on'])
    expect(calls.combi).toEqual([]) // never reached the store's scan
    expect([...stored.keys()].sort()).toEqual(['a/status', 'c/status']) // the store is still written
  })

  it('passes filters with wildcards to the store', async () => {
    const { store, calls } = fakeStore([packet('a/status', 'on')])
    indexRetained(store)
    await store.setup({})
    expect(await topics(store.createRetainedStreamCombi(['#']))).toEqual(['a/status=on'])
    expect(calls.combi).toEqual([['#']])
  })
})

describe('retained index on real Aedes and aedes-persistence-level', () => {
  const opened = closedAfterEach()

  /** Aedes on `l` with the index installed (as persistence.ts does); the store's own scans are recorded. */
  async function indexedBroker(l: LevelStore) {
    const scans: string[][] = []
    const store = l.persistence as unknown as RetainedStore
    const combi = store.createRetainedStreamCombi.bind(store)
    store.createRetainedStreamCombi = (patterns) => {
      scans.push(patterns)
      return combi(patterns)
    }
    retainedIndex.install(store)
    return { b: opened(await Aedes.createBroker({ persistence: l.persistence as never })), scans }
  }
  const STATUS = 'farm/f1/pump/p1/status'

  it('fits the installed aedes-persistence-level', () => {
    expect(fitsInstalled(retainedIndex)).toEqual({ ok: true })
  })

  /** A device subscribing its own status gets the retained one without a scan; the console's filter scans. */
  async function expectServedFromMemory(run: Awaited<ReturnType<typeof indexedBroker>>) {
    const device = await connect(run.b, 'viewer')
    await subscribe(device, [STATUS])
    const [retained] = await device.waitFor(PUBLISH)
    expect(retained?.payload?.toString()).toBe('online')
    expect(run.scans).toEqual([])
    const console = await connect(run.b, 'console')
    await subscribe(console, ['farm/+/pump/+/status'])
    await console.waitFor(PUBLISH)
    expect(run.scans).toEqual([['farm/+/pump/+/status']])
  }

  it('an exact topic gets its retained message from memory, before and after a restart; a filter still reads the store', async () => {
    const level = opened(await openLevelStore())
    const first = await indexedBroker(level)
    await new Promise((resolve) => first.b.publish({ cmd: 'publish', topic: STATUS, payload: Buffer.from('online'), qos: 1, retain: true, dup: false }, resolve))
    await expectServedFromMemory(first)
    await closeBroker(first.b)
    await expectServedFromMemory(await indexedBroker(opened(await level.reopen())))
  })
})
