/**
 * Memory trims for Aedes' MQTT codec (mqtt-packet 9), measured on heap snapshots of the broker
 * with 10,000 idle devices (issue 3: under 250 MB RSS). Each keeps the codec's behaviour:
 * - writeToStream caches a 2-byte Buffer for every 16-bit number (65,536 Buffers, ~7 MB of heap)
 *   the first time it writes one. Off: each packet id and length gets a small Buffer from the pool.
 * - The parser starts every packet with a fresh BufferListStream, a full Duplex stream (two stream
 *   states, bound callbacks) of which it only uses the buffer list: a plain BufferList does the
 *   same, for ~0.5 KB less per connection and less work per packet received.
 * - The parser keeps the CONNECT packet (password included) as its settings for the whole
 *   connection, and reads only `protocolVersion` and `bridgeMode` from it: slimSettings keeps those.
 * - The Will's payload is a slice of the socket chunk the CONNECT came in: compactWill copies it.
 */
import { createRequire } from 'node:module'
import { detachedCopy } from '../../runtime/buffers.js'
import { construct, definePatch, fn, fromAedes, problems, prop } from './patch.js'

interface ParserInternals {
  packet: unknown
  error: unknown
  _list: unknown
  _stateCounter: number
  settings?: { protocolVersion?: number; bridgeMode?: boolean }
}

let installed = false

/** Patches the mqtt-packet that Aedes loads (the same module instance: one copy in node_modules). */
export function leanCodec(): void {
  if (installed) return
  installed = true
  const writeToStream = fromAedes('mqtt-packet').writeToStream as { cacheNumbers: boolean }
  writeToStream.cacheNumbers = false
  const Parser = fromAedes('mqtt-packet/parser') as { prototype: ParserInternals & { _resetState(): void } }
  const Packet = fromAedes('mqtt-packet/packet') as new () => unknown
  const BufferList = createRequire(fromAedes.resolve('mqtt-packet/parser'))('bl').BufferList as new () => unknown
  Parser.prototype._resetState = function (this: ParserInternals) {
    this.packet = new Packet()
    this.error = null
    this._list = new BufferList()
    this._stateCounter = 0
  }
}

/** Call once the CONNECT is handled: the parser then only needs the protocol version. */
export function slimSettings(client: unknown): void {
  const parser = (client as { _parser?: ParserInternals })._parser
  const s = parser?.settings
  if (!parser || !s) return
  parser.settings = s.bridgeMode ? { protocolVersion: s.protocolVersion, bridgeMode: true } : { protocolVersion: s.protocolVersion }
}

/**
 * Call once the CONNECT is handled: the Will's payload is a view into the socket chunk that
 * carried the CONNECT (the password too), and kept that whole chunk alive for the connection,
 * ~0.5 KB a device (bench/idle.ts heap snapshots, issue 20). A copy of its own lets it go (not
 * from the shared pool, whose slab one long-lived slice would keep: runtime/buffers.ts).
 */
export function compactWill(client: unknown): void {
  const will = (client as { _will?: { payload?: unknown } | null })._will
  const payload = will?.payload
  if (!Buffer.isBuffer(payload) || payload.byteLength === payload.buffer.byteLength) return
  ;(will as { payload: Buffer }).payload = detachedCopy(payload)
}

/** What the parser calls on its buffer list (mqtt-packet 9 parser.js). */
const LIST_METHODS = ['append', 'consume', 'readUInt8', 'readUInt16BE', 'readUInt32BE', 'slice', 'toString'] as const

export const lean = definePatch({
  name: 'lean',
  package: 'mqtt-packet',
  versions: ['9.0.2'],
  clause: 'none: memory (issue 3, 10,000 idle devices under 250 MB); the bytes written and the packets parsed stay the same',
  check({ mqttPacket, Parser, parser, Packet, BufferList, client }) {
    const list = construct(BufferList)
    const clientParser = (client as { _parser?: unknown })._parser
    return problems(
      fn('mqtt-packet', mqttPacket, 'writeToStream', 3),
      prop('mqtt-packet.writeToStream', (mqttPacket as { writeToStream?: unknown }).writeToStream, 'cacheNumbers', 'boolean'),
      fn('Parser.prototype', Parser.prototype, '_resetState', 0),
      ...(['packet', 'error', '_list', '_stateCounter', 'settings'] as const).map((name) => (name in parser ? undefined : `a parser has no ${name}`)),
      construct(Packet) ? undefined : 'mqtt-packet/packet is not a class',
      list ? undefined : "bl's BufferList (the one mqtt-packet's parser loads) is not a class",
      ...LIST_METHODS.map((name) => fn('BufferList', list, name)),
      prop('a BufferList', list, 'length', 'number'),
      // slimSettings reaches the parser through Aedes' client
      clientParser instanceof (Parser as unknown as new () => object) ? prop("an Aedes client's _parser", clientParser, 'settings', 'object') : "an Aedes client's _parser is not mqtt-packet's Parser",
    )
  },
  install: leanCodec,
})
