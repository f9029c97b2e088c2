/**
 * A 48 V DC brushless submersible centrifugal pump in a borewell, lifting into the farm's water
 * bank (reference/domain.md §1.2, §1.3 system B). Affinity laws: head H0*s^2 - b*Q^2 against the
 * system curve (static lift + well drawdown + friction), so flow follows speed and speed follows
 * the PV power the controller can take. Shaft power goes as s^2.5 rather than the ideal s^3: with
 * a static lift, a slow pump works far from its best point and wastes more (wire-to-water about
 * 0.38 at mid and full speed, 0 at the speed that just holds the column).
 */
import { clamp } from './rng.js'

export interface PumpSpec {
  n_max_rpm: number
  /** Shut-off head at full speed, m. */
  h0_m: number
  /** Pump curve coefficient, m per (m3/h)^2. */
  b_m_per_m3h2: number
  /** Shaft power at full speed on the design duty, W. */
  shaft_max_w: number
  /** Motor and controller efficiency together. */
  eta_drive: number
  v_motor_nom: number
  i_max_a: number
  /** PV power needed to start, and below which a running pump gives up, W. */
  p_start_w: number
  p_hold_w: number
  restart_s: number
  dry_run_backoff_min: readonly number[]
  max_dry_retries_day: number
  ctrl_trip_c: number
  ctrl_resume_c: number
  derate_start_c: number
}

/** Reference system B (domain.md §1.3, §7), sized for a 600 Wp array. */
export const PUMP_48V: PumpSpec = {
  n_max_rpm: 3600,
  h0_m: 70,
  b_m_per_m3h2: 6.25,
  shaft_max_w: 470,
  eta_drive: 0.85,
  v_motor_nom: 48,
  i_max_a: 15,
  p_start_w: 90,
  p_hold_w: 60,
  restart_s: 90,
  dry_run_backoff_min: [15, 30, 60],
  max_dry_retries_day: 8,
  ctrl_trip_c: 85,
  ctrl_resume_c: 70,
  derate_start_c: 75,
}

export interface Well {
  /** Depth of the resting water level below ground, m. */
  static_m: number
  /** Specific capacity: m3/h per m of drawdown. */
  sc_m3h_per_m: number
  intake_m: number
  /** Height of the water-bank inlet above the wellhead, m. */
  rise_m: number
  /** Delivery pipe friction, m per (m3/h)^2. */
  k_m_per_m3h2: number
}

export const WELL_B: Well = { static_m: 13, sc_m3h_per_m: 1.0, intake_m: 20, rise_m: 11.5, k_m_per_m3h2: 0.9 }

/** What a fault does to the water path. All zero when healthy. */
export interface HydraulicFaults {
  /** Extra suction loss from a clogged intake, m per (m3/h)^2. */
  clog_k: number
  /** Share of the delivery that escapes through a leak, 0..1. */
  leak: number
  /** Extra mechanical loss from bearing and impeller wear, fraction of shaft power. */
  wear: number
  /** True when the water is below the intake (or the pump lost prime). */
  dry: boolean
}

export const HEALTHY: HydraulicFaults = { clog_k: 0, leak: 0, wear: 0, dry: false }

export interface Duty {
  flow_m3h: number
  /** Outlet pressure at the wellhead, m of water. */
  pressure_m: number
  /** Total dynamic head, m. */
  tdh_m: number
  /** Flow that reaches the water bank, m3/h. */
  delivered_m3h: number
}

/** Flow at relative speed `s` (0..1): the pump curve meets the system curve. */
export function dutyAt(spec: PumpSpec, well: Well, s: number, f: HydraulicFaults): Duty {
  const none = { flow_m3h: 0, pressure_m: 0, tdh_m: 0, delivered_m3h: 0 }
  if (f.dry || s <= 0) return none
  // A leak short-cuts part of the lift and friction: the pump runs out on its curve.
  const rise = well.rise_m * (1 - 0.8 * f.leak)
  const kDelivery = well.k_m_per_m3h2 * (1 - 0.7 * f.leak)
  const a = spec.b_m_per_m3h2 + kDelivery + f.clog_k
  const bq = 1 / well.sc_m3h_per_m // drawdown grows with flow
  const c = well.static_m + rise - spec.h0_m * s * s
  if (c >= 0) return { ...none, pressure_m: Math.max(0, spec.h0_m * s * s - well.static_m) }
  const q = (-bq + Math.sqrt(bq * bq - 4 * a * c)) / (2 * a)
  const pressure_m = rise + kDelivery * q * q
  const tdh_m = well.static_m + bq * q + pressure_m + f.clog_k * q * q
  return { flow_m3h: q, pressure_m, tdh_m, delivered_m3h: q * (1 - 0.85 * f.leak) }
}

/** Water level below ground while pumping `q` m3/h: above the intake or not. */
export function waterAtIntake(well: Well, q_m3h: number, extraDrawdown_m = 0): boolean {
  return well.static_m + q_m3h / well.sc_m3h_per_m + extraDrawdown_m < well.intake_m - 0.3
}

const POWER_EXP = 2.5

/** Shaft power the pump asks for at relative speed `s`, W. A dry pump moves no water: 35 %. */
export function shaftPower(spec: PumpSpec, s: number, f: HydraulicFaults): number {
  return spec.shaft_max_w * s ** POWER_EXP * (1 + f.wear) * (f.dry ? 0.35 : 1)
}

/** Speed reached with `input_w` from the PV, capped at full speed and by a thermal derate. */
export function speedFor(spec: PumpSpec, input_w: number, f: HydraulicFaults, cap = 1): number {
  const atFull = spec.shaft_max_w * (1 + f.wear) * (f.dry ? 0.35 : 1)
  return clamp(((input_w * spec.eta_drive) / atFull) ** (1 / POWER_EXP), 0, cap)
}

/** PV input power drawn at speed `s`, W. */
export function inputPower(spec: PumpSpec, s: number, f: HydraulicFaults): number {
  return shaftPower(spec, s, f) / spec.eta_drive
}

/** Brushless motor: voltage follows speed; current is what carries the power. */
export function motorCurrent(spec: PumpSpec, s: number, input_w: number): number {
  if (s <= 0 || input_w <= 0) return 0
  return (input_w * 0.96) / (spec.v_motor_nom * Math.max(0.2, s))
}

/** Heatsink temperature the controller settles to, degC; `sunHeat` and `loadHeat` scale by fault. */
export function ctrlTargetTemp(air_c: number, poa_wm2: number, input_w: number, sunHeat = 1, loadHeat = 1): number {
  return air_c + 8 * (poa_wm2 / 1000) * sunHeat + 0.03 * input_w * loadHeat
}
