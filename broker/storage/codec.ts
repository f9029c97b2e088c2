/**
 * How broker/storage/ writes a packet to LevelDB: ours, so the layout is documented (README.md)
 * and does not depend on another package's encoder. One buffer:
 *
 *   byte 0   format (1)
 *   byte 1   flags: 1 = the payload is a string (Aedes accepts both)
 *   2..5     length of the header, uint32 LE
 *   header   JSON of every field but `payload` and `length` (the wire length, stale once stored)
 *   rest     the payload bytes
 *
 * A payload is never inside the JSON (no base64, no escaping): a reading costs one copy.
 * Buffers inside the header (MQTT 5 correlation data) come back as Buffers.
 */
const FORMAT = 1
const STRING_PAYLOAD = 1
const HEAD = 6

export type Fields = Record<string, unknown>

const revive = (_key: string, value: unknown) => {
  const v = value as { type?: unknown; data?: unknown } | null
  return v !== null && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data as number[]) : value
}

export function encodePacket(packet: Fields): Buffer {
  const { payload, length: _wireLength, ...fields } = packet
  const header = Buffer.from(JSON.stringify(fields))
  const isString = typeof payload === 'string'
  const body = isString ? Buffer.from(payload) : Buffer.isBuffer(payload) || payload instanceof Uint8Array ? payload : Buffer.alloc(0)
  const out = Buffer.allocUnsafe(HEAD + header.length + body.length)
  out[0] = FORMAT
  out[1] = isString ? STRING_PAYLOAD : 0
  out.writeUInt32LE(header.length, 2)
  header.copy(out, HEAD)
  out.set(body, HEAD + header.length)
  return out
}

export class CorruptValue extends Error {
  override name = 'CorruptValue'
  readonly code = 'BROKER_STORAGE_CORRUPT'
}

export function decodePacket(bytes: Uint8Array): Fields {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < HEAD || buf[0] !== FORMAT) throw new CorruptValue(`a stored packet of format ${buf[0]}, not ${FORMAT}`)
  const end = HEAD + buf.readUInt32LE(2)
  if (end > buf.length) throw new CorruptValue('a stored packet shorter than its header says')
  const text = buf.toString('utf8', HEAD, end)
  const fields = JSON.parse(text, text.includes('"Buffer"') ? revive : undefined) as Fields
  const body = buf.subarray(end)
  fields.payload = buf[1] === STRING_PAYLOAD ? body.toString() : body
  return fields
}

/** A subscription record or anything else small: JSON. */
export const encodeJson = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))
export const decodeJson = <T>(bytes: Uint8Array): T => JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString()) as T
