/**
 * A shortcut through mqtt-packet's parser for the packets a broker receives most: whole MQTT
 * 3.1.1 PUBLISH and PUBACK packets at the start of a chunk read from the socket.
 *
 * The parser runs every packet through a buffer list and a four-state machine (about a dozen
 * calls and as many debug() checks, the topic copied out of the list, the list consumed). Here,
 * while the list is empty, each complete PUBLISH or PUBACK at the front of the chunk becomes the
 * same Packet the parser would have emitted (fields set in the parser's order; the payload a view
 * of the chunk, as the parser's own slice of a single buffer is). Anything else (another type, a
 * packet cut by the chunk's end, flags, a topic or a packet id the parser would refuse
 * (strict-parse.ts), MQTT 5) goes to the parser untouched, with what is left of the chunk.
 * fast-parse.test.ts compares both on random streams.
 */
import { wellFormedUtf8 } from '../../runtime/mqtt-rules.js'
import { construct, definePatch, fn, fromAedes, problems, prop } from './patch.js'

interface PacketFields {
  cmd: string | null
  retain: boolean
  qos: number
  dup: boolean
  length: number
  topic: string | null
  payload: Buffer | null
  messageId?: number
}

interface ParserInternals {
  packet: PacketFields
  error: unknown
  _list: { length: number }
  _stateCounter: number
  settings?: { protocolVersion?: number }
  /** Set while a chunk is being parsed here; chunks that arrive meanwhile wait in _later. */
  _busy?: boolean
  _later?: Buffer[]
  emit(event: 'packet', packet: PacketFields): boolean
  parse(buf: Buffer): number
}

/** The parser's own parse, kept on the prototype: patched once per process, whoever loads this. */
export const ORIGINAL_PARSE = Symbol.for('suanyang.mqttParserParse')

/**
 * Emits the complete PUBLISH/PUBACK packets at the front of `buf`; returns where the first byte
 * it did not take is (buf.length when it took everything).
 */
export function takeFast(parser: ParserInternals, buf: Buffer, Packet: new () => PacketFields): number {
  let o = 0
  const end = buf.length
  while (o + 2 <= end) {
    const first = buf[o] as number
    const type = first >> 4
    if (type !== 3 && type !== 4) break
    // remaining length: 1 to 4 bytes [MQTT-2.2.3]; anything odd is the parser's to refuse
    let length = 0
    let multiplier = 1
    let at = o + 1
    let byte = 0x80
    while ((byte & 0x80) !== 0 && at < end && at - o <= 4) {
      byte = buf[at++] as number
      length += (byte & 0x7f) * multiplier
      multiplier *= 128
    }
    if ((byte & 0x80) !== 0 || at + length > end) break
    if (type === 4) {
      const messageId = ((buf[at] as number) << 8) | (buf[at + 1] as number)
      if (first !== 0x40 || length !== 2 || messageId === 0) break
      const packet = new Packet()
      packet.cmd = 'puback'
      packet.length = 2
      packet.messageId = messageId
      o = at + 2
      parser.emit('packet', packet)
      continue
    }
    const qos = (first >> 1) & 3
    if (qos > 2 || length < 2) break
    const topicLength = ((buf[at] as number) << 8) | (buf[at + 1] as number)
    let p = at + 2 + topicLength
    const packetEnd = at + length
    if (p > packetEnd || (qos > 0 && p + 2 > packetEnd)) break
    const topic = buf.toString('utf8', at + 2, p)
    const messageId = qos > 0 ? ((buf[p] as number) << 8) | (buf[p + 1] as number) : undefined
    if (messageId === 0 || !wellFormedUtf8(topic, buf, at + 2, p)) break
    const packet = new Packet()
    packet.cmd = 'publish'
    packet.retain = (first & 1) !== 0
    packet.qos = qos
    packet.dup = (first & 8) !== 0
    packet.length = length
    packet.topic = topic
    if (messageId !== undefined) {
      packet.messageId = messageId
      p += 2
    }
    packet.payload = buf.subarray(p, packetEnd)
    o = packetEnd
    parser.emit('packet', packet)
  }
  return o
}

/** Patches the parser Aedes loads (the same module instance as lean.ts patches). */
function installFastParse(): void {
  const Parser = fromAedes('mqtt-packet/parser') as { prototype: ParserInternals & { [ORIGINAL_PARSE]?: ParserInternals['parse'] } }
  const Packet = fromAedes('mqtt-packet/packet') as new () => PacketFields
  if (Parser.prototype[ORIGINAL_PARSE]) return
  const parse = Parser.prototype.parse
  Parser.prototype[ORIGINAL_PARSE] = parse
  const one = (parser: ParserInternals, buf: Buffer) => {
    if (parser.error || parser._list.length !== 0 || parser._stateCounter !== 0 || parser.packet.length !== -1 || parser.settings?.protocolVersion === 5) {
      parse.call(parser, buf)
      return
    }
    const taken = takeFast(parser, buf, Packet)
    if (taken < buf.length) parse.call(parser, taken === 0 ? buf : buf.subarray(taken))
  }
  Parser.prototype.parse = function (this: ParserInternals, buf: Buffer): number {
    // A packet handler that finishes at once makes Aedes read and parse the next chunk from
    // inside emit(): that chunk must wait for the rest of this one, or packets would be reordered.
    if (this._busy) {
      ;(this._later ??= []).push(buf)
      return this._list.length
    }
    this._busy = true
    try {
      one(this, buf)
      for (let next = this._later?.shift(); next !== undefined; next = this._later?.shift()) one(this, next)
    } finally {
      this._busy = false
    }
    return this._list.length
  }
}

/** The fields a Packet starts with, which takeFast sets in the parser's order. */
const PACKET_FIELDS = ['cmd', 'retain', 'qos', 'dup', 'length', 'topic', 'payload'] as const

export const fastParse = definePatch({
  name: 'fast-parse',
  package: 'mqtt-packet',
  versions: ['9.0.2'],
  clause: 'none: speed (the largest single gain in bench/README.md); emits what the parser emits, proven on random streams',
  check({ Parser, parser, Packet }) {
    const packet = construct(Packet)
    const state = parser as Record<string, unknown>
    return problems(
      fn('Parser.prototype', Parser.prototype, 'parse', 1),
      fn('Parser.prototype', Parser.prototype, 'emit'),
      prop('a parser', parser, '_stateCounter', 'number'),
      prop('a parser', parser, 'settings', 'object'),
      prop("a parser's _list", state._list, 'length', 'number'),
      'error' in parser ? undefined : 'a parser has no error',
      prop("a parser's packet", state.packet, 'length', 'number'),
      (state.packet as { length?: unknown } | undefined)?.length === -1 ? undefined : "a parser's packet does not start with length -1",
      ...PACKET_FIELDS.map((name) => (packet && name in packet ? undefined : `a Packet has no ${name}`)),
    )
  },
  install: installFastParse,
})
