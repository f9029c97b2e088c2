/**
 * Ranong weather (reference/domain.md §2.3, §7): a wet/dry day Markov chain per weather zone
 * calibrated to monthly rain days, rain amounts and timing, the daily clear-sky index, smooth
 * intra-day cloud, air temperature and reference evapotranspiration.
 *
 * Every value is a pure function of (seed, zone, farm, time): a day's state comes from a short
 * burn-in of the chain with per-day uniforms fixed by hash, so backfill and live runs that start
 * on different dates agree about the same day.
 */
import { Rng, clamp, unitNoise } from './rng.js'
import { type Place, clearSkyDailyKwh, clearSkyGhi, cosZenith, localDayIndex, localHour } from './sun.js'

export interface ClimateTable {
  /** Clearness index of the daily total, relative to extraterrestrial (Jan..Dec). */
  kt_mean: readonly number[]
  rain_mm: readonly number[]
  rain_days: readonly number[]
  eto_mm_d: readonly number[]
  tmax_c: readonly number[]
  tmin_c: readonly number[]
}

/** domain.md §7 (kt, rain, ETo; [R]/[E] values) and Ranong station temperature normals [R]. */
export const RANONG_CLIMATE: ClimateTable = {
  kt_mean: [0.58, 0.6, 0.57, 0.53, 0.45, 0.4, 0.39, 0.39, 0.4, 0.45, 0.5, 0.55],
  rain_mm: [12, 20, 60, 135, 490, 745, 760, 840, 730, 360, 130, 40],
  rain_days: [2, 3, 5, 11, 22, 26, 27, 27, 26, 21, 12, 4],
  eto_mm_d: [4.3, 4.8, 5.0, 4.8, 4.0, 3.4, 3.3, 3.3, 3.4, 3.5, 3.6, 3.9],
  tmax_c: [32.5, 33.5, 34.3, 34.2, 32.0, 30.3, 29.8, 29.8, 29.7, 30.5, 31.0, 31.5],
  tmin_c: [21.5, 22.0, 23.0, 23.8, 24.0, 23.7, 23.5, 23.5, 23.3, 23.2, 22.8, 22.0],
}

/** Haurwitz clear-sky daily total over extraterrestrial at 10 N (domain.md §2.2: 7.45 / 10.25). */
const CLEAR_OVER_RA = 0.73
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const PERSISTENCE = 0.35
const BURN_IN_DAYS = 20

export interface RainEvent {
  start_h: number
  duration_h: number
  mm: number
}

export interface DayWeather {
  day: number
  month: number
  wet: boolean
  /** Daily clear-sky index: the day's GHI over clear-sky GHI. */
  kc: number
  /** Wet-season afternoon convection: clouds build after 13:00. */
  convective: boolean
  rain: readonly RainEvent[]
  tmax_c: number
  tmin_c: number
  eto_mm: number
  clear_kwh: number
}

export interface Weather {
  ghi_wm2: number
  /** Clear-sky GHI at this instant, W/m2 (what a clean panel would get on a clear day). */
  clear_wm2: number
  rain_mm_h: number
  temp_c: number
  eto_mm_h: number
}

const monthOf = (table: readonly number[], month: number): number => table[month - 1] ?? 0

export class Climate {
  private readonly days = new Map<number, DayWeather>()
  private readonly wetCache = new Map<number, boolean>()

  constructor(
    readonly seed: string,
    readonly zone: string,
    readonly place: Place,
    /** Intra-day cloud differs per farm; wet days are shared by a zone. */
    readonly farm: string,
    readonly table: ClimateTable = RANONG_CLIMATE,
  ) {}

  /** Chain parameters for a month: P(wet | dry yesterday), P(wet | wet yesterday). */
  private transition(month: number): { a: number; b: number; p: number } {
    const p = clamp(monthOf(this.table.rain_days, month) / (DAYS_IN_MONTH[month - 1] ?? 30), 0.01, 0.97)
    const b = p + (1 - p) * PERSISTENCE
    return { a: (p * (1 - b)) / (1 - p), b, p }
  }

  private isWet(day: number): boolean {
    const cached = this.wetCache.get(day)
    if (cached !== undefined) return cached
    let wet = false
    for (let d = day - BURN_IN_DAYS; d <= day; d++) {
      const month = new Date(d * 86_400_000).getUTCMonth() + 1
      const { a, b } = this.transition(month)
      wet = unitNoise(this.seed, this.zone, 'wet', d) < (wet ? b : a)
    }
    this.wetCache.set(day, wet)
    if (this.wetCache.size > 64) this.wetCache.delete(this.wetCache.keys().next().value as number)
    return wet
  }

  day(day: number): DayWeather {
    const cached = this.days.get(day)
    if (cached) return cached
    const month = new Date(day * 86_400_000).getUTCMonth() + 1
    const rng = Rng.of(this.seed, this.zone, 'day', day)
    const { p } = this.transition(month)
    const wet = this.isWet(day)
    const kcMonth = monthOf(this.table.kt_mean, month) / CLEAR_OVER_RA
    const kcWetMean = 0.45
    const kcDryMean = clamp((kcMonth - p * kcWetMean) / (1 - p), 0.6, 0.93)
    const rain: RainEvent[] = []
    let kc: number
    if (wet) {
      const meanMm = monthOf(this.table.rain_mm, month) / Math.max(1, monthOf(this.table.rain_days, month))
      let total = Math.min(250, rng.exponential(meanMm))
      const events = total > 15 && rng.chance(0.5) ? 2 : 1
      for (let i = 0; i < events; i++) {
        const mm = i === events - 1 ? total : total * rng.uniform(0.3, 0.7)
        total -= mm
        // Monsoon rain often starts in the afternoon; long stratiform rain can come any time.
        const start_h = rng.chance(0.6) ? rng.uniform(13, 19) : rng.uniform(0, 22)
        rain.push({ start_h, duration_h: clamp(0.4 + mm / 12 + rng.uniform(0, 1.5), 0.3, 8), mm })
      }
      const totalMm = rain.reduce((s, r) => s + r.mm, 0)
      kc = clamp(0.72 - 0.1 * Math.log1p(totalMm / 5) + rng.normal(0, 0.1), 0.1, 0.9)
    } else {
      kc = clamp(kcDryMean + rng.normal(0, 0.08), 0.3, 1)
    }
    const convective = month >= 5 && month <= 10 && rng.chance(0.5)
    const tmax_c = monthOf(this.table.tmax_c, month) - 3 * (1 - kc) + rng.normal(0, 0.6)
    const tmin_c = monthOf(this.table.tmin_c, month) + rng.normal(0, 0.5)
    const eto_mm = monthOf(this.table.eto_mm_d, month) * clamp(0.35 + (0.65 * kc) / kcMonth, 0.3, 1.3)
    const clear_kwh = clearSkyDailyKwh(this.place, day * 86_400_000 - this.place.tz_h * 3_600_000 + 43_200_000, 300)
    const dw: DayWeather = { day, month, wet, kc, convective, rain, tmax_c, tmin_c, eto_mm, clear_kwh }
    this.days.set(day, dw)
    if (this.days.size > 8) this.days.delete(this.days.keys().next().value as number)
    return dw
  }

  /** Smooth cloud noise in about [-1, 1]: value noise with 20-minute and 4-minute knots. */
  private cloudNoise(tMs: number): number {
    const layer = (periodMs: number, salt: string) => {
      const x = tMs / periodMs
      const i = Math.floor(x)
      const f = x - i
      const s = f * f * (3 - 2 * f)
      const a = unitNoise(this.seed, this.farm, salt, i) * 2 - 1
      const b = unitNoise(this.seed, this.farm, salt, i + 1) * 2 - 1
      return a + (b - a) * s
    }
    return 0.65 * layer(1_200_000, 'c20') + 0.35 * layer(240_000, 'c4')
  }

  at(tMs: number): Weather {
    const dayIdx = localDayIndex(this.place, tMs)
    const dw = this.day(dayIdx)
    const h = localHour(this.place, tMs)
    let rain_mm_h = 0
    for (const r of dw.rain) {
      if (h >= r.start_h && h < r.start_h + r.duration_h) rain_mm_h += r.mm / r.duration_h
    }
    const clear_wm2 = clearSkyGhi(cosZenith(this.place, tMs))
    let k = dw.kc
    if (dw.convective && h > 13) k *= 0.55
    // Variability is largest on broken-cloud days; cloud edges can lift k above 1 briefly.
    const variability = 1.6 * k * (1 - k) + 0.04
    k = clamp(k * (1 + variability * this.cloudNoise(tMs)), 0.05, 1.2)
    if (rain_mm_h > 0) k = Math.min(k, 0.12)
    const ghi_wm2 = clear_wm2 * k
    const temp_c = this.temperature(dw, h) - (rain_mm_h > 0 ? 3 : 0)
    const eto_mm_h = dw.clear_kwh > 0 ? (dw.eto_mm * clear_wm2) / (dw.clear_kwh * 1000) : 0
    return { ghi_wm2, clear_wm2, rain_mm_h, temp_c, eto_mm_h }
  }

  /** Minimum near 06:00, maximum near 14:30 local. */
  private temperature(dw: DayWeather, h: number): number {
    const amp = dw.tmax_c - dw.tmin_c
    if (h >= 6 && h <= 14.5) return dw.tmin_c + amp * (0.5 - 0.5 * Math.cos((Math.PI * (h - 6)) / 8.5))
    const since = h > 14.5 ? h - 14.5 : h + 9.5 // hours after the maximum, until 06:00
    return dw.tmin_c + amp * (0.5 + 0.5 * Math.cos((Math.PI * since) / 15.5))
  }
}
