/**
 * A plausible simulated week of a Ranong pilot farm (two pumps, three soil plots, a water
 * bank and a tank), plus one pump on a second farm: telemetry, status and events as InfluxDB
 * line protocol through the contracts' own point mapping (every payload validated by the zod
 * schemas); alerts and maintenance as data, for the alerts service's mapping to store.
 * Seeded and a pure function of `endMs`. The simulated sun is shifted so the last reading is
 * at 11:00 sun time: a pump is running "now" whatever the wall clock says.
 */
import type { Kind } from '../contracts/names.js'
import { DeviceEvent, PumpTelemetry, SoilTelemetry, Status, WaterbankTelemetry } from '../contracts/payloads.js'
import { type Point, toLineProtocol, toPoint } from '../contracts/points.js'
import type { AlertEventType, AlertStatus, Severity } from '../contracts/alert-storage.js'

export const SAMPLE_FARM = 'ranong-01'
export const SECOND_FARM = 'ranong-02'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const PUMP_STEP = 5 * MIN
const SOIL_STEP = 15 * MIN
const BANK_STEP = 10 * MIN

/** mulberry32: small, seeded, good enough for noise. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits
/** Bangkok midnight (UTC+7, no DST) at or before `ms`: the device's "today" counter resets there. */
const localMidnight = (ms: number) => ms - ((ms + 7 * HOUR) % DAY)

/** One alert of the farm, event by event (an alert record's life in the alerts service). */
export interface AlertEpisode {
  kind: Kind
  device: string
  /** One of the alerts service's RULE_IDS. */
  rule: string
  severity: Severity
  steps: Array<{ type: AlertEventType; status: AlertStatus; atMs: number; by?: string; contactId?: string; channel?: string }>
}

export interface MaintenanceVisit {
  device: string
  type: string
  note: string
  by: string
  atMs: number
}

export interface SampleWeek {
  /** Telemetry, status and events of both farms, as line protocol (ms precision). */
  lines: string[]
  /** Alerts and maintenance of SAMPLE_FARM. */
  episodes: AlertEpisode[]
  visits: MaintenanceVisit[]
}

interface Window {
  fromMs: number
  toMs: number
}
const inside = (t: number, w: Window) => t >= w.fromMs && t < w.toMs

export function sampleWeek(endMs: number, seed = 7): SampleWeek {
  const random = rng(seed)
  const noise = (size: number) => (random() - 0.5) * 2 * size
  const end = endMs - (endMs % PUMP_STEP)
  const start = end - 7 * DAY
  /** Sun hour (0-24) of a time: 11:00 at `end`. */
  const sunHour = (t: number) => (((((t - end) / HOUR + 11) % 24) + 24) % 24)
  const clouds = Array.from({ length: 8 * 24 }, () => 0.55 + random() * 0.45)
  const irradiance = (t: number) => {
    const h = sunHour(t)
    const clear = Math.max(0, Math.sin((Math.PI * (h - 6.5)) / 12)) * 950
    return clear * (clouds[Math.floor((t - start) / HOUR)] ?? 1)
  }
  const lines: string[] = []
  const emit = (p: Point | undefined) => {
    if (p !== undefined) lines.push(toLineProtocol(p))
  }
  const at = (farm: string, kind: Kind, device: string, channel: 'telemetry' | 'status' | 'event') => ({ farm, kind, device, channel })

  const dryRun: Window = { fromMs: start + 3 * DAY + 2 * HOUR, toMs: start + 3 * DAY + 3 * HOUR }
  const overheating: Window = { fromMs: end - 40 * MIN, toMs: end + MIN }

  // Pumps: every 5 minutes; the flow of ranong-01's pumps fills its tank and waters its plots.
  const pumping = new Map<number, number>()
  const pumps = [
    { farm: SAMPLE_FARM, device: 'pump-1', size: 1, faults: [] as Array<{ w: Window; code: 'DRY_RUN' | 'OVERTEMP' }> },
    {
      farm: SAMPLE_FARM,
      device: 'pump-2',
      size: 0.8,
      faults: [
        { w: dryRun, code: 'DRY_RUN' as const },
        { w: overheating, code: 'OVERTEMP' as const },
      ],
    },
    { farm: SECOND_FARM, device: 'pump-1', size: 1.2, faults: [] },
  ]
  for (const p of pumps) {
    let volume = 0
    let runS = 1_200_000 * p.size
    let seq = 0
    for (let t = start; t <= end; t += PUMP_STEP) {
      if (t === localMidnight(t)) volume = 0
      const g = irradiance(t)
      const pvW = g * 1.1 * p.size * 0.9
      const fault = p.faults.find((f) => inside(t, f.w))?.code ?? null
      const state = fault !== null ? 'fault' : pvW > 90 ? 'running' : pvW > 0 ? 'weak_sun' : 'idle'
      const running = state === 'running'
      const flow = running ? Math.max(0, Math.min(60, (35 * (pvW - 90)) / 900) + noise(0.5)) : 0
      if (running) {
        volume += flow * (PUMP_STEP / MIN)
        runS += PUMP_STEP / 1000
        if (p.farm === SAMPLE_FARM) pumping.set(t, (pumping.get(t) ?? 0) + flow)
      }
      const pvV = pvW > 0 ? 62 + 26 * Math.min(1, pvW / 400) + noise(1) : 0
      const payload = PumpTelemetry.parse({
        ts: t,
        seq: seq++,
        boot: 3,
        pv_v: round(Math.max(0, pvV)),
        pv_a: round(pvV > 0 ? pvW / pvV : 0, 2),
        pv_w: round(pvW),
        motor_a: round(running ? (pvW * 0.9) / 48 : 0, 2),
        motor_rpm: Math.round(running ? 1500 + (1400 * pvW) / 1000 : 0),
        flow_lpm: round(Math.max(0, flow)),
        pressure_bar: round(running ? 2.2 + pvW / 1000 + noise(0.05) : 0, 2),
        ctrl_temp_c: round(fault === 'OVERTEMP' ? 88 : 29 + pvW / 25 + noise(0.5)),
        volume_l_today: Math.round(volume),
        run_s_total: Math.round(runS),
        state,
        fault,
        irradiance_wm2: round(g),
        rssi_dbm: Math.round(-75 + noise(6)),
      })
      emit(toPoint(at(p.farm, 'pump', p.device, 'telemetry'), payload))
    }
    emit(toPoint(at(p.farm, 'pump', p.device, 'status'), Status.parse({ online: true, ts: start, boot: 3, fw: '1.4.2' })))
  }
  const pumpedLitres = (from: number, to: number) => {
    let litres = 0
    for (const [t, flow] of pumping) if (t >= from && t < to) litres += flow * (PUMP_STEP / MIN)
    return litres
  }

  // Soil plots: dry 1.3 %VWC a day, wet up while the pumps run (drip irrigation).
  for (const [i, device] of ['soil-1', 'soil-2', 'soil-3'].entries()) {
    let vwc = 17 - i * 3
    let seq = 0
    for (let t = start; t <= end; t += SOIL_STEP) {
      vwc += -1.3 * (SOIL_STEP / DAY) + (pumpedLitres(t - SOIL_STEP, t) / 1000) * (i === 1 ? 0.1 : 0.6)
      vwc = Math.min(26, Math.max(6, vwc))
      const payload = SoilTelemetry.parse({
        ts: t,
        seq: seq++,
        boot: 1,
        vwc_pct: round(vwc + noise(0.2)),
        raw_adc: Math.round(2600 - vwc * 40),
        soil_temp_c: round(26 + 2 * Math.sin((Math.PI * (sunHour(t) - 9)) / 12)),
        battery_v: round(3.95 - (t - start) / (40 * DAY), 2),
      })
      emit(toPoint(at(SAMPLE_FARM, 'soil', device, 'telemetry'), payload))
    }
    emit(toPoint(at(SAMPLE_FARM, 'soil', device, 'status'), Status.parse({ online: true, ts: start, boot: 1, fw: '0.9.0' })))
  }

  // The water bank gives what the pumps take; the tank fills from them and drains to the plots.
  const banks = [
    { device: 'bank-1', heightCm: 300, capacityL: 40_000, level: 0.8, sign: -1 },
    { device: 'tank-1', heightCm: 180, capacityL: 2_000, level: 0.3, sign: 1 },
  ]
  for (const b of banks) {
    let seq = 0
    for (let t = start; t <= end; t += BANK_STEP) {
      const inflow = b.sign * pumpedLitres(t - BANK_STEP, t)
      const drain = b.sign > 0 ? 15 : -6 // the tank feeds the drip lines; rain recharges the bank
      b.level = Math.min(1, Math.max(0.05, b.level + (inflow - drain) / b.capacityL))
      const payload = WaterbankTelemetry.parse({
        ts: t,
        seq: seq++,
        boot: 2,
        level_cm: round(b.level * b.heightCm),
        level_pct: round(b.level * 100),
        volume_l: Math.round(b.level * b.capacityL),
        battery_v: round(4.05 - (t - start) / (50 * DAY), 2),
        rssi_dbm: Math.round(-88 + noise(4)),
      })
      emit(toPoint(at(SAMPLE_FARM, 'waterbank', b.device, 'telemetry'), payload))
    }
    emit(toPoint(at(SAMPLE_FARM, 'waterbank', b.device, 'status'), Status.parse({ online: true, ts: start, boot: 2, fw: '1.1.0' })))
  }

  const event = (device: string, ts: number, type: string, fault: 'DRY_RUN' | 'OVERTEMP' | null, detail: string) =>
    emit(toPoint(at(SAMPLE_FARM, 'pump', device, 'event'), DeviceEvent.parse({ ts, type, fault, detail })))
  event('pump-2', dryRun.fromMs, 'fault', 'DRY_RUN', 'no flow at full speed')
  event('pump-2', dryRun.toMs, 'fault_cleared', null, 'flow back')
  event('pump-2', overheating.fromMs, 'fault', 'OVERTEMP', 'heatsink 88 C')

  // Alerts and maintenance as data: the test writes them with the alerts service's own mapping.
  const episodes: AlertEpisode[] = [
    {
      kind: 'pump',
      device: 'pump-2',
      rule: 'dry_run',
      severity: 'critical',
      steps: [
        { type: 'pending', status: 'pending', atMs: dryRun.fromMs },
        { type: 'fire', status: 'firing', atMs: dryRun.fromMs + 5 * MIN },
        { type: 'notify', status: 'firing', atMs: dryRun.fromMs + 5 * MIN + 2_000, contactId: 'farmer-1', channel: 'line' },
        { type: 'ack', status: 'acknowledged', atMs: dryRun.fromMs + 20 * MIN, by: 'farmer-1' },
        { type: 'resolve', status: 'resolved', atMs: dryRun.toMs + 10 * MIN, by: 'system' },
      ],
    },
    {
      kind: 'pump',
      device: 'pump-2',
      rule: 'overtemp',
      severity: 'warning',
      steps: [
        { type: 'fire', status: 'firing', atMs: overheating.fromMs + 5 * MIN },
        { type: 'ack', status: 'acknowledged', atMs: end - 10 * MIN, by: 'somchai' },
      ],
    },
    { kind: 'soil', device: 'soil-2', rule: 'soil_dry', severity: 'warning', steps: [{ type: 'fire', status: 'firing', atMs: end - 2 * DAY }] },
  ]
  const visits: MaintenanceVisit[] = [
    { device: 'pump-1', type: 'strainer', note: 'ล้างตะแกรงกรอง · cleaned the strainer', by: 'somchai', atMs: end - 4 * DAY },
    { device: 'bank-1', type: 'inspection', note: 'ตรวจบ่อ · checked the well', by: 'malee', atMs: end - 2 * DAY },
  ]
  return { lines, episodes, visits }
}
