/**
 * Where a phase learns what was stored and when. Two methods, one per system:
 * - ingest writes through the measuring proxy (./ingest-tap.ts): stored = the moment influxd
 *   answered 2xx to the write that carried the line (after its WAL write);
 * - Node-RED writes to influxd directly (through a proxy its one-request-per-message would run the
 *   proxy out of file descriptors before itself) and lets influxd stamp each point with server
 *   time: stored = the row's time, read back afterwards, minus its `ts` field (publish time).
 *   The stamp is taken when influxd parses the request, a little before its answer, so this
 *   method is, if anything, kinder to Node-RED.
 */
import type { InfluxHandle } from '../../test/helpers/influx.js'
import { LatencyHistogram, type LatencySummary } from './ingest-latency.js'
import type { InfluxTap } from './ingest-tap.js'

export interface SinkReport {
  latency: LatencySummary
  firstStoredMs: number | undefined
  lastStoredMs: number | undefined
  perSecond: number[]
  /** Write requests by answer status, the most in flight at once (only seen through the tap). */
  writes?: { statuses: Record<string, number>; maxInFlight: number; bytes: number; linesRefused: number; influxdMs: LatencySummary }
}

export interface Sink {
  readonly method: string
  /** Called when the phase starts: readings published before `measureFromMs` are the warm-up. */
  start(measureFromMs: number): void
  /** Readings stored since the phase began (to see when it has drained). */
  count(): Promise<number>
  /** Latency is kept for readings published at or after `fromMs` (after the warm-up). */
  report(fromMs: number): Promise<SinkReport>
}

export function tapSink(tap: InfluxTap, db: string): Sink {
  const stats = tap.stats(db)
  const before = stats.linesStored
  return {
    method: 'proxy: influxd 2xx time minus publish time',
    start: (ms) => tap.measureFrom(db, ms),
    count: () => Promise.resolve(stats.linesStored - before),
    report: () =>
      Promise.resolve({
        latency: stats.latency.summary(),
        firstStoredMs: stats.firstStoredMs,
        lastStoredMs: stats.lastStoredMs,
        perSecond: [...stats.perSecond].map((n) => n ?? 0),
        writes: {
          statuses: { ...stats.statuses },
          maxInFlight: stats.maxInFlight,
          bytes: stats.bytesIn,
          linesRefused: stats.linesRefused,
          influxdMs: stats.writeMs.summary(),
        },
      }),
  }
}

async function query(influx: InfluxHandle, db: string, q: string, chunked = false): Promise<Array<{ columns: string[]; values: number[][] }>> {
  const params = new URLSearchParams({ db, epoch: 'ms', q, ...(chunked ? { chunked: 'true', chunk_size: '20000' } : {}) })
  const res = await fetch(`${influx.directUrl}/query?${params}`, { signal: AbortSignal.timeout(120_000) })
  const text = await res.text()
  const series: Array<{ columns: string[]; values: number[][] }> = []
  // chunked answers are one JSON document per line
  for (const doc of text.split('\n').filter((l) => l.trim() !== '')) {
    const body = JSON.parse(doc) as { error?: string; results?: Array<{ error?: string; series?: Array<{ columns: string[]; values: number[][] }> }> }
    const error = body.error ?? body.results?.find((r) => r.error)?.error
    if (error !== undefined) throw new Error(`InfluxQL: ${error} (${q})`)
    for (const r of body.results ?? []) series.push(...(r.series ?? []))
  }
  return series
}

export function rowTimeSink(influx: InfluxHandle, db: string, farm: string): Sink {
  return {
    method: 'row time (influxd server time) minus ts field',
    start: () => {},
    async count() {
      const s = await query(influx, db, `SELECT count(seq) FROM pump WHERE farm = '${farm}'`)
      return Number(s[0]?.values[0]?.[1] ?? 0)
    },
    async report(fromMs) {
      const latency = new LatencyHistogram()
      const perSecond: number[] = []
      let first: number | undefined
      let last: number | undefined
      const rows: Array<[number, number]> = []
      for (const s of await query(influx, db, `SELECT ts FROM pump WHERE farm = '${farm}'`, true)) {
        for (const v of s.values) rows.push([Number(v[0]), Number(v[1])])
      }
      for (const [time, ts] of rows) {
        first = first === undefined ? time : Math.min(first, time)
        last = last === undefined ? time : Math.max(last, time)
        if (ts >= fromMs) latency.add(time - ts)
      }
      for (const [time] of rows) {
        const i = Math.floor((time - (first ?? time)) / 1000)
        perSecond[i] = (perSecond[i] ?? 0) + 1
      }
      return { latency: latency.summary(), firstStoredMs: first, lastStoredMs: last, perSecond: [...perSecond].map((n) => n ?? 0) }
    },
  }
}
