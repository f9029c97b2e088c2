/**
 * What each device's sensors read from its farm's physical state: noise, quantisation, the
 * firmware's own conversions, and the sensor faults (stuck, out of range). Telemetry bodies
 * without the ts/seq/boot header, which the firmware adds. Pure but for the device's Rng.
 */
import type { PumpTelemetry, SoilTelemetry, WaterbankTelemetry } from '../contracts/payloads.js'
import { type ActiveFault, batteryLeakUa, has } from './faults.js'
import type { FarmSpec, FarmState, PlotSpec } from './farm.js'
import { CAPACITIVE_V12, CELL_18650, type ProbeUnit, batteryVolts, drainBattery, readProbe, soilTemperature, vwcFromRaw, wakeSeconds } from './probe.js'
import { operatingVoltage } from './pv.js'
import { motorAmps } from './controller.js'
import { type Rng, clamp, round } from './rng.js'
import { localHour } from './sun.js'
import { capacityL, levelCm, readLevel } from './waterbank.js'

type Body<T> = Omit<T, 'ts' | 'seq' | 'boot'>
export type PumpBody = Body<PumpTelemetry>
export type SoilBody = Body<SoilTelemetry>
export type WaterbankBody = Body<WaterbankTelemetry>

export interface SensorState {
  rng: Rng
  rssiBase_dbm: number
  /** Battery state of charge (soil probes, water-bank node). */
  soc: number
  /** Values frozen by stuck_sensor, taken at the first reading after the injection. */
  stuck: Record<string, number> | undefined
  installedMs: number
}

const noisy = (rng: Rng, x: number, sd: number, digits: number) => round(x + rng.normal(0, sd), digits)
const rssi = (s: SensorState) => clamp(Math.round(s.rssiBase_dbm + s.rng.normal(0, 2)), -120, -30)

/** Freezes the listed fields while stuck_sensor is active, and forgets them when it clears. */
function applyStuck<T extends Record<string, unknown>>(s: SensorState, faults: readonly ActiveFault[], body: T, fields: ReadonlyArray<keyof T & string>): T {
  if (!has(faults, 'stuck_sensor')) {
    s.stuck = undefined
    return body
  }
  if (!s.stuck) s.stuck = Object.fromEntries(fields.map((f) => [f, body[f] as number]))
  return { ...body, ...s.stuck }
}

export function pumpReading(spec: FarmSpec, st: FarmState, s: SensorState, faults: readonly ActiveFault[]): PumpBody {
  const c = st.ctrl
  const running = c.s > 0
  const pv_v = running ? operatingVoltage(st.pv, c.input_w) : st.pv.voc_v
  const pv_w = c.input_w
  const r = s.rng
  const body: PumpBody = {
    pv_v: clamp(noisy(r, pv_v, pv_v > 0 ? 0.3 : 0, 1), 0, 1000),
    pv_a: clamp(round(pv_v > 1 ? (pv_w / pv_v) * (1 + r.normal(0, 0.005)) : 0, 2), 0, 100),
    pv_w: clamp(round(pv_w * (1 + r.normal(0, 0.005)), 1), 0, 50_000),
    motor_a: clamp(round(motorAmps(spec.pump, c) * (1 + r.normal(0, 0.005)), 2), 0, 100),
    motor_rpm: running ? clamp(Math.round(c.s * spec.pump.n_max_rpm + r.normal(0, 8)), 0, 10_000) : 0,
    flow_lpm: c.flow_m3h > 0 ? clamp(round(((c.flow_m3h * 1000) / 60) * (1 + r.normal(0, 0.01)), 1), 0, 2_000) : 0,
    pressure_bar: clamp(noisy(r, c.pressure_m / 10.2, c.pressure_m > 0 ? 0.02 : 0, 2), 0, 40),
    ctrl_temp_c: has(faults, 'out_of_range_sensor') ? 125 : clamp(noisy(r, c.ctrl_c, 0.2, 1), -20, 125),
    volume_l_today: Math.round(c.volume_l_today),
    run_s_total: Math.round(c.run_s_total),
    state: c.mode,
    fault: c.fault,
    irradiance_wm2: clamp(Math.round(st.weather.ghi_wm2 * 1.02), 0, 1_600),
    rssi_dbm: rssi(s),
  }
  return applyStuck(s, faults, body, ['flow_lpm'])
}

/** Condensation on the transducer on some humid mornings (domain.md §3.5). */
const humidMorning = (hour: number, r: Rng): boolean => hour >= 6 && hour < 9 && r.chance(0.35)

export function waterbankReading(spec: FarmSpec, st: FarmState, s: SensorState, faults: readonly ActiveFault[], sinceLast_s: number): WaterbankBody | undefined {
  const b = spec.bank
  const hour = localHour(spec.place, st.tMs)
  // A small panel charges the node by day; the ESP32 draws about 15 mA around the clock.
  const charge_mah = has(faults, 'low_battery') ? 0 : (150 * (st.weather.ghi_wm2 / 1000) * sinceLast_s) / 3600
  s.soc = drainBattery({ ...CELL_18650, capacity_mah: 5000 }, s.soc, sinceLast_s, 0, 15_000 + batteryLeakUa(faults), charge_mah)
  const level = readLevel(b, levelCm(b, st.bank.volume_l), s.rng, humidMorning(hour, s.rng), { blind: has(faults, 'out_of_range_sensor') !== undefined })
  if (level === undefined) return undefined
  const body: WaterbankBody = {
    level_cm: level,
    level_pct: clamp(round((100 * level) / b.usable_cm, 1), 0, 100),
    volume_l: Math.round(Math.min(level * b.area_m2 * 10, capacityL(b) * 1.5)),
    battery_v: batteryVolts(s.soc, s.rng),
    rssi_dbm: rssi(s),
  }
  return applyStuck(s, faults, body, ['level_cm', 'level_pct', 'volume_l'])
}

export function soilReading(
  spec: FarmSpec,
  plot: PlotSpec,
  theta: number,
  st: FarmState,
  s: SensorState,
  unit: ProbeUnit,
  faults: readonly ActiveFault[],
  sinceLast_s: number,
): SoilBody {
  const hour = localHour(spec.place, st.tMs)
  const soil_c = soilTemperature(st.weather.temp_c, hour, st.weather.rain_mm_h > 0)
  const ageDays = Math.max(0, (st.tMs - s.installedMs) / 86_400_000)
  const raw = has(faults, 'out_of_range_sensor') ? 4095 : readProbe(CAPACITIVE_V12, unit, theta, soil_c, ageDays, s.rng)
  s.soc = drainBattery(CELL_18650, s.soc, sinceLast_s, wakeSeconds(CELL_18650, s.rng), batteryLeakUa(faults))
  const body: SoilBody = {
    vwc_pct: round(vwcFromRaw(CAPACITIVE_V12, raw), 1),
    raw_adc: raw,
    soil_temp_c: clamp(noisy(s.rng, soil_c, 0.1, 1), -20, 80),
    battery_v: batteryVolts(s.soc, s.rng),
    rssi_dbm: rssi(s),
  }
  return applyStuck(s, faults, body, ['raw_adc', 'vwc_pct'])
}

/** A probe browns out and stops below about 3.2 V under load (domain.md §4.5). */
export const browned = (soc: number): boolean => soc <= 0.03
