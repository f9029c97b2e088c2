import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { type RetainedPacket, type RetainedStore, indexRetained } from './retained-index.js'

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
