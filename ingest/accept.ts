/**
 * The pure decision for one message: accept (with its line of line protocol), duplicate, or
 * reject with a stable code and a reason. No I/O; `now` is passed in.
 */
import { decodeMessage } from '../contracts/decode.js'
import { toLineProtocol, toPoint } from '../contracts/points.js'
import type { TopicAddress } from '../contracts/topics.js'

export type Verdict =
  | { kind: 'accept'; at: TopicAddress; payload: Record<string, unknown>; line: string; dedupKey: string | undefined }
  | { kind: 'ignore'; reason: string }
  | { kind: 'reject'; code: string; reason: string }

export interface AcceptPolicy {
  maxBytes: number
  /** A device clock further ahead than this is unsynced: its readings are refused. */
  maxFutureMs: number
  farmAllowed(farm: string): boolean
}

export function judge(topic: string, raw: Uint8Array, now: number, policy: AcceptPolicy): Verdict {
  const decoded = decodeMessage(topic, raw, { maxBytes: policy.maxBytes })
  if (!decoded.ok) return { kind: 'reject', code: decoded.code, reason: decoded.reason }
  const { at, payload } = decoded
  if (!policy.farmAllowed(at.farm)) return { kind: 'ignore', reason: 'farm handled by another ingest instance' }
  const ts = payload.ts as number
  if (ts > now + policy.maxFutureMs) {
    return { kind: 'reject', code: 'future_ts', reason: `timestamp ${new Date(ts).toISOString()} is ${Math.round((ts - now) / 1000)} s ahead of the server clock` }
  }
  const point = toPoint(at, payload)
  if (!point) return { kind: 'ignore', reason: `${at.channel} is not stored` }
  const dedupKey = at.channel === 'telemetry' ? `${payload.boot as number}:${payload.seq as number}` : undefined
  return { kind: 'accept', at, payload, line: toLineProtocol(point), dedupKey }
}

/**
 * Farm patterns for splitting the fleet between ingest instances (`INGEST_FARMS=ranong-*,krabi-02`):
 * `*` matches any run of characters; empty means every farm.
 */
export function farmMatcher(patterns: readonly string[]): (farm: string) => boolean {
  if (patterns.length === 0) return () => true
  const res = patterns.map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`))
  return (farm) => res.some((re) => re.test(farm))
}

/** MQTT filters for the patterns: exact farms get their own filter, patterns with `*` need `+`. */
export function farmFilters(patterns: readonly string[], channels: readonly string[]): string[] {
  const farms = patterns.length === 0 || patterns.some((p) => p.includes('*')) ? ['+'] : [...patterns]
  return farms.flatMap((farm) => channels.map((ch) => `farm/${farm}/+/+/${ch}`))
}

/**
 * Recently seen (boot, seq) per device, to drop redeliveries before they are written. A window:
 * older duplicates still overwrite themselves in InfluxDB (same timestamp), so nothing doubles.
 */
export class Deduper {
  private readonly seen = new Map<string, { keys: Set<string>; order: string[] }>()
  constructor(private readonly windowPerDevice = 2_048) {}

  has(device: string, key: string): boolean {
    return this.seen.get(device)?.keys.has(key) ?? false
  }

  add(device: string, key: string): void {
    let entry = this.seen.get(device)
    if (!entry) {
      entry = { keys: new Set(), order: [] }
      this.seen.set(device, entry)
    }
    if (entry.keys.has(key)) return
    entry.keys.add(key)
    entry.order.push(key)
    if (entry.order.length > this.windowPerDevice) {
      const old = entry.order.splice(0, entry.order.length - this.windowPerDevice)
      for (const k of old) entry.keys.delete(k)
    }
  }
}
