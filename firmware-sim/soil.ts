/**
 * Root-zone water balance of one intercrop plot (reference/domain.md §4.3, §4.4): crop ET with
 * FAO-56 stress below the readily available water, rain infiltration capped by Ks, drainage
 * above field capacity, and drip pulses that wet the bulb around the probe. Lateritic sandy
 * loam defaults.
 */
import { clamp } from './rng.js'

export interface SoilSpec {
  theta_sat: number
  theta_fc: number
  theta_wp: number
  /** Air-dry floor: ET stops, slow surface evaporation does not go below this. */
  theta_min: number
  root_m: number
  /** Depletion fraction p (FAO-56). */
  p: number
  ks_mm_h: number
  drain_tau_h: number
}

export const SANDY_LOAM: SoilSpec = {
  theta_sat: 0.42,
  theta_fc: 0.2,
  theta_wp: 0.09,
  theta_min: 0.05,
  root_m: 0.3,
  p: 0.45,
  ks_mm_h: 15,
  drain_tau_h: 24,
}

export interface Crop {
  name: string
  kc: number
  root_m: number
}

/** Intercrops between rubber rows in Ranong (Kc from FAO-56, domain.md §4.4). */
export const CROPS: readonly Crop[] = [
  { name: 'vegetables', kc: 1.0, root_m: 0.3 },
  { name: 'banana', kc: 1.05, root_m: 0.5 },
  { name: 'coffee', kc: 0.95, root_m: 0.5 },
  { name: 'pineapple', kc: 0.5, root_m: 0.3 },
  { name: 'galangal', kc: 0.9, root_m: 0.3 },
]

/** The moisture below which the farmer irrigates: FC - p * (FC - WP). */
export const irrigationTrigger = (s: SoilSpec): number => s.theta_fc - s.p * (s.theta_fc - s.theta_wp)

/** FAO-56 water stress coefficient Ks. */
export function stressFactor(s: SoilSpec, theta: number): number {
  const raw = irrigationTrigger(s)
  if (theta >= raw) return 1
  return clamp((theta - s.theta_wp) / (raw - s.theta_wp), 0, 1)
}

export interface SoilFlows {
  eto_mm_h: number
  rain_mm_h: number
  /** Drip water reaching the probe's bulb, mm of depth over the bulb, in this step. */
  irrigation_mm: number
  kc: number
}

/** Volumetric water content after `dt_s`. Never leaves [theta_min, theta_sat]. */
export function stepSoil(s: SoilSpec, root_m: number, theta: number, f: SoilFlows, dt_s: number): number {
  const h = dt_s / 3600
  const depth_mm = root_m * 1000
  const infiltration = Math.min(f.rain_mm_h, s.ks_mm_h) * h + f.irrigation_mm
  // Transpiration stops at the wilting point; a little surface evaporation goes on below it.
  const et = f.kc * f.eto_mm_h * h * (theta > s.theta_wp ? stressFactor(s, theta) : 0.05)
  let next = theta + (infiltration - et) / depth_mm
  if (next > s.theta_fc) next -= (next - s.theta_fc) * (1 - Math.exp(-h / s.drain_tau_h))
  return clamp(next, s.theta_min, s.theta_sat)
}
