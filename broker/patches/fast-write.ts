/**
 * PUBLISH and PUBACK, the packets a broker sends most, written as one Buffer each.
 *
 * Aedes writes every packet through mqtt-packet's `writeToStream`, which makes one `stream.write`
 * per field (six for a PUBLISH), each a trip through the Writable machinery and an entry in the
 * corked buffer, and then schedules its own uncork. Here a PUBLISH (MQTT 3.1.1, as Aedes 1.x
 * writes it: no options, no properties) or a PUBACK is encoded into one Buffer and written once;
 * the socket stays corked until the end of the event-loop turn (coalesceWrites in listeners.ts),
 * so all the packets of a turn still leave in one system call. Anything else goes to mqtt-packet.
 */
import type * as MqttPacket from 'mqtt-packet'
import { definePatch, fn, fromAedes, problems } from './patch.js'

// The mqtt-packet Aedes itself loads: a second copy would be patched in vain.
const mqttPacket = fromAedes('mqtt-packet') as typeof MqttPacket

export type Stream = Parameters<typeof mqttPacket.writeToStream>[1]
export type Opts = Parameters<typeof mqttPacket.writeToStream>[2]
export type WriteToStream = (packet: MqttPacket.Packet, stream: Stream, opts?: Opts) => boolean

/** Bigger payloads are written as their own chunk instead of being copied. */
const COPY_LIMIT = 16 * 1024
let original: WriteToStream | undefined
/** Decides before anything is written; true: the packet is taken care of (durable-ack.ts). */
let intercept: ((packet: MqttPacket.Packet, stream: Stream, opts: Opts) => boolean) | undefined

function remainingLengthBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4
}

/** A 3.1.1 PUBLISH as one Buffer (plus the payload when large), or undefined for anything unusual. */
function encodePublish(p: MqttPacket.IPublishPacket): Buffer[] | undefined {
  const topic = p.topic as string | Buffer
  const payload = p.payload as string | Buffer | undefined
  if (p.properties !== undefined || (typeof topic !== 'string' && !Buffer.isBuffer(topic))) return undefined
  // [MQTT-3.3.1-4] never both QoS bits: a message stored with QoS 3 before CONNECT was checked
  // (connect-check.ts: a Will) goes out as QoS 1, which the subscriber acknowledges and Aedes then
  // forgets; [MQTT-3.3.1-2] never DUP on QoS 0.
  const qos = p.qos > 2 ? 1 : (p.qos ?? 0)
  const dup = qos > 0 && p.dup === true
  if (qos > 0 && typeof p.messageId !== 'number') return undefined
  const topicLen = typeof topic === 'string' ? Buffer.byteLength(topic) : topic.length
  const body = payload === undefined ? undefined : typeof payload === 'string' ? Buffer.from(payload) : payload
  const payloadLen = body?.length ?? 0
  const remaining = 2 + topicLen + (qos > 0 ? 2 : 0) + payloadLen
  if (topicLen === 0 || topicLen > 65_535 || remaining > 268_435_455) return undefined
  const copy = payloadLen <= COPY_LIMIT
  const headLen = 1 + remainingLengthBytes(remaining) + remaining - payloadLen
  const buf = Buffer.allocUnsafe(copy ? headLen + payloadLen : headLen)
  buf[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0)
  let o = 1
  let n = remaining
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    buf[o++] = byte
  } while (n > 0)
  buf[o++] = topicLen >> 8
  buf[o++] = topicLen & 0xff
  o += typeof topic === 'string' ? buf.write(topic, o, 'utf8') : topic.copy(buf, o)
  if (qos > 0) {
    const id = p.messageId as number
    buf[o++] = id >> 8
    buf[o++] = id & 0xff
  }
  if (!body || payloadLen === 0) return [buf]
  if (copy) {
    body.copy(buf, o)
    return [buf]
  }
  return [buf, body]
}

/** The bytes of a PUBLISH or PUBACK as mqtt-packet would write them, or undefined: mqtt-packet writes it. */
export function encode(packet: MqttPacket.Packet, opts?: Opts): Buffer[] | undefined {
  if ((opts as { protocolVersion?: number } | undefined)?.protocolVersion === 5) return undefined
  if (packet.cmd === 'publish') return encodePublish(packet)
  if (packet.cmd === 'puback' && typeof packet.messageId === 'number' && packet.messageId > 0 && packet.messageId <= 65_535) {
    const buf = Buffer.allocUnsafe(4)
    buf[0] = 0x40
    buf[1] = 2
    buf[2] = packet.messageId >> 8
    buf[3] = packet.messageId & 0xff
    return [buf]
  }
  return undefined
}

/** Writes one packet: encoded here when it is a plain PUBLISH or PUBACK, else by mqtt-packet. */
export function writePacket(packet: MqttPacket.Packet, stream: Stream, opts?: Opts): boolean {
  const chunks = encode(packet, opts)
  if (!chunks) return (original as WriteToStream)(packet, stream, opts)
  const ok = stream.write(chunks[0] as Buffer)
  return chunks.length === 1 ? ok : stream.write(chunks[1] as Buffer)
}

/**
 * Patches mqtt-packet's writeToStream once per process. `hold` (optional, set once) may keep a
 * packet back; it is later written with writePacket.
 */
export function installFastWrite(hold?: (packet: MqttPacket.Packet, stream: Stream, opts: Opts) => boolean): void {
  if (hold) intercept = hold
  if (original) return
  original = mqttPacket.writeToStream.bind(mqttPacket) as WriteToStream
  const patched: WriteToStream = (packet, stream, opts) => (intercept?.(packet, stream, opts) ? true : writePacket(packet, stream, opts))
  mqttPacket.writeToStream = Object.assign(patched, { cacheNumbers: mqttPacket.writeToStream.cacheNumbers }) as typeof mqttPacket.writeToStream
}

export const fastWrite = definePatch({
  name: 'fast-write',
  package: 'mqtt-packet',
  versions: ['9.0.2'],
  clause: '[MQTT-3.3.1-4] never both QoS bits, [MQTT-3.3.1-2] never DUP on QoS 0, whatever is stored; and speed: one write per packet',
  // Aedes 1.2 writes through the module's writeToStream (lib/write.js): pinned with aedes.
  check: ({ mqttPacket }) => problems(fn('mqtt-packet', mqttPacket, 'writeToStream', 3)),
  install: installFastWrite,
})
