/**
 * Payload to InfluxDB point (DESIGN.md "Storage contract"): measurement = kind for telemetry,
 * tags `farm` and `device`, every numeric field a float (never an integer: no type conflicts),
 * `state` and `fault` strings, time = the device's `ts` in ms so a redelivery overwrites itself.
 */
import type { Channel } from './names.js'
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

/** Maps a validated payload to a point; undefined for channels that are not stored. */
export function toPoint(at: TopicAddress, payload: Record<string, unknown>): Point | undefined {
  const measurement = measurementOf(at.channel, at.kind)
  if (measurement === undefined) return undefined
  const fields: Record<string, FieldValue> = {}
  for (const [key, value] of Object.entries(payload)) {
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

// Test before replacing: almost no key or value needs escaping, and the test is twice as cheap.
const escapeKey = (s: string) => (/[,= \\]/.test(s) ? s.replace(/[,= \\]/g, (c) => `\\${c}`) : s)
const escapeMeasurement = (s: string) => (/[, \\]/.test(s) ? s.replace(/[, \\]/g, (c) => `\\${c}`) : s)
const escapeString = (s: string) => (/["\\]/.test(s) ? s.replace(/["\\]/g, (c) => `\\${c}`) : s)

/** A number as a line-protocol float: a bare number without the `i` suffix is a float. */
export function floatLiteral(n: number): string {
  return Number.isFinite(n) ? String(n) : '0'
}

/** Line protocol with millisecond precision. Tags sorted, as InfluxDB recommends. */
export function toLineProtocol(p: Point): string {
  let line = escapeMeasurement(p.measurement)
  for (const key of Object.keys(p.tags).sort()) line += `,${escapeKey(key)}=${escapeKey(p.tags[key] as string)}`
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
