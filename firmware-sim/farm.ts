/**
 * One farm's physics: weather, PV array, pump and controller, borewell, water bank, drip
 * irrigation and the soil of each monitored plot, stepped on a fixed time grid so the state at
 * a given time does not depend on who asks for it. `stepFarm` is pure; `FarmModel` keeps the
 * state and advances it on demand.
 */
import { Climate, type Weather } from './climate.js'
import { type ControllerEvent, type ControllerState, initialController, stepController } from './controller.js'
import { type ActiveFault, has, heatFaults, hydraulicFaults, pvFaults } from './faults.js'
import { type PumpSpec, type Well, waterAtIntake } from './pump.js'
import { type PvArray, type PvPoint, pvPoint, stepSoiling } from './pv.js'
import { type SoilSpec, stepSoil } from './soil.js'
import { type Place, localDayIndex, localHour } from './sun.js'
import { type BankSpec, type BankState, available, capacityL, stepBank } from './waterbank.js'

export interface PlotSpec {
  /** The soil probe in this plot. */
  device: string
  crop: string
  kc: number
  root_m: number
  soil: SoilSpec
  area_m2: number
  /** Share of the plot the drip wets; the probe sits in the wetted bulb. */
  wetted: number
  drip_lph: number
}

export interface FarmSpec {
  farm: string
  training: boolean
  place: Place
  /** Farms of one zone share rainy days. */
  zone: string
  pv: PvArray
  pump: PumpSpec
  well: Well
  bank: BankSpec
  plots: readonly PlotSpec[]
  /** The farmer opens the drip at this local hour when a plot is below its trigger; undefined: never. */
  irrigate_h: number | undefined
  devices: { pump: string; waterbank: string }
}

export interface FarmState {
  tMs: number
  ctrl: ControllerState
  bank: BankState
  theta: number[]
  /** Litres still to drip on each plot today. */
  dripLeft_l: number[]
  soiling: number
  weather: Weather
  pv: PvPoint
  /** Pump controller events not yet taken by the pump device. */
  events: Array<{ ts: number; ev: ControllerEvent }>
  lastIrrigationDay: number
}

export const DAY_STEP_S = 5
export const NIGHT_STEP_S = 60

export function initialFarm(spec: FarmSpec, climate: Climate, tMs: number, fill = 0.5, theta0?: number): FarmState {
  const weather = climate.at(tMs)
  return {
    tMs,
    ctrl: initialController(localDayIndex(spec.place, tMs), weather.temp_c),
    bank: { volume_l: capacityL(spec.bank) * fill, floatOpen: false, overflow_l_today: 0 },
    theta: spec.plots.map((p) => theta0 ?? p.soil.theta_fc - 0.01),
    dripLeft_l: spec.plots.map(() => 0),
    soiling: 0.01,
    weather,
    pv: { pmp_w: 0, vmp_v: 0, voc_v: 0, cell_c: weather.temp_c },
    events: [],
    lastIrrigationDay: -1,
  }
}

export interface FarmFaults {
  /** Faults on the pump device, and on the water-bank device. */
  pump: readonly ActiveFault[]
  waterbank: readonly ActiveFault[]
}

const NONE: FarmFaults = { pump: [], waterbank: [] }

export function stepFarm(spec: FarmSpec, climate: Climate, prev: FarmState, faults: FarmFaults, dt_s: number): FarmState {
  const tMs = prev.tMs + dt_s * 1000
  const w = climate.at(tMs)
  const hour = localHour(spec.place, tMs)
  const day = localDayIndex(spec.place, tMs)
  const rain_mm = (w.rain_mm_h * dt_s) / 3600
  const pvf = pvFaults(faults.pump)
  const soiling = stepSoiling(prev.soiling, dt_s, rain_mm, spec.pv.soiling_per_day)
  const poa = w.ghi_wm2 * 1.02 // ~10 degree south tilt near the equator (domain.md §2.1)
  const pv = pvPoint(spec.pv, { poa_wm2: poa, air_c: w.temp_c, soiling: soiling + pvf.extraSoiling, broken_strings: pvf.brokenStrings })
  const hyd = hydraulicFaults(faults.pump, tMs)
  hyd.dry = hyd.dry || !waterAtIntake(spec.well, prev.ctrl.flow_m3h)
  const heat = heatFaults(faults.pump)
  const floatStuck = has(faults.pump, 'float_switch_failure') !== undefined || has(faults.waterbank, 'float_switch_failure') !== undefined
  const { state: ctrl, events } = stepController(
    spec.pump,
    spec.well,
    prev.ctrl,
    {
      pv,
      poa_wm2: poa,
      air_c: w.temp_c,
      tankFull: prev.bank.floatOpen,
      hyd,
      sunHeat: heat.sunHeat,
      loadHeat: heat.loadHeat,
      tempSensorBad: has(faults.pump, 'out_of_range_sensor') !== undefined,
      day,
    },
    dt_s,
    tMs,
  )

  // The farmer's drip round: in the morning, each dry plot gets back to field capacity.
  const dripLeft_l = [...prev.dripLeft_l]
  let lastIrrigationDay = prev.lastIrrigationDay
  if (spec.irrigate_h !== undefined && day !== lastIrrigationDay && hour >= spec.irrigate_h) {
    lastIrrigationDay = day
    spec.plots.forEach((p, i) => {
      const theta = prev.theta[i] ?? p.soil.theta_fc
      if (theta < p.soil.theta_fc - 0.02) {
        const want = (p.soil.theta_fc - theta) * p.root_m * 1000 * p.area_m2 * p.wetted
        dripLeft_l[i] = Math.min(want, p.drip_lph * 2.5)
      }
    })
  }
  let bankVolume = prev.bank.volume_l
  const theta = spec.plots.map((p, i) => {
    const asked = Math.min(dripLeft_l[i] ?? 0, (p.drip_lph * dt_s) / 3600)
    const got = available({ ...prev.bank, volume_l: bankVolume }, asked)
    bankVolume -= got
    dripLeft_l[i] = Math.max(0, (dripLeft_l[i] ?? 0) - asked)
    const irrigation_mm = got / (p.area_m2 * p.wetted)
    return stepSoil(p.soil, p.root_m, prev.theta[i] ?? p.soil.theta_fc, { eto_mm_h: w.eto_mm_h, rain_mm_h: w.rain_mm_h, irrigation_mm, kc: p.kc }, dt_s)
  })
  const irrigation_l = prev.bank.volume_l - bankVolume
  const bank = stepBank(
    spec.bank,
    prev.bank,
    {
      inflow_l: (ctrl.delivered_m3h * 1000 * dt_s) / 3600,
      irrigation_l,
      rain_mm,
      evap_mm: (1.1 * w.eto_mm_h * dt_s) / 3600,
      hour,
      floatStuck,
    },
    dt_s,
  )
  if (day !== prev.ctrl.day) bank.overflow_l_today = 0
  const stamped = events.map((ev) => ({ ts: tMs, ev }))
  return {
    tMs,
    ctrl,
    bank,
    theta,
    dripLeft_l,
    soiling,
    weather: w,
    pv,
    events: stamped.length > 0 ? [...prev.events, ...stamped].slice(-50) : prev.events,
    lastIrrigationDay,
  }
}

/** Keeps a farm's state and advances it on the grid: 5 s by day, 60 s by night. */
export class FarmModel {
  readonly climate: Climate
  state: FarmState

  constructor(
    readonly spec: FarmSpec,
    readonly seed: string,
    startMs: number,
    private readonly faultsOf: () => FarmFaults = () => NONE,
  ) {
    this.climate = new Climate(seed, spec.zone, spec.place, spec.farm)
    const aligned = Math.floor(startMs / (NIGHT_STEP_S * 1000)) * NIGHT_STEP_S * 1000
    this.state = initialFarm(spec, this.climate, aligned)
  }

  advanceTo(tMs: number): FarmState {
    for (;;) {
      const st = this.state
      const busy = st.weather.clear_wm2 > 0 || st.ctrl.mode !== 'idle' || st.dripLeft_l.some((l) => l > 0)
      let dt = busy ? DAY_STEP_S : NIGHT_STEP_S
      // Night steps stay on the minute grid, so the result does not depend on who asked when.
      if (!busy && st.tMs % (NIGHT_STEP_S * 1000) !== 0) dt = DAY_STEP_S
      if (st.tMs + dt * 1000 > tMs) return st
      this.state = stepFarm(this.spec, this.climate, st, this.faultsOf(), dt)
    }
  }

  /** Controller events up to now, taken once. */
  takeEvents(): Array<{ ts: number; ev: ControllerEvent }> {
    const out = this.state.events
    if (out.length > 0) this.state = { ...this.state, events: [] }
    return out
  }

  /** Applies a pure change to the controller (operator commands). */
  updateController(change: (st: ControllerState) => { state: ControllerState; events: ControllerEvent[] }, tMs: number): void {
    const { state, events } = change(this.state.ctrl)
    this.state = { ...this.state, ctrl: state, events: [...this.state.events, ...events.map((ev) => ({ ts: tMs, ev }))] }
  }
}
