/**
 * Pure pieces of the ingest benchmark: a millisecond latency histogram, the "when was it sent"
 * of a line of line protocol, and the verdict over what InfluxDB holds.
 */

/** Latencies at 1 ms resolution up to `maxMs`; anything longer lands in the last bucket. */
export class LatencyHistogram {
  private readonly buckets: Uint32Array
  private n = 0
  private sum = 0
  private maxSeen = 0
  private minSeen = Number.POSITIVE_INFINITY

  constructor(private readonly maxMs = 600_000) {
    this.buckets = new Uint32Array(maxMs + 1)
  }

  add(ms: number): void {
    const v = ms < 0 ? 0 : Math.round(ms)
    this.buckets[Math.min(v, this.maxMs)]! += 1
    this.n += 1
    this.sum += v
    if (v > this.maxSeen) this.maxSeen = v
    if (v < this.minSeen) this.minSeen = v
  }

  get count(): number {
    return this.n
  }

  /** The smallest latency at or below which `q` of the samples lie (nearest rank). */
  quantile(q: number): number | undefined {
    if (this.n === 0) return undefined
    const rank = Math.max(1, Math.ceil(q * this.n))
    let seen = 0
    for (let ms = 0; ms <= this.maxMs; ms++) {
      seen += this.buckets[ms]!
      if (seen >= rank) return ms
    }
    return this.maxMs
  }

  summary(): LatencySummary {
    return {
      samples: this.n,
      minMs: this.n ? this.minSeen : undefined,
      p50Ms: this.quantile(0.5),
      p90Ms: this.quantile(0.9),
      p99Ms: this.quantile(0.99),
      p999Ms: this.quantile(0.999),
      maxMs: this.n ? this.maxSeen : undefined,
      meanMs: this.n ? Math.round((this.sum / this.n) * 10) / 10 : undefined,
    }
  }
}

export interface LatencySummary {
  samples: number
  minMs: number | undefined
  p50Ms: number | undefined
  p90Ms: number | undefined
  p99Ms: number | undefined
  p999Ms: number | undefined
  maxMs: number | undefined
  meanMs: number | undefined
}

/**
 * Pure: when a line's reading was published, in epoch ms. The load generator sets each reading's
 * `ts` to the wall clock at publish time. Ingest writes it as the point's timestamp (precision
 * ms: the last token); the Node-RED flow keeps server time and stores it as the field `ts`.
 */
export function sentMsOfLine(line: string, where: 'timestamp' | 'field'): number | undefined {
  if (where === 'timestamp') {
    const space = line.lastIndexOf(' ')
    const n = Number(line.slice(space + 1))
    return space > 0 && Number.isFinite(n) ? n : undefined
  }
  let at = line.indexOf(',ts=')
  if (at < 0) at = line.indexOf(' ts=')
  if (at < 0) return undefined
  const start = at + 4
  let end = start
  while (end < line.length && line.charCodeAt(end) !== 44 && line.charCodeAt(end) !== 32) end++ // ',' or ' '
  const n = Number(line.slice(start, end))
  return Number.isFinite(n) ? n : undefined
}

/** Per-device figures read back from InfluxDB. */
export interface StoredDevice {
  device: string
  /** Rows (points) stored. */
  rows: number
  /** Distinct `seq` values among them. */
  distinct: number
  minSeq: number
  maxSeq: number
}

export interface StoreVerdict {
  sent: number
  rows: number
  distinct: number
  /** Readings sent that are not in InfluxDB. */
  lost: number
  /** Rows beyond one per reading (a redelivery stored twice). */
  duplicates: number
  /** Devices whose rows are not exactly seq 0..sent-1, once each. */
  badDevices: string[]
  exact: boolean
}

/**
 * Pure: compares what each device sent (seq 0..n-1) with what InfluxDB holds. Exact when every
 * device has n rows, n distinct seq values, from 0 to n-1: every reading present once.
 */
export function judgeStored(sentPerDevice: Record<string, number>, stored: readonly StoredDevice[]): StoreVerdict {
  const byDevice = new Map(stored.map((s) => [s.device, s]))
  let sent = 0
  let rows = 0
  let distinct = 0
  const badDevices: string[] = []
  for (const [device, n] of Object.entries(sentPerDevice)) {
    sent += n
    const s = byDevice.get(device)
    rows += s?.rows ?? 0
    distinct += s?.distinct ?? 0
    const ok = n === 0 ? s === undefined || s.rows === 0 : s !== undefined && s.rows === n && s.distinct === n && s.minSeq === 0 && s.maxSeq === n - 1
    if (!ok) badDevices.push(device)
  }
  for (const s of stored) {
    if (!(s.device in sentPerDevice)) {
      rows += s.rows
      badDevices.push(s.device)
    }
  }
  const lost = sent - distinct
  const duplicates = rows - distinct
  return { sent, rows, distinct, lost, duplicates, badDevices, exact: badDevices.length === 0 && lost === 0 && duplicates === 0 }
}
