/**
 * Pure: the bytes the simulated pumps send. A QoS 1 PUBLISH encoded by hand (a few bytes, one
 * Buffer per packet) and the reading, with everything but the varying fields serialized once:
 * the load generator must cost far less than what it measures.
 */
import { validPump } from '../../contracts/fixtures.js'
import { remainingLength } from './raw-mqtt.js'

/** A QoS 1 PUBLISH, [MQTT-3.3], the topic pre-encoded. */
export function encodePublishQos1(topic: Buffer, payload: string, messageId: number): Buffer {
  const body = Buffer.byteLength(payload)
  const rest = 2 + topic.length + 2 + body
  const header = remainingLength(rest)
  const buf = Buffer.allocUnsafe(1 + header.length + rest)
  let i = 0
  buf[i++] = 0x32
  for (const b of header) buf[i++] = b
  buf.writeUInt16BE(topic.length, i)
  i += 2
  topic.copy(buf, i)
  i += topic.length
  buf.writeUInt16BE(messageId, i)
  i += 2
  buf.write(payload, i, 'utf8')
  return buf
}

// Everything but the four varying fields, serialized once: the generator must stay cheap.
const { ts: _ts, seq: _seq, boot: _boot, flow_lpm: _flow, ...constantFields } = validPump
const PAYLOAD_TAIL = JSON.stringify(constantFields).slice(1)

export function pumpPayload(ts: number, seq: number, boot: number): string {
  return `{"ts":${ts},"seq":${seq},"boot":${boot},"flow_lpm":${(seq % 500) / 10},${PAYLOAD_TAIL}`
}
