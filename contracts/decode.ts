/**
 * Turns one raw MQTT message into a typed, validated payload, or a reason. Pure and total:
 * untrusted input never throws past this function.
 */
import type { z } from 'zod'
import { CHANNEL_SPECS } from './registry.js'
import { type TopicAddress, parseTopic } from './topics.js'
import { fastCheckFor } from './validator.js'

/** Default maximum payload size, bytes (the broker enforces the same default). */
export const MAX_PAYLOAD_BYTES = 64 * 1024

/** Stable codes for rejected messages: metric labels and dead-letter keys. */
export type RejectCode = 'bad_topic' | 'too_large' | 'bad_json' | 'invalid'

export type Decoded =
  | { ok: true; at: TopicAddress; payload: Record<string, unknown> }
  | { ok: false; code: RejectCode; reason: string; at?: TopicAddress }

export interface DecodeOptions {
  maxBytes?: number
}

// Parsed topics, one per device and channel: the parse costs more than the lookup. Only good
// topics are kept, and the map starts over past its bound, so garbage cannot grow it.
const addresses = new Map<string, TopicAddress>()
const MAX_ADDRESSES = 100_000

/**
 * parseTopic, remembered. The address is shared by every message on the topic, so it is frozen.
 */
export function addressOf(topic: string): TopicAddress | { ok: false; reason: string } {
  const known = addresses.get(topic)
  if (known) return known
  const parsed = parseTopic(topic)
  if (!parsed.ok) return parsed
  const { ok: _ok, ...fields } = parsed
  const at: TopicAddress = Object.freeze(fields)
  if (addresses.size >= MAX_ADDRESSES) addresses.clear()
  addresses.set(topic, at)
  return at
}

export function decodeMessage(topic: string, raw: Uint8Array, opts: DecodeOptions = {}): Decoded {
  const at = addressOf(topic)
  if ('ok' in at) return { ok: false, code: 'bad_topic', reason: at.reason }
  const maxBytes = opts.maxBytes ?? MAX_PAYLOAD_BYTES
  if (raw.byteLength > maxBytes) {
    return { ok: false, code: 'too_large', reason: `payload is ${raw.byteLength} bytes, limit ${maxBytes}`, at }
  }
  let json: unknown
  try {
    json = JSON.parse(Buffer.isBuffer(raw) ? raw.toString() : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString())
  } catch (err) {
    return { ok: false, code: 'bad_json', reason: `malformed JSON: ${(err as Error).message}`, at }
  }
  const schema = CHANNEL_SPECS[at.channel].schemaFor(at.kind)
  // The compiled check takes what it can vouch for; zod decides (and words the reason) for the rest.
  const fast = fastCheckFor(schema)?.(json)
  if (fast) return { ok: true, at, payload: fast }
  const result = schema.safeParse(json)
  if (!result.success) return { ok: false, code: 'invalid', reason: describeIssues(result.error), at }
  return { ok: true, at, payload: result.data as Record<string, unknown> }
}

/** One line naming every bad field: `flow_lpm: Too small: expected number to be >=0; ts: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(payload)'}: ${issue.message}`)
    .join('; ')
}
