import { Readable } from 'node:stream'
import { Aedes, type Client } from 'aedes'
import { describe, expect, it } from 'vitest'
import { PUBLISH, clientOf, closeBroker, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { type LevelStore, openLevelStore } from '../../test/helpers/level-store.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { type IndexedStore, type KeySource, clientOfKey, indexSessions, sessionIndex } from './session-index.js'

const opened = closedAfterEach()

/**
 * Aedes on LevelDB with the index installed as broker/persistence.ts does, and a count of the
 * wipes that reach aedes-persistence-level underneath.
 */
async function indexedBroker(level: LevelStore) {
  type Wipe = (c: Client) => Promise<unknown>
  const inner = level.persistence.asyncPersistence as unknown as { cleanSubscriptions: Wipe; cleanIncoming: Wipe; delWill: Wipe; outgoingStream: (c: Client) => unknown }
  const wipes = { subscriptions: 0, incoming: 0, wills: 0, queueReads: 0 }
  const cleanSubscriptions = inner.cleanSubscriptions.bind(inner)
  inner.cleanSubscriptions = (c) => (wipes.subscriptions++, cleanSubscriptions(c))
  const cleanIncoming = inner.cleanIncoming.bind(inner)
  inner.cleanIncoming = (c) => (wipes.incoming++, cleanIncoming(c))
  const delWill = inner.delWill.bind(inner)
  inner.delWill = (c) => (wipes.wills++, delWill(c))
  const outgoingStream = inner.outgoingStream.bind(inner)
  inner.outgoingStream = (c) => (wipes.queueReads++, outgoingStream(c))
  const index = sessionIndex.install(level.persistence as unknown as IndexedStore, level.db as unknown as KeySource, (err) => {
    throw err
  })
  await index.ready
  const b = opened(await Aedes.createBroker({ persistence: level.persistence as never }))
  return { b, wipes, index }
}

const publish = (b: Aedes, topic: string) =>
  new Promise<void>((resolve) => b.publish({ cmd: 'publish', topic, payload: Buffer.from('{}'), qos: 1, retain: false, dup: false }, () => resolve()))

describe('session-index on real Aedes and aedes-persistence-level', () => {
  it('fits the installed aedes-persistence-level', () => {
    expect(fitsInstalled(sessionIndex)).toEqual({ ok: true })
  })

  it('a clean CONNECT of a client with nothing stored does no disk work', async () => {
    const { b, wipes, index } = await indexedBroker(opened(await openLevelStore()))
    for (let i = 0; i < 5; i++) {
      const device = await connect(b, `pump-${i}`)
      device.destroy()
    }
    expect(wipes).toEqual({ subscriptions: 0, incoming: 0, wills: 0, queueReads: 0 })
    expect(index.skipped()).toBeGreaterThanOrEqual(20)
  })

  it("a clean CONNECT still drops what an earlier process left on disk: subscriptions and inbound QoS 2 [MQTT-3.1.2-6]", async () => {
    const level = opened(await openLevelStore())
    const first = await indexedBroker(level)
    const old = await connect(first.b, 'console', { clean: false })
    await subscribe(old, ['farm/f1/#'])
    old.send({ cmd: 'publish', topic: 'farm/f1/pump/p1/event', payload: Buffer.from('{}'), qos: 2, messageId: 9, retain: false, dup: false })
    await old.waitFor(5) // PUBREC: the packet is stored
    old.destroy()
    await waitFor(() => !clientOf(first.b, 'console'), { message: 'console gone' })
    await closeBroker(first.b)
    expect(await level.keys('subscriptions:console:')).toHaveLength(1)
    expect(await level.keys('incoming:console:')).toHaveLength(1)

    // A new process: the index learns from the disk that `console` has a session to drop.
    const again = opened(await level.reopen())
    const second = await indexedBroker(again)
    // Its own QoS 2 publish matched its filter: a delivery queued for a persistent session.
    expect(second.index.sizes()).toEqual({ subscriptions: 1, incoming: 1, wills: 0, queues: 1 })
    const fresh = await connect(second.b, 'console', { clean: true })
    await waitFor(async () => (await again.keys('subscriptions:console:')).length === 0, { message: 'old subscription wiped' })
    expect(await again.keys('incoming:console:')).toEqual([])
    await publish(second.b, 'farm/f1/pump/p1/telemetry')
    await new Promise((r) => setTimeout(r, 50))
    expect(fresh.packets.filter((p) => p.type === PUBLISH)).toEqual([]) // the dropped session's filter delivers nothing
    expect(second.wipes).toMatchObject({ subscriptions: 1, incoming: 1, wills: 0 })
    expect(second.index.sizes()).toEqual({ subscriptions: 0, incoming: 0, wills: 0, queues: 1 }) // a queue's entry stays
  })

  it('a Will an earlier process left is deleted at CONNECT, a device with none costs no read, and a Will still goes once published [MQTT-3.1.2-8]', async () => {
    const level = opened(await openLevelStore())
    const will = { cmd: 'publish', topic: 'farm/f1/pump/pump-9/status', payload: Buffer.from('{"online":false}'), qos: 1, retain: true }
    await (level.persistence.putWill as (c: { id: string }, p: object) => Promise<void>)({ id: 'pump-9' }, will)
    const { b, wipes, index } = await indexedBroker(level)
    expect(index.sizes().wills).toBe(1)
    const willOf = (id: string) => ({ will: { ...will, topic: `farm/f1/pump/${id}/status`, qos: 1 as const } })
    const fresh = await connect(b, 'pump-1', willOf('pump-1'))
    expect(wipes.wills).toBe(0) // nothing stored for pump-1: its old Will is not looked up
    await waitFor(async () => (await level.keys('will:pump-1')).length === 1, { message: "pump-1's Will stored" })
    await connect(b, 'pump-9', willOf('pump-9'))
    expect(wipes.wills).toBe(1) // the Will left on disk is looked up and replaced
    fresh.destroy() // gone without DISCONNECT: the Will is published, then deleted
    await waitFor(async () => (await level.keys('will:pump-1')).length === 0, { message: "pump-1's Will deleted after it was published" })
    expect(wipes.wills).toBe(2)
  })

  it("a persistent session's queue left by an earlier process is still delivered at reconnect; others read no queue [MQTT-4.4.0-1]", async () => {
    const level = opened(await openLevelStore())
    const first = await indexedBroker(level)
    const away = await connect(first.b, 'ingest', { clean: false })
    await subscribe(away, ['farm/+/pump/+/telemetry'])
    away.destroy()
    await waitFor(() => !clientOf(first.b, 'ingest'), { message: 'ingest gone' })
    for (let seq = 1; seq <= 3; seq++) await publish(first.b, `farm/f1/pump/p${seq}/telemetry`)
    expect(first.index.sizes().queues).toBe(1)
    await closeBroker(first.b) // queue-store is not installed here: each message is on disk already
    const again = opened(await level.reopen())
    const second = await indexedBroker(again)
    expect(second.index.sizes().queues).toBe(1)
    await connect(second.b, 'pump-1')
    expect(second.wipes.queueReads).toBe(0)
    const back = await connect(second.b, 'ingest', { clean: false })
    const got = await back.waitFor(PUBLISH, 3)
    expect(got.map((p) => p.topic)).toEqual([1, 2, 3].map((n) => `farm/f1/pump/p${n}/telemetry`))
    expect(second.wipes.queueReads).toBe(1)
  })

  it('a clean session that subscribes is wiped when it reconnects, and is then skipped', async () => {
    const { b, wipes } = await indexedBroker(opened(await openLevelStore()))
    const viewer = await connect(b, 'viewer')
    await subscribe(viewer, ['farm/f1/#'])
    viewer.destroy()
    await waitFor(() => !clientOf(b, 'viewer'), { message: 'viewer gone' })
    const before = wipes.subscriptions // Aedes wipes a clean session at close too
    const back = await connect(b, 'viewer')
    await publish(b, 'farm/f1/pump/p1/telemetry')
    await new Promise((r) => setTimeout(r, 50))
    expect(back.packets.filter((p) => p.type === PUBLISH)).toEqual([])
    back.destroy()
    await waitFor(() => !clientOf(b, 'viewer'), { message: 'viewer gone again' })
    await connect(b, 'viewer')
    expect(wipes.subscriptions - before).toBeLessThanOrEqual(1)
  })
})

describe('the index stays a superset of the disk', () => {
  /** A store whose wipes finish when the test says. */
  function slowStore() {
    const calls: string[] = []
    let finish = () => undefined as void
    const store: IndexedStore = {
      addSubscriptions: async (c) => void calls.push(`add ${c.id}`),
      cleanSubscriptions: (c) => {
        calls.push(`wipe ${c.id}`)
        return new Promise((resolve) => (finish = () => resolve(undefined)))
      },
      incomingStorePacket: async (c) => void calls.push(`store ${c.id}`),
      cleanIncoming: async (c) => void calls.push(`wipe-in ${c.id}`),
      putWill: async (c) => void calls.push(`will ${c.id}`),
      delWill: async (c) => void calls.push(`del-will ${c.id}`),
      outgoingEnqueue: async (sub) => void calls.push(`enqueue ${sub.clientId}`),
      outgoingEnqueueCombi: async (subs) => void calls.push(`enqueue ${subs.map((s) => s.clientId).join(',')}`),
      outgoingStream: () => Readable.from([]),
    }
    const none: KeySource = { keys: async function* () {} }
    return { store, calls, none, finish: () => finish() }
  }
  const client = (id: string) => ({ id }) as Client

  it('a subscription stored while a wipe runs keeps the client indexed', async () => {
    const s = slowStore()
    const index = indexSessions(s.store, s.none, (err) => {
      throw err
    })
    await index.ready
    await s.store.addSubscriptions(client('a'), [{ topic: 'x' }])
    const wiping = s.store.cleanSubscriptions(client('a'))
    await s.store.addSubscriptions(client('a'), [{ topic: 'y' }]) // lands after the wipe read the list
    s.finish()
    await wiping
    const again = s.store.cleanSubscriptions(client('a'))
    s.finish()
    await again
    expect(s.calls.filter((c) => c === 'wipe a')).toHaveLength(2) // the second wipe was not skipped
  })

  it('before the keys on disk are read, no wipe is skipped', async () => {
    const s = slowStore()
    let release = () => undefined as void
    const read = new Promise<void>((r) => (release = r))
    const slowKeys: KeySource = {
      keys: async function* (range) {
        await read
        if (range.gte === 'subscriptions:') yield 'subscriptions:a:x'
      },
    }
    const index = indexSessions(s.store, slowKeys, (err) => {
      throw err
    })
    await s.store.cleanIncoming?.(client('b'))
    expect(s.calls).toEqual(['wipe-in b'])
    release()
    await index.ready
    await s.store.cleanIncoming?.(client('b'))
    expect(s.calls).toEqual(['wipe-in b'])
    expect(index.sizes()).toEqual({ subscriptions: 1, incoming: 0, wills: 0, queues: 0 })
  })

  it('reads client ids from keys as aedes-persistence-level encodes them', () => {
    expect(clientOfKey('subscriptions:', `subscriptions:${encodeURIComponent('farm/a:b')}:farm/+/cmd`)).toBe('farm/a:b')
    expect(clientOfKey('incoming:', 'incoming:p%E0%B8%811:0000000000000007')).toBe('pก1')
    expect(clientOfKey('incoming:', 'incoming:%E0%A4:1')).toBeUndefined() // not decodable: ignored, never a throw
    expect(clientOfKey('incoming:', 'subscriptions:a:x')).toBeUndefined()
    expect(clientOfKey('will:', `will:${encodeURIComponent('pump:1/ก')}`)).toBe('pump:1/ก')
  })
})
