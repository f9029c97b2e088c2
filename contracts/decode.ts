/**
 * Turns one raw MQTT message into a typed, validated payload, or a reason. Pure and total:
 * untrusted input never throws past this function.
 */
import type { z } from 'zod'
import { CHANNEL_SPECS } from './registry.js'
import { type TopicAddress, parseTopic } from './topics.js'

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

export function decodeMessage(topic: string, raw: Uint8Array, opts: DecodeOptions = {}): Decoded {
  const parsed = parseTopic(topic)
  if (!parsed.ok) return { ok: false, code: 'bad_topic', reason: parsed.reason }
  const { ok: _ok, ...at } = parsed
  const maxBytes = opts.maxBytes ?? MAX_PAYLOAD_BYTES
  if (raw.byteLength > maxBytes) {
    return { ok: false, code: 'too_large', reason: `payload is ${raw.byteLength} bytes, limit ${maxBytes}`, at }
  }
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'))
  } catch (err) {
    return { ok: false, code: 'bad_json', reason: `malformed JSON: ${(err as Error).message}`, at }
  }
  const schema = CHANNEL_SPECS[at.channel].schemaFor(at.kind)
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
