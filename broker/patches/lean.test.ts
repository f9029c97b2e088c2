import { Writable } from 'node:stream'
import { Aedes } from 'aedes'
import mqtt from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { closedAfterEach, fitsInstalled, connect as openWire, subscribe } from '../../test/helpers/aedes-wire.js'
import { compactWill, lean, leanCodec, slimSettings } from './lean.js'
import { fromAedes } from './patch.js'

const connect = {
  cmd: 'connect' as const,
  protocolId: 'MQTT',
  protocolVersion: 4 as const,
  clean: true,
  clientId: 'pump-1',
  keepalive: 60,
  username: 'pump-1',
  password: Buffer.from('secret'),
  will: { topic: 'farm/f/pump/pump-1/status', payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: true },
}
const publish = (id: number) => ({ cmd: 'publish' as const, topic: 'farm/f/pump/pump-1/telemetry', payload: Buffer.from(`{"n":${id}}`), qos: 1 as const, messageId: id, retain: false, dup: false })

/** The bytes writeToStream produces for these packets (it corks until the next tick). */
async function written(packets: object[]): Promise<Buffer> {
  const chunks: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk))
      cb()
    },
  })
  for (const p of packets) mqtt.writeToStream(p as mqtt.Packet, sink)
  await new Promise((resolve) => setImmediate(resolve))
  return Buffer.concat(chunks)
}

describe('leanCodec', () => {
  const packets = [connect, ...[1, 300, 65_535].map(publish)]
  const before = Buffer.concat(packets.map((p) => mqtt.generate(p as mqtt.Packet)))

  it('writes the same bytes without the number cache', async () => {
    leanCodec()
    expect((mqtt.writeToStream as unknown as { cacheNumbers: boolean }).cacheNumbers).toBe(false)
    expect((await written(packets)).equals(before)).toBe(true)
  })

  it('parses the same packets with a plain buffer list, whatever the chunking', () => {
    leanCodec()
    for (const size of [1, 2, 7, 64, before.length]) {
      const parser = mqtt.parser()
      const got: mqtt.Packet[] = []
      parser.on('packet', (p) => got.push(p))
      for (let at = 0; at < before.length; at += size) parser.parse(before.subarray(at, at + size))
      expect(got.map((p) => p.cmd)).toEqual(['connect', 'publish', 'publish', 'publish'])
      expect(got.slice(1).map((p) => (p as mqtt.IPublishPacket).messageId)).toEqual([1, 300, 65_535])
      expect((got[3] as mqtt.IPublishPacket).payload.toString()).toBe('{"n":65535}')
      // The list is no longer a stream (a Duplex per packet was the cost).
      expect(typeof (parser as unknown as { _list: { pipe?: unknown } })._list.pipe).toBe('undefined')
    }
  })
})

describe('compactWill', () => {
  it('gives the Will payload a copy of its own, so the CONNECT chunk (password included) is not kept', () => {
    const parser = mqtt.parser()
    const got: Array<{ will?: { payload: Buffer } }> = []
    parser.on('packet', (p) => got.push(p as { will?: { payload: Buffer } }))
    // An ArrayBuffer of its own, as a socket read hands over
    const chunk = Buffer.from(new Uint8Array(mqtt.generate(connect as mqtt.Packet)).buffer)
    parser.parse(chunk)
    const will = got[0]?.will
    if (!will) throw new Error('no will parsed')
    const client = { _will: will, will }
    expect(will.payload.buffer).toBe(chunk.buffer) // a view into the chunk before
    compactWill(client)
    expect(client.will.payload.toString()).toBe('{"online":false}')
    expect(client.will.payload.buffer).not.toBe(chunk.buffer)
    chunk.fill(0) // the chunk's bytes no longer matter
    expect(client.will.payload.toString()).toBe('{"online":false}')
    compactWill({ _will: null }) // no Will: nothing to do
  })
})

describe('slimSettings', () => {
  it('keeps only what the parser reads from the CONNECT', () => {
    const parser = mqtt.parser()
    parser.parse(mqtt.generate(connect as mqtt.Packet))
    const client = { _parser: parser }
    slimSettings(client)
    expect((parser as unknown as { settings: object }).settings).toEqual({ protocolVersion: 4 })
    // Later packets still parse against it.
    const got: mqtt.Packet[] = []
    parser.on('packet', (p) => got.push(p))
    parser.parse(mqtt.generate(publish(7) as mqtt.Packet))
    expect(got).toHaveLength(1)
  })
})

describe('lean on a real Aedes client', () => {
  const opened = closedAfterEach()

  it('fits the installed mqtt-packet', () => {
    expect(fitsInstalled(lean)).toEqual({ ok: true })
  })

  it("its parser keeps a plain buffer list and only the protocol version; Aedes' writer caches no numbers", async () => {
    lean.install()
    const b = opened(await Aedes.createBroker())
    b.on('connackSent', (_packet, client) => slimSettings(client)) // as hooks.ts
    const device = await openWire(b, 'pump-1', { username: 'pump-1', password: Buffer.from('secret') })
    await subscribe(device, ['farm/f/pump/pump-1/cmd'], 300) // a SUBACK with a packet id, through writeToStream
    const parser = (device.client as unknown as { _parser: { _list: { pipe?: unknown }; settings: object } })._parser
    expect(parser.settings).toEqual({ protocolVersion: 4 }) // the password is gone
    expect(typeof parser._list.pipe).toBe('undefined')
    expect((fromAedes('mqtt-packet') as { writeToStream: { cacheNumbers: boolean } }).writeToStream.cacheNumbers).toBe(false)
  })
})
