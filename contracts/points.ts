/**
 * Payload to InfluxDB point (DESIGN.md "Storage contract"): measurement = kind for telemetry,
 * tags `farm` and `device`, every numeric field a float (never an integer: no type conflicts),
 * `state` and `fault` strings, time = the device's `ts` in ms so a redelivery overwrites itself.
 */
import type { Channel } from './names.js'
import { CHANNEL_SPECS } from './registry.js'
import type { TopicAddress } from './topics.js'

export type FieldValue = number | string | boolean

export interface Point {
  measurement: string
  tags: Record<string, string>
  fields: Record<string, FieldValue>
  timeMs: number
}

/** Measurements written besides the three telemetry kinds. */
export const MEASUREMENTS = {
  status: 'device_status',
  event: 'device_event',
  alert: 'alert',
  maintenance: 'maintenance',
} as const

/** A pump with no fault stores this string, so `last(fault)` never shows a stale code. */
export const NO_FAULT = 'none'

/** Payload keys that are not fields: the timestamp itself. */
const NOT_FIELDS = new Set(['ts'])

function measurementOf(channel: Channel, kind: string): string | undefined {
  switch (channel) {
    case 'telemetry':
      return kind
    case 'status':
      return MEASUREMENTS.status
    case 'event':
      return MEASUREMENTS.event
    default:
      return undefined // commands and acks are not readings
  }
}

/** The keys a channel's schema defines, in its order: the only names that can become fields. */
function schemaKeys(at: TopicAddress): readonly string[] {
  const shape = (CHANNEL_SPECS[at.channel].schemaFor(at.kind) as { shape?: Record<string, unknown> }).shape
  return shape ? Object.keys(shape) : []
}

/**
 * Maps a validated payload to a point; undefined for channels that are not stored. Tags come
 * from the topic address, fields only from the schema's keys: a payload's extra keys are never
 * stored, whatever reached here.
 */
export function toPoint(at: TopicAddress, payload: Record<string, unknown>): Point | undefined {
  const measurement = measurementOf(at.channel, at.kind)
  if (measurement === undefined) return undefined
  const fields: Record<string, FieldValue> = {}
  for (const key of schemaKeys(at)) {
    const value = payload[key]
    if (NOT_FIELDS.has(key) || value === undefined) continue
    if (value === null) {
      if (key === 'fault') fields[key] = NO_FAULT
      continue
    }
    if (typeof value === 'number' || typeof value === 'string') fields[key] = value
    else if (typeof value === 'boolean') fields[key] = value ? 1 : 0 // numeric, so it graphs
  }
  return { measurement, tags: { farm: at.farm, device: at.device }, fields, timeMs: payload.ts as number }
}

/*
 * Escaping by the line-protocol spec: in a measurement `,` and space, in tag keys, tag values and
 * field keys also `=`, in a string field `"`; `\` everywhere. A line break cannot be escaped at
 * all, and the spool and the writer frame lines by them (issue 13): every character the contract
 * refuses from devices (TEXT_PATTERN: controls, U+2028/U+2029, unpaired surrogates) becomes
 * U+FFFD here, so whatever a caller passes (an alert note, a future field), a point is one line.
 * Test before replacing: almost nothing needs it, and the test is twice as cheap (it takes any
 * surrogate, paired or not; the replacement tells them apart).
 */
const UNSAFE_RANGES = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\ud800-\\udfff'
const UNSAFE = '[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]'

/** An escaper that puts a backslash before each of `specials` and replaces what cannot be carried. */
function escaper(specials: string): (s: string) => string {
  const escaped = specials.replace(/[\\\]^-]/g, '\\$&')
  const quick = new RegExp(`[${escaped}${UNSAFE_RANGES}]`)
  const all = new RegExp(`[${escaped}]|${UNSAFE}`, 'g')
  const fix = (c: string) => (specials.includes(c) ? `\\${c}` : '\ufffd')
  return (s) => (quick.test(s) ? s.replace(all, fix) : s)
}
const escapeKey = escaper(',= \\')
const escapeMeasurement = escaper(', \\')
const escapeString = escaper('"\\')

/** A number as a line-protocol float: a bare number without the `i` suffix is a float. */
export function floatLiteral(n: number): string {
  // Most readings have one or two decimals. Printed from two small integers, they cost less than
  // V8's shortest-round-trip printing of a double, and give its exact text: if k/100 === n, the
  // decimal k/100 reads back as n, and no shorter decimal can (lines.test.ts checks).
  const k = Math.round(n * 100)
  if (k / 100 === n && k > -2_147_483_648 && k < 2_147_483_648) {
    const cents = k % 100
    if (cents === 0) return String(n)
    const whole = (k - cents) / 100
    const frac = cents < 0 ? -cents : cents
    const sign = k < 0 && whole === 0 ? '-' : ''
    return frac % 10 === 0 ? `${sign}${whole}.${frac / 10}` : `${sign}${whole}.${frac < 10 ? '0' : ''}${frac}`
  }
  return Number.isFinite(n) ? String(n) : '0'
}

/**
 * Line protocol with millisecond precision: always exactly one line. Tags sorted, as InfluxDB
 * recommends; an empty tag value is left out (InfluxDB refuses `tag=`, and reads a missing tag
 * as an empty one).
 */
export function toLineProtocol(p: Point): string {
  let line = escapeMeasurement(p.measurement)
  for (const key of Object.keys(p.tags).sort()) {
    const value = p.tags[key] as string
    if (value !== '') line += `,${escapeKey(key)}=${escapeKey(value)}`
  }
  let sep = ' '
  for (const [key, value] of Object.entries(p.fields)) {
    const literal =
      typeof value === 'number'
        ? floatLiteral(value)
        : typeof value === 'boolean'
          ? String(value)
          : `"${escapeString(value)}"`
    line += `${sep}${escapeKey(key)}=${literal}`
    sep = ','
  }
  return `${line} ${Math.trunc(p.timeMs)}`
}

/**
 * `measurement,device=..,farm=..` for a stored channel, escaped once per device (ingest caches
 * it); undefined for channels that are not stored. With lineOf, the same bytes as
 * toLineProtocol(toPoint(at, payload)).
 */
export function linePrefix(at: TopicAddress): string | undefined {
  const measurement = measurementOf(at.channel, at.kind)
  if (measurement === undefined) return undefined
  return `${escapeMeasurement(measurement)},device=${escapeKey(at.device)},farm=${escapeKey(at.farm)}`
}

export type LineWriter = (prefix: string, payload: Record<string, unknown>) => string

/** A JS expression appending field `key` (value in `v`) to `line`, by toPoint's rules. */
function fieldCode(key: string): string {
  const name = JSON.stringify(`${escapeKey(key)}=`)
  const add = (literal: string) => `{ line += sep + ${name} + ${literal}; sep = ',' }`
  return [
    `v = p[${JSON.stringify(key)}]`,
    `if (typeof v === 'number') ${add('floatLiteral(v)')}`,
    `else if (typeof v === 'string') ${add(`'"' + escapeString(v) + '"'`)}`,
    `else if (typeof v === 'boolean') ${add(`(v ? '1' : '0')`)}`,
    ...(key === 'fault' ? [`else if (v === null) ${add(JSON.stringify(`"${NO_FAULT}"`))}`] : []),
  ].join('\n')
}

/**
 * The hot path's toLineProtocol(toPoint(at, payload)), compiled for one schema's field order:
 * one string straight from a validated payload (whose keys are some of `keys`, in that order, as
 * zod outputs them), no point object, field names escaped once. points.test.ts holds it to the
 * same bytes.
 */
export function compileLineWriter(keys: readonly string[]): LineWriter {
  const body = ["let line = prefix, sep = ' ', v", ...keys.filter((k) => !NOT_FIELDS.has(k)).map(fieldCode), "return line + ' ' + Math.trunc(p.ts)"]
  return new Function('floatLiteral', 'escapeString', `return function lineOf(prefix, p) {\n${body.join('\n')}\n}`)(floatLiteral, escapeString) as LineWriter
}
