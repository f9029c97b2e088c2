import { createRequire } from 'node:module'
import { Aedes } from 'aedes'
import fc from 'fast-check'
import mqtt from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { PUBACK, PUBLISH, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { ORIGINAL_PARSE, fastParse } from './fast-parse.js'
import { strictParse } from './strict-parse.js'

// The parser Aedes loads, as fast-parse.ts patches it.
const fromAedes = createRequire(createRequire(import.meta.url).resolve('aedes'))
const Parser = fromAedes('mqtt-packet/parser') as {
  parser(opts?: object): mqtt.Parser
  prototype: { parse(buf: Buffer): number; [ORIGINAL_PARSE]?: (buf: Buffer) => number }
}
fastParse.install()
strictParse.install() // as the broker runs: the fast path must refuse what the strict parser refuses
const original = Parser.prototype[ORIGINAL_PARSE] as (buf: Buffer) => number

/** What a parser emits for these chunks: packets as plain data, and errors by message. */
function run(chunks: Buffer[], useOriginal: boolean): unknown[] {
  const parser = Parser.parser() as mqtt.Parser & { parse(buf: Buffer): number }
  const out: unknown[] = []
  parser.on('packet', (p) => {
    const payload = (p as { payload?: unknown }).payload
    out.push({ ...p, payload: Buffer.isBuffer(payload) ? payload.toString('hex') : payload })
  })
  parser.on('error', (e) => out.push(`error: ${e.message}`))
  for (const c of chunks) {
    if (useOriginal) original.call(parser, c)
    else parser.parse(c)
  }
  return out
}

const packet = fc.oneof(
  fc
    .record({
      topic: fc.oneof(fc.constant('farm/ranong-01/pump/p-1/telemetry'), fc.string({ maxLength: 40, unit: 'grapheme' })),
      payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      qos: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
      messageId: fc.integer({ min: 1, max: 65_535 }),
      retain: fc.boolean(),
      dup: fc.boolean(),
    })
    .map((r) => mqtt.generate({ cmd: 'publish', ...r })),
  fc.integer({ min: 1, max: 65_535 }).map((messageId) => mqtt.generate({ cmd: 'puback', messageId })),
  fc.constant(mqtt.generate({ cmd: 'pingreq' })),
  fc.integer({ min: 1, max: 65_535 }).map((messageId) => mqtt.generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic: 'farm/+/pump/+/cmd', qos: 1 }] })),
  // what the parser refuses or reads oddly: both must do the same
  fc.constantFrom(
    Buffer.from([0x36, 0x02, 0x00, 0x00]), // QoS 3
    Buffer.from([0x42, 0x02, 0x00, 0x01]), // PUBACK with flag bits
    Buffer.from([0x40, 0x03, 0x00, 0x01, 0x00]), // PUBACK, 3 bytes
    Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61]), // QoS 1 without room for a packet id
    Buffer.from([0x30, 0x02, 0x00, 0x05]), // topic longer than the packet
    Buffer.from([0x30, 0x00]), // empty PUBLISH
    Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), // remaining length of 5 bytes
    Buffer.from([0x30, 0x04, 0x00, 0x02, 0x61, 0xc3]), // topic of ill-formed UTF-8 [MQTT-1.5.3-1]
    Buffer.from([0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80]), // topic holding a surrogate
    Buffer.from([0x30, 0x04, 0x00, 0x02, 0x61, 0x00]), // topic holding U+0000 [MQTT-1.5.3-2]
    Buffer.from([0x30, 0x06, 0x00, 0x03, 0xef, 0xbf, 0xbd, 0x7b]), // U+FFFD well encoded: a topic like any
    Buffer.from([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00]), // packet id 0 [MQTT-2.3.1-1]
    Buffer.from([0x40, 0x02, 0x00, 0x00]), // PUBACK of packet id 0
  ),
)

describe('fast PUBLISH/PUBACK parsing', () => {
  it('emits what mqtt-packet emits, packet for packet, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 10 }), (packets, cuts) => {
        const stream = Buffer.concat(packets)
        const chunks: Buffer[] = []
        for (let at = 0, i = 0; at < stream.length; i++) {
          const size = cuts[i % cuts.length] as number
          chunks.push(stream.subarray(at, at + size))
          at += size
        }
        expect(run(chunks, false)).toEqual(run(chunks, true))
      }),
      { numRuns: 1_500 },
    )
  })

  it('a chunk parsed from inside a packet handler waits for the rest of the one before', () => {
    const parser = Parser.parser() as mqtt.Parser & { parse(buf: Buffer): number }
    const ids: number[] = []
    const first = Buffer.concat([1, 2, 3].map((messageId) => mqtt.generate({ cmd: 'puback', messageId })))
    const second = Buffer.concat([4, 5].map((messageId) => mqtt.generate({ cmd: 'puback', messageId })))
    parser.on('packet', (p) => {
      ids.push(p.messageId as number)
      if (p.messageId === 1) parser.parse(second) // as Aedes does when a handler completes at once
    })
    parser.parse(first)
    expect(ids).toEqual([1, 2, 3, 4, 5])
  })
})

describe('fast-parse on a real Aedes client', () => {
  const opened = closedAfterEach()

  it('fits the installed mqtt-packet', () => {
    expect(fitsInstalled(fastParse)).toEqual({ ok: true })
  })

  it("whole PUBLISH and PUBACK packets from a device skip the parser's state machine, and arrive as sent", async () => {
    const b = opened(await Aedes.createBroker())
    const proto = Parser.prototype as unknown as { _parseHeader(): boolean }
    const parseHeader = proto._parseHeader
    let headers = 0
    proto._parseHeader = function (this: unknown) {
      headers++
      return parseHeader.call(this)
    }
    try {
      const ingest = await connect(b, 'ingest')
      await subscribe(ingest, ['farm/+/pump/+/telemetry'])
      const device = await connect(b, 'pump-1')
      headers = 0
      device.send(Buffer.concat([1, 2, 3].map((messageId) => mqtt.generate({ cmd: 'publish', topic: 'farm/f1/pump/pump-1/telemetry', payload: Buffer.from(`{"seq":${messageId}}`), qos: 1, messageId, retain: false, dup: false }))))
      await device.waitFor(PUBACK, 3)
      const got = await ingest.waitFor(PUBLISH, 3)
      let acks = 0
      b.on('ack', () => acks++)
      ingest.send(Buffer.concat(got.map((p) => mqtt.generate({ cmd: 'puback', messageId: p.messageId as number }))))
      await waitFor(() => acks === 3, { message: "ingest's PUBACKs handled" })
      expect(got.map((p) => p.payload?.toString())).toEqual(['{"seq":1}', '{"seq":2}', '{"seq":3}'])
      expect(headers).toBe(0)
    } finally {
      proto._parseHeader = parseHeader
    }
  })
})
