import { Aedes } from 'aedes'
import { describe, expect, it } from 'vitest'
import { PUBACK, PUBLISH, clientOf, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { type LevelStore, openLevelStore } from '../../test/helpers/level-store.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import type { OutgoingQueue } from '../storage/queue.js'
import { durableAck } from './durable-ack.js'
import { fastWrite } from './fast-write.js'

const opened = closedAfterEach()

/** Aedes on the broker's LevelDB persistence (its write-behind queue) and this patch, installed as broker/index.ts does. */
async function durableBroker(flushMs: number): Promise<{ b: Aedes; queue: OutgoingQueue; store: LevelStore }> {
  const store = opened(await openLevelStore({ flushMs, holdMs: 60_000 }))
  const queue = store.persistence.queue
  const b = opened(await Aedes.createBroker({ persistence: store.persistence as never }))
  fastWrite.install()
  durableAck.install(b, queue)
  queue.knowConnected((id) => clientOf(b, id)?.connected === true)
  return { b, queue, store }
}

const reading = (messageId: number) =>
  ({ cmd: 'publish', topic: 'farm/f1/pump/p1/telemetry', payload: Buffer.from(`{"seq":${messageId}}`), qos: 1, messageId, retain: false, dup: false }) as const

describe('durable-ack on real Aedes and the broker persistence [MQTT-4.3.2-2]', () => {
  it('fits the installed aedes', () => {
    expect(fitsInstalled(durableAck)).toEqual({ ok: true })
  })

  it('with the subscriber away, a PUBACK leaves only once its message is on disk', async () => {
    const { b, queue, store } = await durableBroker(100)
    const ingest = await connect(b, 'ingest', { clean: false })
    await subscribe(ingest, ['farm/+/pump/+/telemetry'])
    ingest.destroy()
    await waitFor(() => !clientOf(b, 'ingest'), { message: 'ingest gone' })
    const device = await connect(b, 'p1')
    const writtenAtPuback: number[] = []
    device.onPacket((p) => {
      if (p.type === PUBACK) writtenAtPuback.push(queue.counts().written)
    })
    device.send(reading(1), reading(2))
    await device.waitFor(PUBACK, 2)
    // Each PUBACK leaves once its own message is written (in one batch or two, as the flush
    // timer falls): the n-th acknowledgement sees at least n messages on disk.
    expect(writtenAtPuback).toHaveLength(2)
    writtenAtPuback.forEach((written, i) => expect(written).toBeGreaterThanOrEqual(i + 1))
    expect(await store.keys('q:')).toHaveLength(2)
  })

  it('with the subscriber connected, a PUBACK waits for its acknowledgement, and PUBACKs keep the PUBLISH order [MQTT-4.6.0-2]', async () => {
    const { b, queue } = await durableBroker(100)
    const ingest = await connect(b, 'ingest', { clean: false })
    await subscribe(ingest, ['farm/+/pump/+/telemetry'])
    const device = await connect(b, 'p1')
    device.send(reading(1), reading(2), reading(3))
    const deliveries = await ingest.waitFor(PUBLISH, 3)
    expect(device.packets.filter((p) => p.type === PUBACK)).toEqual([]) // Aedes alone: all three by now
    for (const d of [...deliveries].reverse()) ingest.send({ cmd: 'puback', messageId: d.messageId as number })
    const acks = await device.waitFor(PUBACK, 3)
    expect(acks.map((p) => p.messageId)).toEqual([1, 2, 3])
    expect(queue.counts()).toEqual({ written: 0, skipped: 3 }) // acknowledged in memory, never on disk
  })
})
