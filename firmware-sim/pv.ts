/**
 * PV array (reference/domain.md §1.2 "PV array"): STC power derated by cell temperature (NOCT
 * model), soiling and wiring; Vmp rising logarithmically with irradiance; parallel strings that
 * can be lost; soiling that grows in dry spells and is partly washed by rain.
 */
import { clamp } from './rng.js'

export interface PvArray {
  module_wp: number
  modules_series: number
  strings_parallel: number
  /** Per module, at STC. */
  vmp_v: number
  voc_v: number
  /** Power temperature coefficient, 1/degC. */
  gamma_per_c: number
  /** Voc temperature coefficient, 1/degC. */
  beta_voc_per_c: number
  noct_c: number
  wiring_loss: number
  /** Soiling growth on dry days, fraction per day (domain.md: about 0.2 %/day). */
  soiling_per_day: number
}

/** 600 Wp: 2 strings of 2 x 150 Wp (60-cell) modules, Vmp about 64 V for a 48 V pump controller. */
export const PV_600: PvArray = {
  module_wp: 150,
  modules_series: 2,
  strings_parallel: 2,
  vmp_v: 32.2,
  voc_v: 39.6,
  gamma_per_c: -0.004,
  beta_voc_per_c: -0.0029,
  noct_c: 45,
  wiring_loss: 0.06,
  soiling_per_day: 0.002,
}

export const arrayWp = (pv: PvArray): number => pv.module_wp * pv.modules_series * pv.strings_parallel

export interface PvConditions {
  poa_wm2: number
  air_c: number
  /** Fraction of light lost to dirt, 0..1. */
  soiling: number
  /** Parallel strings that deliver nothing (open connector, blown fuse). */
  broken_strings: number
}

export interface PvPoint {
  /** Maximum power available, W. */
  pmp_w: number
  vmp_v: number
  voc_v: number
  cell_c: number
}

export function cellTemperature(pv: PvArray, poa_wm2: number, air_c: number): number {
  return air_c + ((pv.noct_c - 20) / 800) * poa_wm2
}

export function pvPoint(pv: PvArray, c: PvConditions): PvPoint {
  const cell_c = cellTemperature(pv, c.poa_wm2, c.air_c)
  const strings = Math.max(0, pv.strings_parallel - c.broken_strings)
  const g = c.poa_wm2 * (1 - clamp(c.soiling, 0, 1))
  if (g < 1 || strings === 0) {
    // Dark, or no string connected: the controller sees only a faint or no open-circuit voltage.
    const faint = strings === 0 ? 0 : clamp(g / 20, 0, 1)
    return { pmp_w: 0, vmp_v: 0, voc_v: pv.voc_v * pv.modules_series * faint, cell_c }
  }
  const temp = cell_c - 25
  const pmp_w = (pv.module_wp * pv.modules_series * strings * g * (1 + pv.gamma_per_c * temp) * (1 - pv.wiring_loss)) / 1000
  // Voltage holds near nominal from ~200 W/m2 up and collapses only in near darkness.
  const lightFactor = clamp(1 + 0.05 * Math.log(g / 1000), 0.55, 1.05)
  const voc_v = pv.voc_v * pv.modules_series * (1 + pv.beta_voc_per_c * temp) * clamp(1 + 0.04 * Math.log(g / 1000), 0.7, 1.03)
  const vmp_v = Math.min(voc_v * 0.9, pv.vmp_v * pv.modules_series * (1 + pv.beta_voc_per_c * temp) * lightFactor)
  return { pmp_w: Math.max(0, pmp_w), vmp_v, voc_v, cell_c }
}

/**
 * Operating point when the load takes `load_w` of the `pmp_w` available: the MPPT moves to the
 * right of the maximum power point, towards Voc, as the load shrinks.
 */
export function operatingVoltage(p: PvPoint, load_w: number): number {
  if (p.pmp_w <= 0) return p.voc_v
  const spare = clamp(1 - load_w / p.pmp_w, 0, 1)
  return p.vmp_v + (p.voc_v - p.vmp_v) * Math.sqrt(spare)
}

/**
 * Soiling after `dt_s`: grows while dry, washed by rain (about 60 % off per 8 mm, domain.md §7
 * rain_clean_mm). Dirt that rain cannot move (sap, droppings) is the panel_soiling fault.
 */
export function stepSoiling(soiling: number, dt_s: number, rain_mm: number, perDay: number): number {
  const s = (soiling + perDay * (dt_s / 86_400)) * Math.exp(-0.12 * rain_mm)
  return clamp(s, 0, 0.6)
}
