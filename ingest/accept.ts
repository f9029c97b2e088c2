/**
 * The pure decision for one message: accept (with its line of line protocol), duplicate, or
 * reject with a stable code and a reason. No I/O; `now` is passed in.
 */
import { decodeMessage } from '../contracts/decode.js'
import { type LineWriter, type Point, compileLineWriter, linePrefix, toLineProtocol, toPoint } from '../contracts/points.js'
import { CHANNEL_SPECS } from '../contracts/registry.js'
import type { TopicAddress } from '../contracts/topics.js'

export type Verdict =
  /** dedup: a reading with (boot, seq) in its payload, deduplicated by (device, boot, seq). */
  | { kind: 'accept'; at: TopicAddress; payload: Record<string, unknown>; line: string; dedup: boolean; training: boolean }
  | { kind: 'ignore'; reason: string }
  | { kind: 'reject'; code: string; reason: string }

export interface AcceptPolicy {
  maxBytes: number
  /** A device clock further ahead than this is unsynced: its readings are refused. */
  maxFutureMs: number
  farmAllowed(farm: string): boolean
  /**
   * A training farm (the registry's flag) runs on its simulation's clock, hours ahead at 60x
   * (issue 16): no future-timestamp guard, and its readings are stored apart from real data.
   */
  isTraining?(farm: string): boolean
}

interface Storage {
  prefix: string
  write: LineWriter
}

// Per device and channel (addresses are cached and shared): its escaped measurement and tags,
// and the line writer compiled for its schema's field order. null: a channel that is not stored.
const storage = new WeakMap<TopicAddress, Storage | null>()
const writers = new WeakMap<object, LineWriter>()
function writerFor(at: TopicAddress): LineWriter {
  const schema = CHANNEL_SPECS[at.channel].schemaFor(at.kind) as { shape?: Record<string, unknown> }
  if (!schema.shape) return (_prefix, payload) => toLineProtocol(toPoint(at, payload) as Point) // not an object schema: the generic way
  let write = writers.get(schema)
  if (!write) {
    write = compileLineWriter(Object.keys(schema.shape))
    writers.set(schema, write)
  }
  return write
}

function storageOf(at: TopicAddress): Storage | undefined {
  let s = storage.get(at)
  if (s === undefined) {
    const prefix = linePrefix(at)
    s = prefix === undefined ? null : { prefix, write: writerFor(at) }
    storage.set(at, s)
  }
  return s ?? undefined
}

export function judge(topic: string, raw: Uint8Array, now: number, policy: AcceptPolicy): Verdict {
  const decoded = decodeMessage(topic, raw, { maxBytes: policy.maxBytes })
  if (!decoded.ok) return { kind: 'reject', code: decoded.code, reason: decoded.reason }
  const { at, payload } = decoded
  if (!policy.farmAllowed(at.farm)) return { kind: 'ignore', reason: 'farm handled by another ingest instance' }
  const ts = payload.ts as number
  const training = policy.isTraining?.(at.farm) === true
  if (!training && ts > now + policy.maxFutureMs) {
    return { kind: 'reject', code: 'future_ts', reason: `timestamp ${new Date(ts).toISOString()} is ${Math.round((ts - now) / 1000)} s ahead of the server clock` }
  }
  const store = storageOf(at)
  if (!store) return { kind: 'ignore', reason: `${at.channel} is not stored` }
  return { kind: 'accept', at, payload, line: store.write(store.prefix, payload), dedup: at.channel === 'telemetry', training }
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
 * per device, for its last two boots, the sequence numbers within `windowPerDevice` of the
 * highest seen, as a bitmap. Older duplicates still overwrite themselves in InfluxDB (same
 * timestamp), so nothing doubles. A bitmap, not a set of "boot:seq" strings: no key to build
 * and hash per message, 256 bytes per device and boot, nothing for the garbage collector.
 */
export class Deduper {
  private readonly seen = new Map<string, BootWindow[]>()
  private readonly size: number

  constructor(windowPerDevice = 2_048) {
    this.size = Math.max(32, Math.ceil(windowPerDevice / 32) * 32)
  }

  has(device: string, boot: number, seq: number): boolean {
    const windows = this.seen.get(device)
    if (!windows) return false
    const w = windows[0]?.boot === boot ? windows[0] : windows[1]?.boot === boot ? windows[1] : undefined
    if (!w || seq > w.top || seq <= w.top - this.size) return false
    const i = seq % this.size
    return ((w.bits[i >>> 5] as number) & (1 << (i & 31))) !== 0
  }

  add(device: string, boot: number, seq: number): void {
    let windows = this.seen.get(device)
    if (!windows) {
      windows = []
      this.seen.set(device, windows)
    }
    let w = windows[0]?.boot === boot ? windows[0] : windows[1]?.boot === boot ? windows[1] : undefined
    if (!w) {
      w = { boot, top: seq, bits: new Uint32Array(this.size / 32) }
      windows.unshift(w) // newest first; a third boot pushes the oldest out
      if (windows.length > 2) windows.pop()
    }
    if (seq > w.top) {
      // slide: the slots between the old top and the new one held keys that are now out of range
      if (seq - w.top >= this.size) w.bits.fill(0)
      else for (let s = w.top + 1; s <= seq; s++) clearBit(w.bits, s % this.size)
      w.top = seq
    } else if (seq <= w.top - this.size) return // older than the window: not remembered
    const i = seq % this.size
    w.bits[i >>> 5] = (w.bits[i >>> 5] as number) | (1 << (i & 31))
  }
}

interface BootWindow {
  boot: number
  /** Highest seq seen in this boot; the window is (top - size, top]. */
  top: number
  bits: Uint32Array
}

function clearBit(bits: Uint32Array, i: number): void {
  bits[i >>> 5] = (bits[i >>> 5] as number) & ~(1 << (i & 31))
}
