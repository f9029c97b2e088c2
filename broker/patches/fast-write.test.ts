import { Aedes } from 'aedes'
import fc from 'fast-check'
import mqtt from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { CONNACK, PUBACK, PUBLISH, attach, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { StrictReader, connectWithWill } from '../../test/helpers/mqtt-wire.js'
import { encode, fastWrite } from './fast-write.js'

const bytes = (p: object) => {
  const chunks = encode(p as mqtt.Packet)
  return chunks ? Buffer.concat(chunks) : undefined
}

describe('fast-write encoding', () => {
  it('writes PUBLISH and PUBACK byte for byte as mqtt-packet does', () => {
    fc.assert(
      fc.property(
        fc.record({
          topic: fc.oneof(fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), fc.constant('farm/ranong-01/pump/p-1/telemetry')),
          payload: fc.oneof(fc.uint8Array({ maxLength: 20_000 }).map((a) => Buffer.from(a)), fc.string({ maxLength: 200 })),
          qos: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>,
          messageId: fc.integer({ min: 1, max: 65_535 }),
          retain: fc.boolean(),
          dup: fc.boolean(),
        }),
        (r) => {
          const p = { cmd: 'publish' as const, ...r }
          // the one difference: no DUP on QoS 0 [MQTT-3.3.1-2], which mqtt-packet would write
          expect(bytes(p)?.equals(mqtt.generate({ ...p, dup: p.qos > 0 && p.dup }))).toBe(true)
        },
      ),
      { numRuns: 500 },
    )
    for (const id of [1, 255, 256, 65_535]) expect(bytes({ cmd: 'puback', messageId: id })?.equals(mqtt.generate({ cmd: 'puback', messageId: id }))).toBe(true)
  })

  it('never writes both QoS bits or DUP on QoS 0, whatever a stored message holds', () => {
    const stored = { cmd: 'publish', topic: 'farm/f/pump/p/status', payload: Buffer.from('{}'), retain: true }
    // a Will of QoS 3 accepted before CONNECT was checked, queued for a persistent session
    expect(bytes({ ...stored, qos: 3, messageId: 7, dup: false })?.equals(mqtt.generate({ ...stored, cmd: 'publish', qos: 1, messageId: 7, dup: false }))).toBe(true)
    expect(bytes({ ...stored, qos: 0, dup: true })?.[0]).toBe(0x31)
  })

  it('remaining lengths at the varint boundaries', () => {
    for (const size of [0, 1, 90, 91, 92, 16_000, 16_383 - 37, 16_384 - 37, 200_000]) {
      const p = { cmd: 'publish' as const, topic: 'farm/f/pump/p/telemetry', payload: Buffer.alloc(size, 7), qos: 1 as const, messageId: 9, retain: false, dup: false }
      expect(bytes(p)?.equals(mqtt.generate(p))).toBe(true)
    }
  })

  it("takes Aedes' own packets, and leaves everything else to mqtt-packet", async () => {
    const broker = await Aedes.createBroker()
    try {
      const { default: Packet } = (await import('aedes-packet')) as unknown as { default: new (p: object, b: unknown) => mqtt.IPublishPacket }
      const p = new Packet({ cmd: 'publish', topic: 'farm/f/pump/p/telemetry', payload: Buffer.from('{"a":1}'), qos: 1, retain: false }, broker)
      p.messageId = 42
      expect(bytes(p)?.equals(mqtt.generate(p))).toBe(true)
    } finally {
      await new Promise<void>((r) => broker.close(() => r()))
    }
    expect(encode({ cmd: 'pingresp' })).toBeUndefined()
    expect(encode({ cmd: 'publish', topic: 't', payload: Buffer.alloc(1), qos: 1, dup: false, retain: false } as mqtt.Packet)).toBeUndefined() // no packet id
    expect(encode({ cmd: 'publish', topic: 't', payload: Buffer.alloc(1), qos: 0, dup: false, retain: false, properties: { contentType: 'x' } } as mqtt.Packet)).toBeUndefined()
    expect(encode({ cmd: 'puback', messageId: 1 }, { protocolVersion: 5 })).toBeUndefined()
  })
})

describe('fast-write on real Aedes', () => {
  const opened = closedAfterEach()

  it('fits the installed mqtt-packet', () => {
    expect(fitsInstalled(fastWrite)).toEqual({ ok: true })
  })

  it('every PUBLISH and PUBACK Aedes writes is one write() of the whole packet', async () => {
    fastWrite.install()
    const b = opened(await Aedes.createBroker())
    const ingest = await connect(b, 'ingest')
    await subscribe(ingest, ['farm/+/pump/+/telemetry'])
    const device = await connect(b, 'pump-1')
    const [ingestBefore, deviceBefore] = [ingest.writes.length, device.writes.length]
    for (let messageId = 1; messageId <= 3; messageId++) {
      device.send({ cmd: 'publish', topic: 'farm/f1/pump/pump-1/telemetry', payload: Buffer.alloc(100 * messageId, 7), qos: 1, messageId, retain: false, dup: false })
    }
    await device.waitFor(PUBACK, 3)
    await ingest.waitFor(PUBLISH, 3)
    // Each write holds exactly one whole packet: 3 writes for 3 packets on each side.
    const packetsPerWrite = (writes: Buffer[]) => writes.map((w) => new StrictReader().push(w).map((p) => p.type))
    expect(packetsPerWrite(device.writes.slice(deviceBefore))).toEqual([[PUBACK], [PUBACK], [PUBACK]])
    expect(packetsPerWrite(ingest.writes.slice(ingestBefore))).toEqual([[PUBLISH], [PUBLISH], [PUBLISH]])
  })

  it('a Will of QoS 3 (accepted by the parser) reaches a wildcard subscriber as QoS 1 [MQTT-3.3.1-4]', async () => {
    fastWrite.install()
    const b = opened(await Aedes.createBroker())
    const watcher = await connect(b, 'watcher')
    await subscribe(watcher, ['farm/+/pump/+/status'])
    const device = attach(b)
    device.send(connectWithWill({ clientId: 'pump-1', username: 'pump-1', password: 'x', willTopic: 'farm/f1/pump/pump-1/status', willQos: 3 }))
    await device.waitFor(CONNACK)
    device.destroy()
    const [will] = await watcher.waitFor(PUBLISH)
    expect(watcher.malformed).toEqual([])
    expect(will?.qos).toBe(1)
  })
})
