import { Aedes, type Client } from 'aedes'
import { describe, expect, it } from 'vitest'
import { PUBLISH, SUBACK, clientOf, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { openLevelStore } from '../../test/helpers/level-store.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { type PatchableStore, storePatches } from './store-patches.js'

const opened = closedAfterEach()

const GRANTED = 'farm/f1/#'

/**
 * Aedes on LevelDB with the patch installed as hooks.ts does (the policy grants GRANTED only),
 * and a count of the calls that reach the store underneath it.
 */
async function patchedBroker() {
  const store = opened(await openLevelStore())
  const persistence = store.persistence as unknown as PatchableStore & { cleanIncoming: (c: Client) => Promise<unknown> }
  const calls = { clearOnPuback: 0, cleanIncoming: 0 }
  const clear = persistence.outgoingClearMessageId.bind(persistence)
  persistence.outgoingClearMessageId = (client, packet) => {
    if (packet.cmd === 'puback') calls.clearOnPuback++
    return clear(client, packet)
  }
  const cleanIncoming = persistence.cleanIncoming.bind(persistence)
  persistence.cleanIncoming = (client) => {
    calls.cleanIncoming++
    return cleanIncoming(client)
  }
  const b = opened(await Aedes.createBroker({ persistence: persistence as never }))
  b.authorizeSubscribe = (_client, sub, done) => done(null, sub.topic === GRANTED ? sub : null)
  const { sentQos2 } = storePatches.install(persistence, (_client, filter) => filter === GRANTED)
  b.authorizePublish = (client, packet, done) => {
    if (client && packet.qos === 2) sentQos2.add(client) // as hooks.ts
    done(null)
  }
  return { b, calls, store }
}

describe('store-patches on real Aedes and aedes-persistence-level', () => {
  it('fits the installed aedes', () => {
    expect(fitsInstalled(storePatches)).toEqual({ ok: true })
  })

  it('a persistent session stores only the filters it was granted [MQTT-3.9.3]', async () => {
    const { b, store } = await patchedBroker()
    const console = await connect(b, 'console', { clean: false })
    console.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: GRANTED, qos: 1 }, { topic: 'farm/f2/#', qos: 1 }] })
    const [suback] = await console.waitFor(SUBACK)
    expect([...(suback?.body.subarray(2) ?? [])]).toEqual([1, 0x80])
    expect((await store.persistence.subscriptionsByClient({ id: 'console' })).map((s) => s.topic)).toEqual([GRANTED])
  })

  it("a clean session's PUBACK is not looked up in the store", async () => {
    const { b, calls } = await patchedBroker()
    const viewer = await connect(b, 'viewer')
    await subscribe(viewer, [GRANTED])
    b.publish({ cmd: 'publish', topic: 'farm/f1/pump/p1/telemetry', payload: Buffer.from('{}'), qos: 1, retain: false, dup: false }, () => undefined)
    const [delivery] = await viewer.waitFor(PUBLISH)
    let acked = false
    b.once('ack', () => (acked = true))
    viewer.send({ cmd: 'puback', messageId: delivery?.messageId as number })
    await waitFor(() => acked, { message: 'Aedes handling the PUBACK' })
    expect(calls.clearOnPuback).toBe(0)
  })

  it("a clean session's inbound QoS 2 store is wiped at CONNECT, and at close only if it published QoS 2", async () => {
    const { b, calls } = await patchedBroker()
    const quiet = await connect(b, 'quiet')
    expect(calls.cleanIncoming).toBe(1) // at CONNECT: an earlier session's leftovers
    quiet.destroy()
    await waitFor(() => !clientOf(b, 'quiet'), { message: 'quiet gone' })
    expect(calls.cleanIncoming).toBe(1)
    const qos2 = await connect(b, 'qos2')
    qos2.send({ cmd: 'publish', topic: 'farm/f1/pump/p1/event', payload: Buffer.from('{}'), qos: 2, messageId: 5, retain: false, dup: false })
    await qos2.waitFor(5) // PUBREC
    qos2.destroy()
    await waitFor(() => calls.cleanIncoming === 3, { message: () => `the wipe at close (calls: ${calls.cleanIncoming})` })
  })
})
