/**
 * What MQTT 3.1.1 requires of its strings, topic names and topic filters, as pure checks. The
 * broker applies them to the CONNECT (broker/connect-check.ts), every PUBLISH and SUBSCRIBE
 * (broker/hooks.ts) and the bytes its parser decodes (broker/patches/strict-parse.ts, fast-parse.ts);
 * ingest to what the broker sends it (ingest/frames.ts).
 */
import { isUtf8 } from 'node:buffer'

export type Decision = { ok: true } | { ok: false; reason: string }

const ok: Decision = { ok: true }

/**
 * [MQTT-1.5.3-1] well-formed UTF-8 (no surrogates, no overlong forms) and [MQTT-1.5.3-2] no
 * U+0000, for `bytes[start, end)`. `decoded` is those bytes as Buffer#toString('utf8') decodes
 * them: an ill-formed sequence always decodes to U+FFFD, so only a string holding one needs its
 * bytes looked at (no copy, no allocation on the hot path).
 */
export function wellFormedUtf8(decoded: string, bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  if (decoded.includes('\u0000')) return false
  return !decoded.includes('\uFFFD') || isUtf8(bytes.subarray(start, end))
}

/** A string field as decoded from a packet (client id, username, topic). */
export function checkString(s: string): Decision {
  // [MQTT-1.5.3-2] A decoded string never holds a lone surrogate (the decoder replaces it), so
  // U+0000 is what is left to refuse once the bytes were well-formed.
  return s.includes('\u0000') ? { ok: false, reason: 'string holds U+0000' } : ok
}

/** A topic name: what a PUBLISH (or a Will) is sent to. */
export function checkTopicName(topic: string): Decision {
  if (topic.length === 0) return { ok: false, reason: 'empty topic' } // [MQTT-4.7.3-1]
  if (topic.includes('+') || topic.includes('#')) return { ok: false, reason: 'wildcard in topic name' } // [MQTT-3.3.2-2]
  return checkString(topic)
}

/** A topic filter: what a SUBSCRIBE asks for. */
export function checkTopicFilter(filter: string): Decision {
  if (filter.length === 0) return { ok: false, reason: 'empty topic filter' } // [MQTT-4.7.3-1]
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string
    // [MQTT-4.7.1-2] '#' alone in the last level; [MQTT-4.7.1-3] '+' alone in its level
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return { ok: false, reason: "'#' not alone in the last level" }
    if (level.includes('+') && level !== '+') return { ok: false, reason: "'+' not alone in its level" }
  }
  return checkString(filter)
}

/** Whether a topic name matches a filter [MQTT-4.7.1]; a leading wildcard never matches a '$' topic [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  if ((filter.startsWith('+') || filter.startsWith('#')) && topic.startsWith('$')) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true // the parent level too: 'a/#' matches 'a' [MQTT-4.7.1-2]
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false
  }
  return f.length === t.length
}
