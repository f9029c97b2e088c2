/**
 * Pure: the benchmark's verdicts and its printed table, from phase results.
 */
import type { PhaseResult } from './ingest-phase.js'
import { loadAverage } from './ingest-proc.js'

/** The goal (issue 5, "Benchmark"). */
export const GOAL = { readingsPerSec: 25_000, p99Ms: 1_000, cpuUsPerReading: 5 }

export interface Verdict {
  /** Every reading stored exactly once. */
  exact: boolean
  /** The generator kept to the offered schedule (p99 lag under 1 s): the offered rate was really offered. */
  onSchedule: boolean
  /** p99 publish-to-stored under the goal. */
  latencyOk: boolean
  /** The rate this phase sustained with zero loss and zero duplicates, or 0. */
  sustainedPerSec: number
}

export function verdictOf(r: PhaseResult): Verdict {
  const exact = r.store.exact && r.store.sent > 0
  // closed loop (offered 0): the source runs as fast as acknowledgements come, there is no schedule
  const onSchedule = r.offeredPerSec === 0 || (r.load.lag.p99Ms ?? Infinity) < 1_000
  const latencyOk = (r.latency.p99Ms ?? Infinity) < GOAL.p99Ms
  return { exact, onSchedule, latencyOk, sustainedPerSec: exact && onSchedule && latencyOk ? r.publishedPerSec : 0 }
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const mb = (b: number | undefined) => (b === undefined ? '-' : `${fmt(b / 1024 / 1024)} MB`)
const ratio = (a: number | undefined, b: number | undefined, digits = 1) =>
  a === undefined || b === undefined || b === 0 || !Number.isFinite(a / b) ? '-' : `${fmt(a / b, digits)}x`

/**
 * "p50 / p99" in ms from a Prometheus histogram's cumulative buckets (upper bounds, so each is
 * at most that), or '-' without one.
 */
export function histogramQuantiles(metrics: Record<string, number> | undefined, name: string): string {
  if (!metrics) return '-'
  const buckets = Object.entries(metrics)
    .map(([k, v]) => [/^(\w+)_bucket\{le="([^"]+)"\}$/.exec(k), v] as const)
    .filter((e): e is [RegExpExecArray, number] => e[0]?.[1] === name)
    .map(([m, v]) => [m[2] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[2]), v] as const)
    .sort((a, b) => a[0] - b[0])
  const total = buckets.at(-1)?.[1] ?? 0
  if (total === 0) return '-'
  const q = (p: number) => {
    const le = buckets.find(([, n]) => n >= p * total)?.[0]
    return le === undefined ? '-' : le === Number.POSITIVE_INFINITY ? `> ${fmt((buckets.at(-2)?.[0] ?? 0) * 1000)}` : `<= ${fmt(le * 1000, le < 0.01 ? 1 : 0)}`
  }
  return `${q(0.5)} / ${q(0.99)}`
}

export interface Row {
  label: string
  values: string[]
}

/** One column per phase; with exactly one ingest and one Node-RED column, a ratio column. */
export function tableRows(phases: readonly PhaseResult[], ratioOf?: { ours: PhaseResult; peer: PhaseResult }): Row[] {
  const cols = (f: (r: PhaseResult) => string) => phases.map(f)
  const rows: Row[] = [
    { label: 'devices x window', values: cols((r) => `${r.devices} x ${r.window}`) },
    { label: 'offered readings/s', values: cols((r) => (r.offeredPerSec === 0 ? 'max' : fmt(r.offeredPerSec))) },
    { label: 'published readings/s', values: cols((r) => fmt(r.publishedPerSec)) },
    { label: 'readings sent', values: cols((r) => fmt(r.store.sent)) },
    { label: 'stored once (distinct)', values: cols((r) => fmt(r.store.distinct)) },
    { label: 'lost', values: cols((r) => fmt(r.store.lost)) },
    { label: 'duplicate rows', values: cols((r) => fmt(r.store.duplicates)) },
    { label: 'stored readings/s', values: cols((r) => fmt(r.storedPerSec)) },
    { label: 'latency p50 ms', values: cols((r) => lat(r, r.latency.p50Ms)) },
    { label: 'latency p99 ms', values: cols((r) => lat(r, r.latency.p99Ms)) },
    { label: 'latency max ms', values: cols((r) => lat(r, r.latency.maxMs)) },
    { label: 'behind at end (drain) ms', values: cols((r) => fmt(r.drainMs)) },
    { label: 'publisher lag p99 ms', values: cols((r) => fmt(r.load.lag.p99Ms)) },
    { label: 'PUBLISH->PUBACK p99 ms', values: cols((r) => fmt(r.load.pubackRtt.p99Ms)) },
    { label: 'SUT CPU us/reading', values: cols((r) => fmt(r.sutCpuUsPerReading, 2)) },
    { label: '  of which kernel (stime)', values: cols((r) => fmt(r.sutSysUsPerReading, 2)) },
    { label: 'broker CPU us/reading', values: cols((r) => fmt(perReading(r, 'broker'), 1)) },
    { label: '  of which kernel (stime)', values: cols((r) => fmt(perReading(r, 'broker', true), 1)) },
    { label: 'influxd CPU us/reading', values: cols((r) => fmt(perReading(r, 'influxd'), 1)) },
    { label: 'SUT RSS peak (VmHWM)', values: cols((r) => mb(r.sutHwmBytes)) },
    { label: 'InfluxDB write requests', values: cols((r) => (r.writes ? fmt(Object.values(r.writes.statuses).reduce((a, b) => a + b, 0)) : '(direct)')) },
    { label: 'write answers', values: cols((r) => (r.writes ? Object.entries(r.writes.statuses).map(([s, n]) => `${s}:${n}`).join(' ') : '-')) },
    { label: 'writes in flight (max)', values: cols((r) => (r.writes ? fmt(r.writes.maxInFlight) : '-')) },
    { label: 'lines per write (mean)', values: cols((r) => (r.writes ? fmt(r.store.distinct / Math.max(1, r.writes.influxdMs.samples)) : '-')) },
    { label: 'influxd time per write p50/p99 ms', values: cols((r) => (r.writes ? `${fmt(r.writes.influxdMs.p50Ms)} / ${fmt(r.writes.influxdMs.p99Ms)}` : '-')) },
    { label: 'spool commit (fsync) p50/p99 ms', values: cols((r) => histogramQuantiles(r.sutMetrics, 'ingest_spool_commit_seconds')) },
    { label: 'SUT errors logged', values: cols((r) => (r.sutErrors ? fmt(Object.values(r.sutErrors).reduce((a, b) => a + b, 0)) : '-')) },
    { label: 'CPU % of 2 cores: SUT', values: cols((r) => pct(r, 'sut')) },
    { label: '  broker', values: cols((r) => pct(r, 'broker')) },
    { label: '  influxd', values: cols((r) => pct(r, 'influxd')) },
    { label: '  load generator', values: cols((r) => pct(r, 'load')) },
    { label: '  bench (tap)', values: cols((r) => pct(r, 'bench')) },
    { label: '  others on the box', values: cols((r) => `${fmt((r.otherCpuMs / r.wallMs) * 50)} %`) },
    { label: 'verdict', values: cols((r) => verdictText(verdictOf(r))) },
  ]
  if (!ratioOf) return rows
  const { ours, peer } = ratioOf
  const extra: Record<string, string> = {
    'stored once (distinct)': ratio(ours.store.distinct, peer.store.distinct, 2),
    'stored readings/s': ratio(ours.storedPerSec, peer.storedPerSec, 2),
    'latency p50 ms': ratio(peer.latency.p50Ms, ours.latency.p50Ms) + ' faster',
    'latency p99 ms': ratio(peer.latency.p99Ms, ours.latency.p99Ms) + ' faster',
    'SUT CPU us/reading': ratio(peer.sutCpuUsPerReading, ours.sutCpuUsPerReading) + ' less',
    'SUT RSS peak (VmHWM)': ratio(peer.sutHwmBytes, ours.sutHwmBytes) + ' less',
  }
  return rows.map((r) => ({ ...r, values: [...r.values, extra[r.label] ?? ''] }))
}

/** '-' would hide it: nothing published after the warm-up was stored. */
const lat = (r: PhaseResult, ms: number | undefined) => (r.latency.samples === 0 ? 'none stored' : fmt(ms))

function perReading(r: PhaseResult, name: string, kernel = false): number | undefined {
  const ms = (kernel ? r.sysMs : r.cpuMs)[name]
  return ms === undefined || r.store.sent === 0 ? undefined : (ms * 1000) / r.store.sent
}

function pct(r: PhaseResult, name: string): string {
  const ms = r.cpuMs[name]
  return ms === undefined ? '-' : `${fmt((ms / r.wallMs) * 50)} %`
}

function verdictText(v: Verdict): string {
  if (v.sustainedPerSec > 0) return 'sustained'
  const why = [!v.exact && 'loss/dup', !v.onSchedule && 'publisher behind', !v.latencyOk && 'p99 >= 1 s'].filter(Boolean)
  return `NOT sustained (${why.join(', ')})`
}

export function formatTable(header: string[], rows: readonly Row[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 0 ? r.label : (r.values[i - 1] ?? '')).length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line([r.label, ...r.values]))].join('\n')
}

/** Prints the table and the verdict lines; returns the figures for the JSON file. */
export function summarize(results: PhaseResult[], extra: Record<string, unknown>): object {
  const ours = results.filter((r) => r.name.startsWith('ingest @'))
  const peers = results.filter((r) => r.name.startsWith('node-red'))
  const best = ours.reduce<PhaseResult | undefined>((a, r) => (verdictOf(r).sustainedPerSec > (a ? verdictOf(a).sustainedPerSec : 0) ? r : a), undefined)
  // The ratio column compares the same offered load: the highest rate both ran, ours sustained if possible.
  const mine = best ?? ours.at(-1)
  const peer = mine && peers.find((p) => p.offeredPerSec === mine.offeredPerSec)
  const compare = mine && peer ? { ours: mine, peer } : undefined
  const header = ['', ...results.map((r) => r.name), ...(compare ? [`ratio @${compare.ours.offeredPerSec}`] : [])]
  console.log(`\n${formatTable(header, tableRows(results, compare))}\n`)
  const sustained = best ? verdictOf(best).sustainedPerSec : 0
  const capacity = Math.max(0, ...ours.map((r) => Math.min(r.publishedPerSec, r.storedPerSec)))
  const cpuOk = ours.length > 0 && ours.every((r) => r.sutCpuUsPerReading < GOAL.cpuUsPerReading)
  const p99Ok = !!best && verdictOf(best).latencyOk
  console.log(`best rate sustained with zero loss, zero duplicates, p99 < 1 s: ${sustained}/s (most absorbed in any step: ${capacity}/s)`)
  const at = best ? ` (at ${best.offeredPerSec}/s)` : ''
  console.log(
    `goal (issue 5): >= ${GOAL.readingsPerSec}/s ${sustained >= GOAL.readingsPerSec ? 'MET' : 'NOT MET'}; p99 < ${GOAL.p99Ms} ms ${p99Ok ? 'MET' : 'NOT MET'}${at}; ingest < ${GOAL.cpuUsPerReading} us CPU/reading ${cpuOk ? 'MET' : 'NOT MET'}`,
  )
  const alone = results.find((r) => r.name.startsWith('ingest alone'))
  if (alone) {
    console.log(`ingest alone (broker stand-in, closed loop): ${alone.storedPerSec}/s into InfluxDB, ${alone.store.lost} lost, ${alone.store.duplicates} duplicates, p99 ${alone.latency.p99Ms} ms, ${alone.sutCpuUsPerReading} us CPU/reading`)
  }
  if (extra.noderedError) console.log(`node-red: ${String(extra.noderedError)}`)
  return {
    benchmark: 'ingest',
    loadAverageAtEnd: loadAverage(),
    goal: GOAL,
    goalMet: { readingsPerSec: sustained >= GOAL.readingsPerSec, p99: p99Ok, cpu: cpuOk },
    bestSustainedPerSec: sustained,
    mostAbsorbedPerSec: capacity,
    ...extra,
    phases: results.map((r) => ({ ...r, verdict: verdictOf(r) })),
  }
}
