/**
 * Where each packet the broker sends ends, and whether ingest can take it: a pure reader over the
 * received bytes. A packet that is malformed or not one a subscriber is sent is reported with its
 * reason and its end, so the stream goes on with the next one (one bad message from one device
 * must not stop everyone's readings, issue 13). Only a fixed header that gives no end (a remaining
 * length over four bytes, [MQTT-2.2.3]) loses the stream; even then a PUBLISH's packet id is read
 * where it would be, so it can be acknowledged and is not redelivered forever.
 *
 * No object per PUBLISH: the reader fills `out` and returns the kind.
 */
import { wellFormedUtf8 } from '../runtime/mqtt-rules.js'

export type FrameKind = 'incomplete' | 'publish' | 'control' | 'malformed' | 'unframeable'

export interface Frame {
  /** First byte after the packet ('publish', 'control', 'malformed'). */
  end: number
  type: number
  /** Why the packet is refused ('malformed', 'unframeable'): a fixed text, a metric label. */
  reason: string
  topic: string
  payloadStart: number
  qos: number
  /** The packet id, when the packet has one and it could be read; else 0 (never a valid id). */
  messageId: number
}

export const newFrame = (): Frame => ({ end: 0, type: 0, reason: '', topic: '', payloadStart: 0, qos: 0, messageId: 0 })

/** All a subscriber is sent besides PUBLISH: CONNACK, SUBACK, PINGRESP. */
const EXPECTED_CONTROL = new Set([2, 9, 13])

const malformed = (out: Frame, reason: string): FrameKind => {
  out.reason = reason
  return 'malformed'
}

/** The packet that starts at `i`. */
export function readFrame(buf: Buffer, i: number, out: Frame): FrameKind {
  out.reason = ''
  out.topic = ''
  out.messageId = 0
  out.qos = 0
  const first = buf[i] as number
  out.type = first >> 4
  let length = 0
  let mul = 1
  let j = i + 1
  for (;; j++) {
    if (j >= buf.length) return 'incomplete'
    const b = buf[j] as number
    length += (b & 0x7f) * mul
    if ((b & 0x80) === 0) break
    if (j - i === 4) return unframeable(buf, first, j + 1, out) // a fifth length byte [MQTT-2.2.3]
    mul *= 128
  }
  const start = j + 1
  out.end = start + length
  if (out.end > buf.length) return 'incomplete'
  if (out.type === 3) return publish(buf, first, start, out.end, out)
  if (!EXPECTED_CONTROL.has(out.type)) return malformed(out, `unexpected packet type ${out.type}`)
  return 'control'
}

/** A PUBLISH body [MQTT-3.3]: topic, packet id when QoS > 0, payload. */
function publish(buf: Buffer, first: number, start: number, end: number, out: Frame): FrameKind {
  const qos = (first >> 1) & 3
  out.qos = qos
  if (start + 2 > end) return malformed(out, 'truncated topic')
  const topicEnd = start + 2 + buf.readUInt16BE(start)
  if (topicEnd > end) return malformed(out, 'truncated topic')
  out.topic = buf.toString('utf8', start + 2, topicEnd)
  // QoS 3: its sender took it for QoS > 0, so it numbered it and waits for the acknowledgement.
  const numbered = qos !== 0
  out.payloadStart = numbered ? topicEnd + 2 : topicEnd
  if (out.payloadStart > end) return malformed(out, 'no packet id')
  if (numbered) out.messageId = buf.readUInt16BE(topicEnd)
  if (qos === 3) return malformed(out, 'QoS 3') // [MQTT-3.3.1-4]
  if (numbered && out.messageId === 0) return malformed(out, 'packet id 0') // [MQTT-2.3.1-1]
  if (qos === 0 && (first & 0x08) !== 0) return malformed(out, 'DUP on QoS 0') // [MQTT-3.3.1-2]
  if (!wellFormedUtf8(out.topic, buf, start + 2, topicEnd)) return malformed(out, 'topic not well-formed UTF-8') // [MQTT-1.5.3-1, -2]
  return 'publish'
}

/**
 * The length gives no end. A PUBLISH's topic and packet id are read as if the length had ended at
 * its first byte without the continuation bit, when that is within the bytes received.
 */
function unframeable(buf: Buffer, first: number, from: number, out: Frame): FrameKind {
  out.reason = 'remaining length over 4 bytes'
  if (out.type !== 3) return 'unframeable'
  let at = from
  while (at < buf.length && at - from < 4 && ((buf[at] as number) & 0x80) !== 0) at++
  const start = at + 1
  if (start + 2 > buf.length) return 'unframeable'
  const topicEnd = start + 2 + buf.readUInt16BE(start)
  const qos = (first >> 1) & 3
  if (topicEnd + (qos === 0 ? 0 : 2) > buf.length) return 'unframeable'
  out.topic = buf.toString('utf8', start + 2, topicEnd)
  out.qos = qos
  if (qos !== 0) out.messageId = buf.readUInt16BE(topicEnd)
  return 'unframeable'
}
