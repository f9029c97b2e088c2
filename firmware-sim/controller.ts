/**
 * The pump controller's own logic, as on the device (reference/domain.md §1.1, §1.5, §5): start
 * threshold and weak-sun retries every 90 s, tank-full stop by float switch, dry-run
 * self-protection with back-off, thermal derate and trip, a sensor fault that stops the pump, and
 * the operator commands stop/start/reset. Pure: (state, inputs, dt, now) -> state and events.
 */
import type { FaultCode, PumpState } from '../contracts/names.js'
import type { PvPoint } from './pv.js'
import {
  type HydraulicFaults,
  type PumpSpec,
  type Well,
  ctrlTargetTemp,
  dutyAt,
  inputPower,
  motorCurrent,
  speedFor,
} from './pump.js'

export interface ControllerState {
  mode: PumpState
  /** Relative speed 0..1. */
  s: number
  retryAtMs: number
  fault: FaultCode | null
  /** When an auto-recovering fault may retry; Infinity when latched until `reset`. */
  faultUntilMs: number
  underloadS: number
  dryRetriesToday: number
  stoppedByCmd: boolean
  ctrl_c: number
  input_w: number
  flow_m3h: number
  delivered_m3h: number
  pressure_m: number
  volume_l_today: number
  run_s_total: number
  day: number
}

export interface ControllerInputs {
  pv: PvPoint
  poa_wm2: number
  air_c: number
  /** Float switch open: the water bank is full. */
  tankFull: boolean
  hyd: HydraulicFaults
  /** Heating multipliers (controller_overheating). */
  sunHeat: number
  loadHeat: number
  /** The heatsink sensor reads out of range. */
  tempSensorBad: boolean
  /** Local day index, for the daily counters. */
  day: number
}

export interface ControllerEvent {
  type: 'state' | 'fault' | 'fault_cleared'
  fault?: FaultCode | null
  detail?: string
}

export function initialController(day: number, air_c: number, run_s_total = 0): ControllerState {
  return {
    mode: 'idle',
    s: 0,
    retryAtMs: 0,
    fault: null,
    faultUntilMs: 0,
    underloadS: 0,
    dryRetriesToday: 0,
    stoppedByCmd: false,
    ctrl_c: air_c,
    input_w: 0,
    flow_m3h: 0,
    delivered_m3h: 0,
    pressure_m: 0,
    volume_l_today: 0,
    run_s_total,
    day,
  }
}

const DARK_VOC_V = 20
const DRY_DETECT_S = 45
const CTRL_TAU_S = 480

export function stepController(
  spec: PumpSpec,
  well: Well,
  prev: ControllerState,
  inp: ControllerInputs,
  dt_s: number,
  nowMs: number,
): { state: ControllerState; events: ControllerEvent[] } {
  const events: ControllerEvent[] = []
  const st: ControllerState = { ...prev }
  if (inp.day !== st.day) {
    st.day = inp.day
    st.volume_l_today = 0
    st.dryRetriesToday = 0
  }
  const target = ctrlTargetTemp(inp.air_c, inp.poa_wm2, st.input_w, inp.sunHeat, inp.loadHeat)
  st.ctrl_c += (target - st.ctrl_c) * (1 - Math.exp(-dt_s / CTRL_TAU_S))

  const setMode = (mode: PumpState, detail?: string) => {
    if (st.mode === mode) return
    events.push({ type: 'state', detail: `${st.mode} -> ${mode}${detail ? `: ${detail}` : ''}` })
    st.mode = mode
  }
  const raise = (fault: FaultCode, untilMs: number, detail: string) => {
    st.fault = fault
    st.faultUntilMs = untilMs
    events.push({ type: 'fault', fault, detail })
    setMode('fault', fault)
  }
  const clearFault = (detail: string) => {
    events.push({ type: 'fault_cleared', fault: st.fault, detail })
    st.fault = null
    st.faultUntilMs = 0
    st.retryAtMs = nowMs
    setMode('weak_sun', 'retry after fault')
  }

  // Latched and recovering faults come first: the pump does not run while one is active.
  if (st.fault !== null && !st.stoppedByCmd) {
    if (st.fault === 'SENSOR_FAULT' && !inp.tempSensorBad) clearFault('sensor reads in range again')
    else if (st.fault === 'OVERTEMP' && st.ctrl_c < spec.ctrl_resume_c && !inp.tempSensorBad) clearFault('cooled down')
    else if (st.fault === 'DRY_RUN' && nowMs >= st.faultUntilMs) clearFault('dry-run back-off over')
  }
  if (!st.stoppedByCmd && st.fault === null && inp.tempSensorBad) {
    raise('SENSOR_FAULT', Infinity, 'heatsink temperature sensor out of range')
  }

  let s = 0
  if (st.stoppedByCmd) {
    setMode('off', 'stop command')
  } else if (st.fault !== null) {
    setMode('fault', st.fault)
  } else if (inp.pv.voc_v < DARK_VOC_V) {
    // Dark: the controller has no power; a full tank does not matter until morning.
    setMode('idle', 'no PV voltage')
    st.retryAtMs = nowMs
  } else if (inp.tankFull) {
    setMode('tank_full', 'float switch open')
    st.retryAtMs = nowMs + spec.restart_s * 1000
  } else {
    const running = st.mode === 'running'
    const canStart = inp.pv.pmp_w >= spec.p_start_w && nowMs >= st.retryAtMs
    if ((running && inp.pv.pmp_w >= spec.p_hold_w) || (!running && canStart)) {
      const derate = st.ctrl_c > spec.derate_start_c ? Math.max(0.5, 1 - 0.02 * (st.ctrl_c - spec.derate_start_c)) : 1
      s = speedFor(spec, inp.pv.pmp_w, inp.hyd, derate)
      setMode('running', running ? undefined : 'start')
    } else {
      if (running) st.retryAtMs = nowMs + spec.restart_s * 1000
      else if (nowMs >= st.retryAtMs) st.retryAtMs = nowMs + spec.restart_s * 1000
      setMode('weak_sun', running ? 'PV power below hold' : undefined)
    }
  }

  const input_w = s > 0 ? Math.min(inp.pv.pmp_w, inputPower(spec, s, inp.hyd)) : 0
  const duty = dutyAt(spec, well, s, inp.hyd)
  st.s = s
  st.input_w = input_w
  st.flow_m3h = duty.flow_m3h
  st.delivered_m3h = duty.delivered_m3h
  st.pressure_m = duty.pressure_m
  if (s > 0) {
    st.run_s_total += dt_s
    st.volume_l_today += (duty.flow_m3h * 1000 * dt_s) / 3600
    // Underload at speed: a pump moving no water draws 30-60 % of its normal power (§5).
    const expected = inputPower(spec, s, { ...inp.hyd, dry: false })
    st.underloadS = s >= 0.9 && input_w < 0.6 * expected ? st.underloadS + dt_s : 0
    if (st.underloadS >= DRY_DETECT_S) {
      st.underloadS = 0
      st.dryRetriesToday++
      const backoff = spec.dry_run_backoff_min[Math.min(st.dryRetriesToday, spec.dry_run_backoff_min.length) - 1] ?? 60
      const latched = st.dryRetriesToday >= spec.max_dry_retries_day
      raise('DRY_RUN', latched ? Infinity : nowMs + backoff * 60_000, latched ? 'dry run: retries exhausted, reset needed' : `dry run: retry in ${backoff} min`)
      stopPump(st)
    } else if (st.ctrl_c >= spec.ctrl_trip_c) {
      raise('OVERTEMP', Infinity, `heatsink ${st.ctrl_c.toFixed(1)} C`)
      stopPump(st)
    }
  } else {
    st.underloadS = 0
  }
  return { state: st, events }
}

function stopPump(st: ControllerState): void {
  st.s = 0
  st.input_w = 0
  st.flow_m3h = 0
  st.delivered_m3h = 0
  st.pressure_m = 0
}

/** Motor current at the present duty, A. */
export const motorAmps = (spec: PumpSpec, st: ControllerState): number => motorCurrent(spec, st.s, st.input_w)

export type PumpCommand = 'start' | 'stop' | 'reset'

/** Operator commands. `start` lifts a stop; `reset` also clears a latched fault. */
export function commandController(st: ControllerState, cmd: PumpCommand, nowMs: number): { state: ControllerState; events: ControllerEvent[] } {
  const next = { ...st }
  const events: ControllerEvent[] = []
  if (cmd === 'stop') {
    next.stoppedByCmd = true
    if (next.mode !== 'off') events.push({ type: 'state', detail: `${next.mode} -> off: stop command` })
    next.mode = 'off'
    stopPump(next)
    return { state: next, events }
  }
  next.stoppedByCmd = false
  if (cmd === 'reset' && next.fault !== null) {
    events.push({ type: 'fault_cleared', fault: next.fault, detail: 'reset command' })
    next.fault = null
    next.faultUntilMs = 0
    next.dryRetriesToday = 0
  }
  if (next.fault === null && (next.mode === 'off' || next.mode === 'fault')) {
    events.push({ type: 'state', detail: `${next.mode} -> weak_sun: ${cmd} command` })
    next.mode = 'weak_sun'
  }
  next.retryAtMs = nowMs
  return { state: next, events }
}
