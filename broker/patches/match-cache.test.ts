import { createRequire } from 'node:module'
import { Aedes } from 'aedes'
import { describe, expect, it } from 'vitest'
import { PUBLISH, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { cacheTrie, matchCache, matcherOf } from './match-cache.js'

const require = createRequire(import.meta.url)
// The trie mqemitter uses, from Aedes' own dependency tree.
const fromEmitter = createRequire(createRequire(require.resolve('aedes')).resolve('mqemitter'))
const { Qlobber } = fromEmitter('qlobber') as { Qlobber: new (o: object) => { add(t: string, v: unknown): void; remove(t: string, v?: unknown): void; match(t: string): unknown[] } }

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

describe("match-cache on real Aedes' own emitter", () => {
  const opened = closedAfterEach()

  it('fits the installed mqemitter', () => {
    expect(fitsInstalled(matchCache)).toEqual({ ok: true })
  })

  it('a topic is matched once until a subscription changes, and a new subscriber gets the next message', async () => {
    const b = opened(await Aedes.createBroker())
    const topic = 'farm/f1/pump/p1/telemetry'
    const trie = matcherOf(b) as { match(topic: string, ...rest: unknown[]): unknown }
    let walks = 0
    const match = trie.match.bind(trie)
    trie.match = (t, ...rest) => {
      if (t === topic) walks++
      return match(t, ...rest)
    }
    matchCache.install(b)
    const ingest = await connect(b, 'ingest')
    await subscribe(ingest, ['farm/+/pump/+/telemetry'])
    const publish = (n: number) => new Promise((resolve) => b.publish({ cmd: 'publish', topic, payload: Buffer.from(String(n)), qos: 0, retain: false, dup: false }, resolve))
    for (let n = 1; n <= 5; n++) await publish(n)
    await ingest.waitFor(PUBLISH, 5)
    expect(walks).toBe(1)
    const console = await connect(b, 'console')
    await subscribe(console, ['farm/f1/#'])
    await publish(6)
    await waitFor(() => console.packets.some((p) => p.payload?.toString() === '6'), { message: 'the new subscriber getting message 6' })
    expect(walks).toBe(2)
  })
})
