/**
 * The battery soil probe (reference/domain.md §4.1, §4.2, §4.5): a capacitive v1.2 sensor read
 * by the ESP32's 12-bit ADC at 11 dB, converted to VWC with the firmware's nominal calibration
 * (so each unit's offset and gain show as a bias), and an 18650 cell drained by deep-sleep wakes.
 */
import { type Rng, clamp, hashSeed } from './rng.js'

export interface ProbeSpec {
  v_air: number
  v_sat: number
  theta_sat: number
  exponent: number
  /** ADC full scale at 11 dB on a typical chip, V; response compresses above 2.45 V. */
  adc_full_v: number
  noise_counts: number
  temp_coeff_v_per_c: number
  drift_v_per_day: number
}

export const CAPACITIVE_V12: ProbeSpec = {
  v_air: 2.6,
  v_sat: 1.05,
  theta_sat: 0.45,
  exponent: 0.7,
  adc_full_v: 3.1,
  noise_counts: 6,
  temp_coeff_v_per_c: -0.002,
  drift_v_per_day: 0.0003,
}

/** This unit's deviation from the nominal sensor, fixed by its id. */
export interface ProbeUnit {
  offset_v: number
  gain: number
}

export function probeUnit(seed: string, device: string): ProbeUnit {
  const a = hashSeed(seed, device, 'offset') / 4_294_967_296
  const b = hashSeed(seed, device, 'gain') / 4_294_967_296
  return { offset_v: (a - 0.5) * 0.1, gain: 1 + (b - 0.5) * 0.1 }
}

/** Sensor output voltage for a true water content (domain.md §4.2 simulator mapping). */
export function sensorVolts(p: ProbeSpec, u: ProbeUnit, theta: number, soil_c: number, ageDays: number): number {
  const x = clamp(theta / p.theta_sat, 0, 1) ** p.exponent
  const v = p.v_air - (p.v_air - p.v_sat) * x * u.gain
  return v + u.offset_v + p.temp_coeff_v_per_c * (soil_c - 25) + p.drift_v_per_day * ageDays
}

/** ESP32 ADC at 11 dB: linear to 2.45 V, compressed above, saturating at 4095. */
export function adcCounts(p: ProbeSpec, volts: number): number {
  const v = volts > 2.45 ? 2.45 + (volts - 2.45) * 0.5 : volts
  return clamp(Math.round((v / p.adc_full_v) * 4095), 0, 4095)
}

export function countsToVolts(p: ProbeSpec, raw: number): number {
  const v = (raw / 4095) * p.adc_full_v
  return v > 2.45 ? 2.45 + (v - 2.45) / 0.5 : v
}

/** The firmware's conversion with nominal constants, percent VWC clamped to 0..100. */
export function vwcFromRaw(p: ProbeSpec, raw: number): number {
  const v = countsToVolts(p, raw)
  const x = clamp((p.v_air - v) / (p.v_air - p.v_sat), 0, 1.2)
  return clamp(100 * p.theta_sat * x ** (1 / p.exponent), 0, 100)
}

/** One reading: an average of 16 samples, so noise shrinks by 4. */
export function readProbe(p: ProbeSpec, u: ProbeUnit, theta: number, soil_c: number, ageDays: number, rng: Rng): number {
  return clamp(Math.round(adcCounts(p, sensorVolts(p, u, theta, soil_c, ageDays)) + rng.normal(0, p.noise_counts)), 0, 4095)
}

/** Soil temperature at 10-15 cm: a damped, lagged copy of the air's swing, cooler when raining. */
export function soilTemperature(air_c: number, localHour: number, raining: boolean): number {
  return 27.5 + 0.35 * (air_c - 28) + 1.5 * Math.sin((2 * Math.PI * (localHour - 11)) / 24) - (raining ? 0.7 : 0)
}

// --- battery: 18650, deep-sleep node ---

export interface BatterySpec {
  capacity_mah: number
  active_ma: number
  sleep_ua: number
  t_active_median_s: number
}

export const CELL_18650: BatterySpec = { capacity_mah: 2500, active_ma: 120, sleep_ua: 20, t_active_median_s: 1.2 }

/** Resting open-circuit voltage by state of charge (domain.md §4.5, 18650 row). */
const OCV: ReadonlyArray<readonly [number, number]> = [
  [0, 3.0], [0.05, 3.45], [0.1, 3.68], [0.2, 3.74], [0.3, 3.77], [0.4, 3.79],
  [0.5, 3.82], [0.6, 3.87], [0.7, 3.92], [0.8, 3.98], [0.9, 4.06], [1, 4.2],
]

export function ocv(soc: number): number {
  const x = clamp(soc, 0, 1)
  for (let i = 1; i < OCV.length; i++) {
    const [s1, v1] = OCV[i] as readonly [number, number]
    const [s0, v0] = OCV[i - 1] as readonly [number, number]
    if (x <= s1) return v0 + ((v1 - v0) * (x - s0)) / (s1 - s0)
  }
  return 4.2
}

/** Wi-Fi transmit sags the cell by 50-150 mV while the reading is taken (§4.5). */
export function batteryVolts(soc: number, rng: Rng): number {
  return clamp(Math.round((ocv(soc) - rng.uniform(0.05, 0.12)) * 100) / 100, 0, 5)
}

/**
 * State of charge after a sleep of `sleep_s` and one wake of `active_s` (lognormal, heavy tail),
 * with `extraSleep_ua` of leakage (a failing cell or regulator: the low_battery fault) and a
 * charger that adds `charge_ma` for `charge_s` seconds.
 */
export function drainBattery(b: BatterySpec, soc: number, sleep_s: number, active_s: number, extraSleep_ua = 0, charge_mah = 0): number {
  const used_mah = ((b.sleep_ua + extraSleep_ua) / 1000) * (sleep_s / 3600) + b.active_ma * (active_s / 3600)
  return clamp(soc + (charge_mah - used_mah) / b.capacity_mah, 0, 1)
}

export const wakeSeconds = (b: BatterySpec, rng: Rng): number => Math.min(15, b.t_active_median_s * Math.exp(rng.normal(0, 0.5)))
