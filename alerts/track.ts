/**
 * What the engine remembers about one device between readings: the recent window (for durations,
 * medians, stuck sensors and the alert snapshot), the reporting interval, per-day aggregates
 * (days to learn a reference from, PV reference, digest) and good-sun pumping in energy buckets
 * (the evidence references are judged on). Pure updates of a plain record.
 */
import type { Kind } from '../contracts/names.js'
import type { PumpTelemetry, WaterbankTelemetry } from '../contracts/payloads.js'
import { bangkok } from './clock.js'

export interface Sample {
  ts: number
  receivedMs: number
  p: Record<string, unknown>
}

export interface DayStats {
  day: string
  /** Litres and PV watt-hours over running samples in good sun (efficiency, domain.md 5). */
  goodL: number
  goodWh: number
  /** Mean of pv_w / irradiance over running samples in good sun (PV reference when the array size is unknown). */
  pvRatioSum: number
  pvRatioN: number
  runFirstS?: number
  runLastS?: number
  volumeL: number
  /** An alert (other than offline) was open on the device this day: not a healthy day to learn from. */
  disturbed?: boolean
  /** Pump: motor current and flow at each operating point (PV power bin) in good sun (bearing wear). */
  op?: OpTable
  /** Pump: sum and count of pv_w / irradiance on clear-sky samples (PV soiling). */
  clearSum?: number
  clearN?: number
  /** Pump: metered litres, the water bank's rise (litres, its geometry) and minutes over good-sun pumping (water balance). */
  balL?: number
  balRise?: number
  balMs?: number
}

/** Per PV power bin (`OP_BIN_W` wide): sum of motor_a, sum of flow_lpm, samples. */
export type OpTable = Record<string, [number, number, number]>

/** One hour (wear) or 15 minutes (PV, balance) of device time of evidence, from its first sample `ts`. */
export interface OpBucket {
  ts: number
  op: OpTable
}
export interface RatioBucket {
  ts: number
  /** PV: sum of ratios and samples. Balance: metered litres, bank rise in litres, milliseconds. */
  sum: number
  n: number
}
export interface BalanceBucket {
  ts: number
  l: number
  rise: number
  ms: number
}

/** Good-sun pumping in one bucket of device time: litres and PV watt-hours, from the bucket's first sample `ts`. */
export interface EnergyBucket {
  ts: number
  l: number
  wh: number
}

export interface DeviceTrack {
  farm: string
  kind: Kind
  device: string
  firstSeenMs: number
  /** Server time of the last telemetry (any ts: a late or repeated reading still proves the link). */
  lastTelemetryMs: number
  /** Device time of the newest telemetry evaluated. */
  lastTs: number
  /** From `status` (and telemetry after a Last Will): false after a Last Will, with the server time it arrived. */
  online?: boolean
  offlineSinceMs?: number
  /** A status message was ever seen: the device holds a connection (and has a Last Will). */
  statusSeen?: boolean
  /** Server times of recent Last Wills: a link that keeps dropping is flapping, reported once. */
  lwtTimesMs?: number[]
  samples: Sample[]
  gapsMs: number[]
  /**
   * Power drawn per (krpm)^3 while pumping water (EWMA; affinity laws, P ~ n^3): at a given speed
   * a dry pump draws far less (domain.md 5, dry running). With the fastest speed seen.
   */
  powerRef?: number
  powerRefN: number
  rpmMax?: number
  pvMaxW?: number
  /** The watched reading (pump flow, soil raw ADC, water-bank level) repeated exactly: a frozen sensor. */
  repeat?: { value: number; sinceTs: number; count: number; pvMinW: number; pvMaxW: number }
  /** Water bank: level_cm per level_pct, learned from mid-range readings (what 100 % is in cm). */
  cmPerPct?: number
  days: DayStats[]
  /** The newest good-sun pumping, in buckets: the evidence the reference rules judge (issue 15). */
  goodSun?: EnergyBucket[]
  /** Pump: operating points (wear), clear-sky PV ratios (soiling), water balance, newest first kept. */
  opRecent?: OpBucket[]
  clearRecent?: RatioBucket[]
  balance?: BalanceBucket[]
  /** Pump: litres and milliseconds of pumping water in sun >= 300 W/m2 since the track began (the bank's balance reads it). */
  goodTotal?: { l: number; ms: number }
  /** Water bank: the last reading's volume and the farm pump's good-sun totals then. */
  bankMark?: { ts: number; volumeL: number; levelPct: number; pumpL: number; pumpMs: number }
}

export const DEFAULT_INTERVAL_MS: Readonly<Record<Kind, number>> = { pump: 60_000, soil: 900_000, waterbank: 300_000 }
const WINDOW_MS = 30 * 60_000
const MIN_KEPT = 16
const MAX_KEPT = 64
const MAX_GAPS = 15
const MAX_DAYS = 35
/** Good-sun buckets: 15 minutes of device time each, the newest 96 kept (a day of good sun and more). */
const BUCKET_MS = 15 * 60_000
const MAX_BUCKETS = 96
/** Irradiance above which a sample counts as good sun for efficiency and PV reference. */
export const GOOD_SUN_WM2 = 500
/** Water balance counts pumping from here (a monsoon day has little good sun; the flow is still well above the draw). */
const PUMPING_SUN_WM2 = 300
/** Operating-point bins for wear: PV power in 25 W steps; hourly buckets, the newest 48 kept. */
export const OP_BIN_W = 25
const OP_BUCKET_MS = 3_600_000
const MAX_OP_BUCKETS = 48
/** Clear sky: at least this irradiance, within `CLEAR_STEADY` of the previous sample (no cloud edge). */
const CLEAR_SKY_WM2 = 600
const CLEAR_STEADY = 0.03
const DERATE_C = 75

export function newTrack(farm: string, kind: Kind, device: string, nowMs: number): DeviceTrack {
  return { farm, kind, device, firstSeenMs: nowMs, lastTelemetryMs: 0, lastTs: 0, samples: [], gapsMs: [], powerRefN: 0, days: [] }
}

export const median = (values: readonly number[]): number | undefined => {
  if (values.length === 0) return undefined
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** The device's reporting interval: median gap of recent device timestamps, else the kind's default. */
export function intervalMs(track: DeviceTrack, overrideS?: number | null): number {
  if (overrideS) return overrideS * 1000
  const m = median(track.gapsMs)
  return m === undefined ? DEFAULT_INTERVAL_MS[track.kind] : Math.min(Math.max(m, 5_000), 6 * 3_600_000)
}

/**
 * Adds one telemetry payload. Returns false for a reading not newer than the last one (QoS 1
 * redelivery, or an out-of-order flush): it proves the device is alive but is not evaluated.
 */
export function addTelemetry(track: DeviceTrack, payload: Record<string, unknown>, receivedMs: number): boolean {
  track.lastTelemetryMs = Math.max(track.lastTelemetryMs, receivedMs)
  track.online = true
  track.offlineSinceMs = undefined
  const ts = payload.ts as number
  if (ts <= track.lastTs) return false
  const prevTs = track.lastTs
  if (prevTs > 0) {
    track.gapsMs.push(ts - prevTs)
    if (track.gapsMs.length > MAX_GAPS) track.gapsMs.shift()
  }
  track.lastTs = ts
  track.samples.push({ ts, receivedMs, p: payload })
  let drop = 0
  while (
    track.samples.length - drop > MAX_KEPT ||
    (track.samples.length - drop > MIN_KEPT && (track.samples[drop] as Sample).ts < ts - WINDOW_MS)
  ) drop++
  if (drop > 0) track.samples.splice(0, drop)
  const prev = track.samples[track.samples.length - 2]?.p as PumpTelemetry | undefined
  addRepeat(track, payload, ts)
  if (track.kind === 'pump') addPumpStats(track, payload as unknown as PumpTelemetry, prevTs, prev)
  if (track.kind === 'waterbank') {
    const w = payload as unknown as WaterbankTelemetry
    if (w.level_pct > 5 && w.level_pct < 95) {
      const r = w.level_cm / w.level_pct
      track.cmPerPct = track.cmPerPct === undefined ? r : track.cmPerPct + 0.05 * (r - track.cmPerPct)
    }
  }
  return true
}

const WATCHED: Readonly<Record<Kind, string>> = { pump: 'flow_lpm', soil: 'raw_adc', waterbank: 'level_cm' }

function addRepeat(track: DeviceTrack, payload: Record<string, unknown>, ts: number): void {
  const value = payload[WATCHED[track.kind]]
  const pv = typeof payload.pv_w === 'number' ? payload.pv_w : 0
  if (typeof value !== 'number') return
  const r = track.repeat
  if (r && r.value === value) {
    r.count += 1
    r.pvMinW = Math.min(r.pvMinW, pv)
    r.pvMaxW = Math.max(r.pvMaxW, pv)
  } else track.repeat = { value, sinceTs: ts, count: 1, pvMinW: pv, pvMaxW: pv }
}

export function dayOf(track: DeviceTrack, day: string): DayStats {
  let last = track.days[track.days.length - 1]
  if (last?.day !== day) {
    last = { day, goodL: 0, goodWh: 0, pvRatioSum: 0, pvRatioN: 0, volumeL: 0 }
    track.days.push(last)
    if (track.days.length > MAX_DAYS) track.days.shift()
  }
  return last
}

function addPumpStats(track: DeviceTrack, p: PumpTelemetry, prevTs: number, prev: PumpTelemetry | undefined): void {
  const stats = dayOf(track, bangkok(p.ts).day)
  stats.runFirstS ??= p.run_s_total
  stats.runLastS = p.run_s_total
  stats.volumeL = Math.max(stats.volumeL, p.volume_l_today)
  track.pvMaxW = Math.max(track.pvMaxW ?? 0, p.pv_w)
  if (p.state !== 'running') return
  if (p.flow_lpm > 0 && p.fault === null && p.motor_rpm > 0) {
    // A slow EWMA: a failing pump's readings barely move the reference before the alert fires.
    track.rpmMax = Math.max(track.rpmMax ?? 0, p.motor_rpm)
    const perRpm3 = p.pv_w / (p.motor_rpm / 1000) ** 3
    track.powerRefN += 1
    const alpha = Math.max(0.02, 1 / track.powerRefN)
    track.powerRef = track.powerRef === undefined ? perRpm3 : track.powerRef + alpha * (perRpm3 - track.powerRef)
  }
  // Integrate over the gap, but never across an outage: cap at twice the usual interval.
  const dtMs = prevTs > 0 ? Math.min(p.ts - prevTs, 2 * intervalMs(track)) : 0
  const sunShare = (wm2: number) => (p.irradiance_wm2 === undefined ? p.pv_w >= (wm2 / 1000) * (track.pvMaxW ?? Infinity) : p.irradiance_wm2 >= wm2)
  if (p.fault === null && p.flow_lpm > 0 && sunShare(PUMPING_SUN_WM2)) {
    const total = (track.goodTotal ??= { l: 0, ms: 0 })
    total.l += (p.flow_lpm * dtMs) / 60_000
    total.ms += dtMs
  }
  if (!sunShare(GOOD_SUN_WM2)) return
  if (p.irradiance_wm2 !== undefined) {
    stats.pvRatioSum += p.pv_w / p.irradiance_wm2
    stats.pvRatioN += 1
  }
  const l = (p.flow_lpm * dtMs) / 60_000
  const wh = (p.pv_w * dtMs) / 3_600_000
  stats.goodL += l
  stats.goodWh += wh
  const buckets = (track.goodSun ??= [])
  const last = buckets[buckets.length - 1]
  if (last && Math.floor(last.ts / BUCKET_MS) === Math.floor(p.ts / BUCKET_MS)) {
    last.l += l
    last.wh += wh
  } else {
    buckets.push({ ts: p.ts, l, wh })
    if (buckets.length > MAX_BUCKETS) buckets.shift()
  }
  if (p.fault === null && p.flow_lpm > 0) addOperatingPoint(track, stats, p)
  if (p.irradiance_wm2 !== undefined) addClearSky(track, stats, p, prev)
}

/** Motor current and flow at this PV power (bearing wear: more current, less flow at the same point). */
function addOperatingPoint(track: DeviceTrack, stats: DayStats, p: PumpTelemetry): void {
  const bin = String(Math.floor(p.pv_w / OP_BIN_W))
  addOp((stats.op ??= {}), bin, p)
  const buckets = (track.opRecent ??= [])
  let last = buckets[buckets.length - 1]
  if (!last || Math.floor(last.ts / OP_BUCKET_MS) !== Math.floor(p.ts / OP_BUCKET_MS)) {
    last = { ts: p.ts, op: {} }
    buckets.push(last)
    if (buckets.length > MAX_OP_BUCKETS) buckets.shift()
  }
  addOp(last.op, bin, p)
}

function addOp(t: OpTable, bin: string, p: PumpTelemetry): void {
  const e = (t[bin] ??= [0, 0, 0])
  e[0] += p.motor_a
  e[1] += p.flow_lpm
  e[2] += 1
}

/**
 * PV power per W/m2 on clear-sky samples only (strong, steady irradiance: no cloud edge, no
 * diffuse monsoon light), below the pump's own power ceiling and its derating temperature (a
 * throttled pump is not soiled).
 */
function addClearSky(track: DeviceTrack, stats: DayStats, p: PumpTelemetry, prev: PumpTelemetry | undefined): void {
  const g = p.irradiance_wm2 as number
  const g0 = prev?.irradiance_wm2
  if (g < CLEAR_SKY_WM2 || g0 === undefined || prev?.state !== 'running' || Math.abs(g - g0) > CLEAR_STEADY * g) return
  if (p.pv_w >= 0.95 * (track.pvMaxW ?? Infinity)) return
  // A hot controller derates (speed -2 %/C above 75 C): less power drawn, not dirtier panels.
  if (p.ctrl_temp_c !== undefined && p.ctrl_temp_c >= DERATE_C) return
  const r = p.pv_w / g
  stats.clearSum = (stats.clearSum ?? 0) + r
  stats.clearN = (stats.clearN ?? 0) + 1
  addRatio((track.clearRecent ??= []), p.ts, r, 1)
}

function addRatio(buckets: RatioBucket[], ts: number, sum: number, n: number): void {
  const last = buckets[buckets.length - 1]
  if (last && Math.floor(last.ts / BUCKET_MS) === Math.floor(ts / BUCKET_MS)) {
    last.sum += sum
    last.n += n
  } else {
    buckets.push({ ts, sum, n })
    if (buckets.length > MAX_BUCKETS) buckets.shift()
  }
}

/** Longest bank interval judged: a missed reading or two, not an outage. */
const BALANCE_GAP_MS = 20 * 60_000
/** Above this the bank may be spilling (a stuck float): its rise says nothing. A working float stops the pump at 97 %. */
const BANK_FULL_PCT = 98

/**
 * Water balance (pipe leak): on each water-bank reading, the litres the farm's pump metered since
 * the bank's previous reading against the bank's rise in litres (its own geometry: `volume_l`).
 * Counted only when the pump pumped water in sun (>= 300 W/m2) through the whole interval (a bank drawn by the
 * household while the pump stands still says nothing about the pipe) and the bank was neither
 * near empty nor near full (an overflowing bank cannot rise). Added to the pump's track.
 */
export function addBalance(bank: DeviceTrack, pump: DeviceTrack | undefined, w: WaterbankTelemetry): void {
  const total = pump?.goodTotal
  const mark = bank.bankMark
  bank.bankMark = { ts: w.ts, volumeL: w.volume_l, levelPct: w.level_pct, pumpL: total?.l ?? 0, pumpMs: total?.ms ?? 0 }
  if (!pump || !total || !mark) return
  const dt = w.ts - mark.ts
  if (dt <= 0 || dt > BALANCE_GAP_MS || total.ms - mark.pumpMs < 0.9 * dt) return
  if (Math.max(w.level_pct, mark.levelPct) >= BANK_FULL_PCT || Math.min(w.level_pct, mark.levelPct) <= 3) return
  const l = total.l - mark.pumpL
  const rise = w.volume_l - mark.volumeL
  if (l <= 0) return
  const stats = dayOf(pump, bangkok(w.ts).day)
  stats.balL = (stats.balL ?? 0) + l
  stats.balRise = (stats.balRise ?? 0) + rise
  stats.balMs = (stats.balMs ?? 0) + dt
  const buckets = (pump.balance ??= [])
  const last = buckets[buckets.length - 1]
  if (last && Math.floor(last.ts / BUCKET_MS) === Math.floor(w.ts / BUCKET_MS)) {
    last.l += l
    last.rise += rise
    last.ms += dt
  } else {
    buckets.push({ ts: w.ts, l, rise, ms: dt })
    if (buckets.length > MAX_BUCKETS) buckets.shift()
  }
}

/** The newest sample, typed by the caller's knowledge of the kind. */
export function latest<T>(track: DeviceTrack): T | undefined {
  return track.samples[track.samples.length - 1]?.p as T | undefined
}

/** The last `windowMs` of readings (server receive time and payload) for an alert's snapshot. */
export function snapshotOf(track: DeviceTrack, windowMs: number): Array<{ receivedMs: number; payload: Record<string, unknown> }> {
  const from = track.lastTs - windowMs
  return track.samples.filter((s) => s.ts >= from).map((s) => ({ receivedMs: s.receivedMs, payload: s.p }))
}
