/**
 * The farm's water bank (reference/domain.md §3): the pump fills it from the borewell; it feeds
 * the drip lines, the household and animals; it takes roof runoff, loses water to evaporation and
 * recharges the ground through its unlined floor. A float switch stops the pump when it is full.
 * Its level is read by a JSN-SR04T ultrasonic sensor (§3.5): millimetre noise, echo timeouts
 * (humid mornings), a ladder echo now and then, a median of five pings.
 */
import { type Rng, clamp } from './rng.js'

export interface BankSpec {
  area_m2: number
  usable_cm: number
  /** Ultrasonic transducer height above the bottom, cm. */
  sensor_cm: number
  blind_cm: number
  max_range_cm: number
  catchment_m2: number
  /** Seepage into the ground at full level, mm/day (the point of a water bank). */
  recharge_mm_d_full: number
  float_open_pct: number
  float_close_pct: number
  /** Household, animals, a nursery and plots without probes, litres per day, drawn 06:00-18:00. */
  other_draw_l_d: number
}

export const BANK_16M3: BankSpec = {
  area_m2: 8,
  usable_cm: 200,
  sensor_cm: 232,
  blind_cm: 25,
  max_range_cm: 450,
  catchment_m2: 40,
  recharge_mm_d_full: 60,
  float_open_pct: 97,
  float_close_pct: 85,
  other_draw_l_d: 7_000,
}

export interface BankState {
  volume_l: number
  floatOpen: boolean
  overflow_l_today: number
}

export const capacityL = (b: BankSpec): number => b.area_m2 * b.usable_cm * 10
export const levelCm = (b: BankSpec, volume_l: number): number => volume_l / (b.area_m2 * 10)

export interface BankFlows {
  /** From the pump, litres in this step. */
  inflow_l: number
  /** To the drip lines, litres in this step (limited by what is there). */
  irrigation_l: number
  rain_mm: number
  evap_mm: number
  /** Local hour, for the daytime draw. */
  hour: number
  /** A float that never opens (float_switch_failure). */
  floatStuck: boolean
}

export function stepBank(b: BankSpec, prev: BankState, f: BankFlows, dt_s: number): BankState {
  const cap = capacityL(b)
  const fullness = prev.volume_l / cap
  const daytime = f.hour >= 6 && f.hour < 18
  const other = daytime ? (b.other_draw_l_d * dt_s) / (12 * 3600) : 0
  const recharge = (b.recharge_mm_d_full * fullness * b.area_m2 * dt_s) / 86_400
  const gains = f.inflow_l + f.rain_mm * (b.catchment_m2 + b.area_m2)
  const losses = f.irrigation_l + other + recharge + f.evap_mm * b.area_m2
  let volume_l = prev.volume_l + gains - losses
  let overflow = 0
  if (volume_l > cap) {
    overflow = volume_l - cap
    volume_l = cap
  }
  volume_l = Math.max(0, volume_l)
  const pct = (100 * volume_l) / cap
  let floatOpen = prev.floatOpen
  if (pct >= b.float_open_pct) floatOpen = true
  else if (pct <= b.float_close_pct) floatOpen = false
  if (f.floatStuck) floatOpen = false
  return { volume_l, floatOpen, overflow_l_today: prev.overflow_l_today + overflow }
}

/** Litres the drip lines can take in this step: all asked for, or what the bank holds. */
export const available = (st: BankState, asked_l: number): number => Math.min(asked_l, st.volume_l)

export interface UltrasonicFaults {
  /** Something in the blind zone: every ping reads 0. */
  blind: boolean
}

/**
 * One level reading, cm above the bottom, as the firmware computes it from a median of five
 * pings; undefined when three or more pings time out (a dropout: nothing is published).
 */
export function readLevel(b: BankSpec, true_cm: number, rng: Rng, humidMorning: boolean, faults: UltrasonicFaults): number | undefined {
  const pings: number[] = []
  const timeoutP = humidMorning ? 0.45 : 0.03
  for (let i = 0; i < 5; i++) {
    if (faults.blind) {
      pings.push(0)
      continue
    }
    if (rng.chance(timeoutP)) continue
    // A ladder rung at 60 cm sends back an echo now and then.
    const distance = rng.chance(0.02) ? 60 : b.sensor_cm - true_cm + rng.normal(0, 0.4)
    if (distance < b.blind_cm || distance > b.max_range_cm) continue
    pings.push(distance)
  }
  if (pings.length < 3) return undefined
  pings.sort((x, y) => x - y)
  const median = pings[Math.floor(pings.length / 2)] ?? 0
  return clamp(Math.round((b.sensor_cm - median) * 10) / 10, 0, b.sensor_cm)
}
