/**
 * Learned references (issue 15 "reference, not drift"): what one device looks like in healthy
 * operation, learned from its first healthy days (commissioning) and again after a logged repair,
 * then frozen. Long-term rules judge the device against it, never against its own recent past, so
 * a slow fault (a clogging intake) cannot become the new normal. Pure functions of plain records;
 * the records live in the durable alert state (state.json), not in the device tracks.
 */
import type { Kind } from '../contracts/names.js'
import { median, type DayStats, type DeviceTrack, type EnergyBucket } from './track.js'

/** A quantity a reference is learned for. Wear (current per shaft power) and PV ratio plug in here. */
export type MetricId = 'efficiency'

export interface MetricDef {
  kinds: readonly Kind[]
  /** The metric over one completed day, or undefined when the day cannot tell (too little good sun). */
  ofDay(day: DayStats, minEnergyWh: number): number | undefined
  /** The metric over a run of good-sun evidence (litres per PV Wh for efficiency). */
  ofEvidence(e: { l: number; wh: number }): number
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
  learning?: { days: Array<{ day: string; value: number }>; afterDay: string }
}

export const referenceKey = (farm: string, device: string, metric: MetricId) => `${farm}/${device}/${metric}`

export const commissioning = (): ReferenceRecord => ({ sinceTs: 0, basis: 'commissioning', learning: { days: [], afterDay: '' } })

/** What a rule judges against: the value and the time from which evidence counts. */
export interface Judged {
  value: number
  sinceTs: number
}

export const judged = (r: ReferenceRecord | undefined): Judged | undefined =>
  r?.value === undefined ? undefined : { value: r.value, sinceTs: r.sinceTs }

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
    if (value !== undefined && Number.isFinite(value)) taken.push({ day: d.day, value })
  }
  if (taken.length < days) return { ...r, learning: { days: taken, afterDay: newest.day } }
  const { learning: _done, ...rest } = r
  return { ...rest, value: median(taken.map((d) => d.value)) as number, learnedTs: track.lastTs }
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
