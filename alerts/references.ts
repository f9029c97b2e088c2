/**
 * Learned references (issue 15 "reference, not drift"): what one device looks like in healthy
 * operation, learned from its first healthy days (commissioning) and again after a logged repair,
 * then frozen. Long-term rules judge the device against it, never against its own recent past, so
 * a slow fault (a clogging intake) cannot become the new normal. Pure functions of plain records;
 * the records live in the durable alert state (state.json), not in the device tracks.
 */
import type { Kind } from '../contracts/names.js'
import { median, type BalanceBucket, type DayStats, type DeviceTrack, type EnergyBucket, type OpBucket, type OpTable, type RatioBucket } from './track.js'

/**
 * A quantity a reference is learned for: litres per PV Wh (`efficiency`), the share of metered
 * litres that reach the water bank (`balance`), PV watts per W/m2 under a clear sky (`pv_clear`),
 * and motor current and flow per operating point (`wear`, a table by PV power).
 */
export type MetricId = 'efficiency' | 'balance' | 'pv_clear' | 'wear'

export interface MetricDef {
  kinds: readonly Kind[]
  /**
   * The metric over one completed day, or undefined when the day cannot tell (too little good
   * sun). `min` is the rule's learning floor: Wh (efficiency), minutes (balance), samples (the rest).
   */
  ofDay(day: DayStats, min: number): number | undefined
  /** A table metric (wear): the day's table, merged over the learning days into the reference. */
  tableOfDay?(day: DayStats): OpTable | undefined
  /** The metric over a run of good-sun evidence (litres per PV Wh for efficiency); the others have their own evidence below. */
  ofEvidence?(e: { l: number; wh: number }): number
  /** Maintenance types after which healthy looks different: the reference is learned again. */
  relearnOn: readonly string[]
}

export const METRICS: Readonly<Record<MetricId, MetricDef>> = {
  efficiency: {
    kinds: ['pump'],
    ofDay: (d, minWh) => (d.goodWh >= minWh ? d.goodL / d.goodWh : undefined),
    ofEvidence: (e) => e.l / e.wh,
    // `filter`: the intake strainer and filter cleaned (digest.ts reminds of it by pumped hours).
    relearnOn: ['filter', 'repair'],
  },
  balance: {
    kinds: ['pump'],
    // Litres a minute of good-sun pumping that do not show up in the bank on a healthy day: what
    // the household, the drip lines and seepage take meanwhile (the pipe delivers all it meters).
    ofDay: (d, minMin) => (d.balMs !== undefined && d.balMs >= minMin * 60_000 ? ((d.balL ?? 0) - (d.balRise ?? 0)) / (d.balMs / 60_000) : undefined),
    // The delivery pipe mended; a new bank or a moved meter is logged as a repair too.
    relearnOn: ['repair'],
  },
  pv_clear: {
    kinds: ['pump'],
    ofDay: (d, minN) => (d.clearN !== undefined && d.clearN >= minN ? (d.clearSum ?? 0) / d.clearN : undefined),
    // A cleaning brings the clean-panel ratio back (learned again on the clean panels); a replaced module or string changes it.
    relearnOn: ['panel_cleaning', 'repair'],
  },
  wear: {
    kinds: ['pump'],
    ofDay: (d, minN) => {
      const n = Object.values(d.op ?? {}).reduce((s, e) => s + e[2], 0)
      return n >= minN ? n : undefined
    },
    tableOfDay: (d) => d.op,
    // An overhaul (bearings, impeller) is logged as a repair.
    relearnOn: ['repair'],
  },
}

export interface ReferenceRecord {
  /** The learned value; while it is learned again after a repair, the previous one (judged against). */
  value?: number
  /** Device time from which evidence counts against `value`: 0 at commissioning, the repair's time after. */
  sinceTs: number
  /** Device time the value was learned (the last learning day's end). */
  learnedTs?: number
  basis: 'commissioning' | 'maintenance'
  /** While learning: the healthy days taken so far, and the newest day looked at (later days only). */
  learning?: { days: Array<{ day: string; value: number; table?: OpTable }>; afterDay: string }
  /** A table metric: the learning days' tables merged (sums per bin). */
  table?: OpTable
}

export const referenceKey = (farm: string, device: string, metric: MetricId) => `${farm}/${device}/${metric}`

export const commissioning = (): ReferenceRecord => ({ sinceTs: 0, basis: 'commissioning', learning: { days: [], afterDay: '' } })

/** What a rule judges against: the value and the time from which evidence counts. */
export interface Judged {
  value: number
  sinceTs: number
  table?: OpTable
}

export const judged = (r: ReferenceRecord | undefined): Judged | undefined =>
  r?.value === undefined ? undefined : { value: r.value, sinceTs: r.sinceTs, ...(r.table ? { table: r.table } : {}) }

/**
 * Takes the device's completed days (before `today`) not looked at yet: a day with enough good
 * sun and no alert open on the device (`disturbed`) is a healthy day. After `days` of them the
 * value is their median and the record is frozen. Returns the same record when nothing changed.
 */
export function learn(r: ReferenceRecord, metric: MetricDef, track: DeviceTrack, today: string, days: number, minEnergyWh: number): ReferenceRecord {
  const l = r.learning
  if (!l) return r
  const newest = track.days.findLast((d) => d.day < today)
  if (!newest || newest.day <= l.afterDay) return r
  const taken = [...l.days]
  for (const d of track.days) {
    if (d.day <= l.afterDay || d.day >= today || d.disturbed) continue
    const value = metric.ofDay(d, minEnergyWh)
    const table = metric.tableOfDay?.(d)
    if (value !== undefined && Number.isFinite(value)) taken.push({ day: d.day, value, ...(table ? { table } : {}) })
  }
  if (taken.length < days) return { ...r, learning: { days: taken, afterDay: newest.day } }
  const { learning: _done, table: _old, ...rest } = r
  const table = metric.tableOfDay ? mergeTables(taken.map((d) => d.table ?? {})) : undefined
  return { ...rest, value: median(taken.map((d) => d.value)) as number, learnedTs: track.lastTs, ...(table ? { table } : {}) }
}

export function mergeTables(tables: readonly OpTable[]): OpTable {
  const out: OpTable = {}
  for (const t of tables) {
    for (const [bin, e] of Object.entries(t)) {
      const o = (out[bin] ??= [0, 0, 0])
      o[0] += e[0]
      o[1] += e[1]
      o[2] += e[2]
    }
  }
  return out
}

/**
 * Wear evidence: the newest `hours` hourly buckets of operating points since `sinceTs` (newest
 * first), with at least `minN` samples in bins the reference knows (`refMinN` samples there), as
 * motor current and flow against the reference at the same points, weighted by samples.
 */
export function wearEvidence(buckets: readonly OpBucket[] | undefined, ref: OpTable, sinceTs: number, hours: number, minN: number, refMinN: number): { current: number; flow: number; n: number } | undefined {
  let a = 0
  let q = 0
  let n = 0
  let used = 0
  for (let i = (buckets?.length ?? 0) - 1; i >= 0; i--) {
    const b = buckets?.[i] as OpBucket
    if (b.ts < sinceTs) break
    used += 1
    for (const [bin, e] of Object.entries(b.op)) {
      const r = ref[bin]
      if (!r || r[2] < refMinN || r[0] <= 0 || r[1] <= 0) continue
      a += e[0] / (r[0] / r[2])
      q += e[1] / (r[1] / r[2])
      n += e[2]
    }
    if (used >= hours && n >= minN) return { current: a / n, flow: q / n, n }
  }
  return undefined
}

/** The newest ratio buckets since `sinceTs` until `minN` samples: their mean (PV per W/m2 on a clear sky). */
export function ratioEvidence(buckets: readonly RatioBucket[] | undefined, sinceTs: number, minN: number): number | undefined {
  let sum = 0
  let n = 0
  for (let i = (buckets?.length ?? 0) - 1; i >= 0; i--) {
    const b = buckets?.[i] as RatioBucket
    if (b.ts < sinceTs) break
    sum += b.sum
    n += b.n
    if (n >= minN) return sum / n
  }
  return undefined
}

/**
 * Water-balance evidence: consecutive runs of at least `chunkMin` minutes of good-sun pumping
 * since `sinceTs` (newest first), as the share of metered litres that reached the bank: its rise
 * plus what the farm draws meanwhile (`drawLpm`, the reference), over the metered litres; as many
 * as fill `totalMin`; undefined when there is not that much yet.
 */
export function balanceEvidence(buckets: readonly BalanceBucket[] | undefined, sinceTs: number, drawLpm: number, chunkMin: number, totalMin = chunkMin): number[] | undefined {
  const out: number[] = []
  let chunk = { l: 0, rise: 0, ms: 0 }
  let total = 0
  for (let i = (buckets?.length ?? 0) - 1; i >= 0; i--) {
    const b = buckets?.[i] as BalanceBucket
    if (b.ts < sinceTs) break
    chunk = { l: chunk.l + b.l, rise: chunk.rise + b.rise, ms: chunk.ms + b.ms }
    if (chunk.ms < chunkMin * 60_000) continue
    out.push((chunk.rise + (drawLpm * chunk.ms) / 60_000) / chunk.l)
    total += chunk.ms
    chunk = { l: 0, rise: 0, ms: 0 }
    if (total >= totalMin * 60_000) return out
  }
  return undefined
}

/** After a logged repair: judge against the old value from the repair on, and learn anew from the next day. */
export function relearn(r: ReferenceRecord | undefined, atTs: number, day: string): ReferenceRecord {
  return { ...(r?.value === undefined ? {} : { value: r.value, learnedTs: r.learnedTs }), sinceTs: atTs, basis: 'maintenance', learning: { days: [], afterDay: day } }
}

/**
 * The newest good-sun evidence since `sinceTs`, in consecutive runs of at least `chunkWh`
 * watt-hours each (whole buckets, newest first), as many as fill `totalWh`; undefined when there
 * is not that much yet. Judged by energy, not by the clock: a night, a rainy day or a stopped
 * pump adds nothing and proves nothing.
 */
export function evidence(buckets: readonly EnergyBucket[] | undefined, sinceTs: number, chunkWh: number, totalWh = chunkWh): Array<{ l: number; wh: number }> | undefined {
  const chunks: Array<{ l: number; wh: number }> = []
  let chunk = { l: 0, wh: 0 }
  let total = 0
  for (let i = (buckets?.length ?? 0) - 1; i >= 0; i--) {
    const b = buckets?.[i] as EnergyBucket
    if (b.ts < sinceTs) break
    chunk = { l: chunk.l + b.l, wh: chunk.wh + b.wh }
    if (chunk.wh < chunkWh) continue
    chunks.push(chunk)
    total += chunk.wh
    chunk = { l: 0, wh: 0 }
    if (total >= totalWh) return chunks
  }
  return undefined
}
