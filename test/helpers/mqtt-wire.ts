/**
 * MQTT 3.1.1 on the wire for tests that speak it byte by byte: CONNECT, PUBLISH and SUBSCRIBE
 * encoded from any field values (the flags byte included, so malformed packets too), and a strict
 * reader of what a server sends. The reader is written from the specification, apart from the
 * code under test (ingest/frames.ts) and from mqtt-packet, whose parser lets malformed packets
 * through (ill-formed UTF-8, packet id 0, DUP on QoS 0, a CONNACK that is not 2 bytes...).
 */
import { isUtf8 } from 'node:buffer'
import { remainingLength } from '../../bench/lib/raw-mqtt.js'

/** A length-prefixed field [MQTT-1.5.3]; `declared` lies about the length (an oversized field). */
export function field(bytes: Buffer | string, declared?: number): Buffer {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
  const len = Buffer.alloc(2)
  len.writeUInt16BE(declared ?? Math.min(b.length, 65_535))
  return Buffer.concat([len, b])
}

export function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...remainingLength(body.length)]), body])
}

export interface RawConnect {
  protocolName?: string
  level?: number
  /** The connect flags byte as sent [MQTT-3.1.2-3..]; the fields below are written when present. */
  flags: number
  keepalive?: number
  clientId: Buffer | string
  /** A client id length prefix that claims more (or fewer) bytes than follow. */
  clientIdDeclared?: number
  will?: { topic: Buffer | string; payload: Buffer }
  username?: Buffer | string
  password?: Buffer | string
}

export const CONNECT_FLAGS = { clean: 0x02, will: 0x04, willQos: (q: number) => (q & 3) << 3, willRetain: 0x20, password: 0x40, username: 0x80 } as const

export function encodeConnect(c: RawConnect): Buffer {
  const parts = [field(c.protocolName ?? 'MQTT'), Buffer.from([c.level ?? 4, c.flags, (c.keepalive ?? 30) >> 8, (c.keepalive ?? 30) & 0xff]), field(c.clientId, c.clientIdDeclared)]
  if (c.will) parts.push(field(c.will.topic), field(c.will.payload))
  if (c.username !== undefined) parts.push(field(c.username))
  if (c.password !== undefined) parts.push(field(c.password))
  return packet(0x10, Buffer.concat(parts))
}

/** A Will-carrying, authenticated CONNECT with the flags a real client sets. */
export function connectWithWill(opts: { clientId: string; username: string; password: string; willTopic: string; willQos: number; keepalive?: number }): Buffer {
  const flags = CONNECT_FLAGS.clean | CONNECT_FLAGS.will | CONNECT_FLAGS.willQos(opts.willQos) | CONNECT_FLAGS.username | CONNECT_FLAGS.password
  return encodeConnect({ flags, clientId: opts.clientId, will: { topic: opts.willTopic, payload: Buffer.from('{"online":false,"ts":1,"boot":1,"fw":"x"}') }, username: opts.username, password: opts.password, ...(opts.keepalive ? { keepalive: opts.keepalive } : {}) })
}

/** `first` is the whole first byte (type 3 and flags, any of them). */
export function encodePublishRaw(first: number, topic: Buffer | string, messageId: number | undefined, payload: Buffer): Buffer {
  const id = messageId === undefined ? Buffer.alloc(0) : Buffer.from([messageId >> 8, messageId & 0xff])
  return packet(first, Buffer.concat([field(topic), id, payload]))
}

export function encodeSubscribeRaw(first: number, messageId: number, filters: Array<{ filter: Buffer | string; options: number }>): Buffer {
  return packet(first, Buffer.concat([Buffer.from([messageId >> 8, messageId & 0xff]), ...filters.map((f) => Buffer.concat([field(f.filter), Buffer.from([f.options])]))]))
}

/** One packet a server sent, as the strict reader understood it. */
export interface ServerPacket {
  type: number
  flags: number
  body: Buffer
  topic?: string
  qos?: number
  messageId?: number
  payload?: Buffer
  returnCode?: number
}

/** What MQTT 3.1.1 allows a server to send: every rule broken is a thrown Error with the clause. */
function validate(type: number, flags: number, body: Buffer): ServerPacket {
  const fail = (why: string): never => {
    throw new Error(`malformed packet from the server (type ${type}, flags ${flags}, ${body.length} bytes): ${why}`)
  }
  const id = (at: number) => {
    if (body.length < at + 2) fail('no packet id')
    const v = body.readUInt16BE(at)
    if (v === 0) fail('packet id 0 [MQTT-2.3.1-1]')
    return v
  }
  const flagsMustBe = (f: number) => flags === f || fail(`fixed header flags must be ${f} [MQTT-2.2.2-1]`)
  switch (type) {
    case 2: {
      flagsMustBe(0)
      if (body.length !== 2) fail('CONNACK is 2 bytes [MQTT-3.2]')
      const [ack = 0, rc = 0] = body
      if (ack > 1) fail('CONNACK flags 7-1 reserved [MQTT-3.2.2.1]')
      if (rc > 5) fail('CONNACK return code over 5 [MQTT-3.2.2.3]')
      if (rc !== 0 && ack !== 0) fail('session present with a refusal [MQTT-3.2.2-4]')
      return { type, flags, body, returnCode: rc }
    }
    case 3: {
      const qos = (flags >> 1) & 3
      if (qos === 3) fail('both QoS bits [MQTT-3.3.1-4]')
      if (qos === 0 && (flags & 8) !== 0) fail('DUP on QoS 0 [MQTT-3.3.1-2]')
      if (body.length < 2) fail('no topic')
      const topicEnd = 2 + body.readUInt16BE(0)
      if (topicEnd > body.length) fail('topic longer than the packet')
      const raw = body.subarray(2, topicEnd)
      if (!isUtf8(raw) || raw.includes(0)) fail('topic not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1, -2]')
      const topic = raw.toString('utf8')
      if (topic.length === 0) fail('empty topic [MQTT-4.7.3-1]')
      if (topic.includes('+') || topic.includes('#')) fail('wildcard in a topic name [MQTT-3.3.2-2]')
      const messageId = qos > 0 ? id(topicEnd) : undefined
      return { type, flags, body, topic, qos, ...(messageId === undefined ? {} : { messageId }), payload: body.subarray(topicEnd + (qos > 0 ? 2 : 0)) }
    }
    case 4:
    case 5:
    case 6:
    case 7:
    case 11:
      flagsMustBe(type === 6 ? 2 : 0)
      if (body.length !== 2) fail('acknowledgement is 2 bytes')
      return { type, flags, body, messageId: id(0) }
    case 9: {
      flagsMustBe(0)
      const messageId = id(0)
      if (body.length < 3) fail('SUBACK without return codes [MQTT-3.9.3]')
      for (const code of body.subarray(2)) if (![0, 1, 2, 0x80].includes(code)) fail(`SUBACK return code ${code} [MQTT-3.9.3-2]`)
      return { type, flags, body, messageId }
    }
    case 13:
      flagsMustBe(0)
      if (body.length !== 0) fail('PINGRESP has no body')
      return { type, flags, body }
    default:
      return fail('a packet type a server never sends')
  }
}

/** Splits a server's byte stream into validated packets; throws at the first malformed one. */
export class StrictReader {
  private rest = Buffer.alloc(0)
  readonly packets: ServerPacket[] = []

  push(chunk: Buffer): ServerPacket[] {
    let buf = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk
    const out: ServerPacket[] = []
    for (;;) {
      if (buf.length < 2) break
      let length = 0
      let at = 1
      for (let mul = 1; ; mul *= 128, at++) {
        if (at > 4) throw new Error('malformed packet from the server: remaining length over 4 bytes [MQTT-2.2.3]')
        if (at >= buf.length) break
        const b = buf[at] as number
        length += (b & 0x7f) * mul
        if ((b & 0x80) === 0) break
      }
      if (at >= buf.length || buf.length < at + 1 + length) break
      const first = buf[0] as number
      const p = validate(first >> 4, first & 0x0f, buf.subarray(at + 1, at + 1 + length))
      out.push(p)
      this.packets.push(p)
      buf = buf.subarray(at + 1 + length)
    }
    this.rest = Buffer.from(buf)
    return out
  }
}
