/**
 * The alert rules as typed data (issue 6 "Rules as typed data"), with per-farm and per-device
 * overrides. Threshold fields are named through the contract's payload types, so renaming a
 * field in contracts/payloads.ts breaks this file's build. Symptoms a threshold cannot express
 * (dry run, no flow, PV below prediction...) live in detectors.ts under the same rule id.
 * Night, clouds (`weak_sun`) and a full tank (`tank_full`) are pump states, never a rule.
 * Thresholds come from reference/domain.md section 5.
 */
import type { FaultCode, Kind } from '../contracts/names.js'
import { MINUTE_MS, HOUR_MS } from './clock.js'
import type { MetricId } from './references.js'
import { type Audience, type NumericField, RULE_IDS, type RuleId, type Severity, type TelemetryOf } from './types.js'

/** A hysteresis threshold on one telemetry field: trips past `trip`, clears past `reset`. */
export type Threshold = {
  [K in Kind]: {
    kind: K
    field: NumericField<TelemetryOf[K]>
    direction: 'above' | 'below'
    /** Names of the rule params holding the trip and reset values (null param = not checked). */
    trip: string
    reset: string
    /** A param: values at or past it are a broken sensor, not this condition (cannot tell). */
    implausible?: string
  }
}[Kind]

export type Params = Readonly<Record<string, number | null>>

/**
 * What a reading must show before its clear verdict counts (issue 15: "cannot tell" is never
 * "back to normal"). Outside it the verdict is unknown, so an open alert stays one incident
 * through the night, a cloudy day or a stopped pump, until the fault is seen gone.
 * - `pumping`: the pump runs (a controller stops itself on its own fault codes; night stops it too)
 * - `pumping_in_sun`: it runs with irradiance at or above param `clearSunWm2` (heat builds with sun and load)
 * - `float_stopped`: a pump of the farm stopped itself at a full tank (`tank_full`): the float switch works
 */
export type ClearEvidence = 'pumping' | 'pumping_in_sun' | 'float_stopped'

export interface RuleDef {
  id: RuleId
  kinds: readonly Kind[]
  severity: Severity
  audience: Audience
  enabled: boolean
  /** The condition must hold this long (data time) before the alert fires. */
  pendingMs: number
  /** Pending when a controller fault code decided: the controller has already debounced it. */
  faultPendingMs: number
  /** The clear condition must hold this long before the alert resolves (hysteresis). */
  clearMs: number
  fault?: FaultCode
  thresholds: readonly Threshold[]
  /** Has a symptom detector in detectors.ts. */
  detector: boolean
  /** While one of these is pending or open on the device, this rule stays quiet (inhibition). */
  inhibitedBy: readonly RuleId[]
  /** What a clear reading must show (default: nothing more than the rule's own clear condition). */
  clearsWhen?: ClearEvidence
  /**
   * Judged against the device's learned reference (references.ts), not its recent past: params
   * `referenceDays` (healthy days learned from) and what a day needs to count: `learnDayWh`
   * (good-sun energy), `learnDayMin` (minutes of good-sun pumping) or `learnDaySamples`.
   */
  reference?: MetricId
  params: Params
}

type Def = Omit<RuleDef, 'id' | 'enabled' | 'thresholds' | 'detector' | 'inhibitedBy' | 'faultPendingMs' | 'params'> &
  Partial<Pick<RuleDef, 'thresholds' | 'detector' | 'inhibitedBy' | 'faultPendingMs' | 'params'>>

const MIN = MINUTE_MS

const DEFS: Record<RuleId, Def> = {
  dry_run: {
    kinds: ['pump'], severity: 'critical', audience: 'farmer', pendingMs: 1 * MIN, clearMs: 5 * MIN,
    fault: 'DRY_RUN', detector: true, clearsWhen: 'pumping', params: { noFlowLpm: 1, underloadRatio: 0.6 },
  },
  overcurrent: {
    kinds: ['pump'], severity: 'critical', audience: 'farmer', pendingMs: 30_000, clearMs: 5 * MIN, fault: 'OVERCURRENT', clearsWhen: 'pumping',
    thresholds: [{ kind: 'pump', field: 'motor_a', direction: 'above', trip: 'maxMotorA', reset: 'resumeMotorA' }],
    params: { maxMotorA: null, resumeMotorA: null },
  },
  // A cool controller proves nothing at dusk, in weak sun or on a cool morning while it still
  // heats up: only half an hour of running in strong sun (four heat-up time constants) without
  // passing the resume temperature does.
  overtemp: {
    kinds: ['pump'], severity: 'warning', audience: 'farmer', pendingMs: 2 * MIN, clearMs: 30 * MIN, fault: 'OVERTEMP',
    inhibitedBy: ['sensor_fault'], clearsWhen: 'pumping_in_sun',
    thresholds: [{ kind: 'pump', field: 'ctrl_temp_c', direction: 'above', trip: 'tripC', reset: 'resumeC', implausible: 'sensorMaxC' }],
    params: { tripC: 80, resumeC: 70, sensorMaxC: 120, clearSunWm2: 750 },
  },
  // Controllers raise UNDERVOLT on a passing cloud too: only a lasting one is a fault.
  undervolt: {
    kinds: ['pump'], severity: 'warning', audience: 'farmer', pendingMs: 10 * MIN, faultPendingMs: 10 * MIN,
    clearMs: 10 * MIN, fault: 'UNDERVOLT', clearsWhen: 'pumping',
  },
  overvolt: {
    kinds: ['pump'], severity: 'critical', audience: 'technician', pendingMs: 1 * MIN, clearMs: 10 * MIN, fault: 'OVERVOLT', clearsWhen: 'pumping',
    thresholds: [{ kind: 'pump', field: 'pv_v', direction: 'above', trip: 'maxPvV', reset: 'resumePvV' }],
    params: { maxPvV: null, resumePvV: null },
  },
  locked_rotor: {
    kinds: ['pump'], severity: 'critical', audience: 'farmer', pendingMs: 0, clearMs: 5 * MIN, fault: 'LOCKED_ROTOR', clearsWhen: 'pumping',
  },
  sensor_fault: {
    kinds: ['pump'], severity: 'warning', audience: 'technician', pendingMs: 5 * MIN, faultPendingMs: 5 * MIN,
    clearMs: 10 * MIN, fault: 'SENSOR_FAULT', clearsWhen: 'pumping',
  },
  no_flow: {
    kinds: ['pump'], severity: 'critical', audience: 'farmer', pendingMs: 5 * MIN, clearMs: 5 * MIN, detector: true,
    inhibitedBy: ['dry_run', 'locked_rotor', 'overcurrent'], params: { noFlowLpm: 1, minSpeedRatio: 0.85 },
  },
  not_running: {
    kinds: ['pump'], severity: 'warning', audience: 'farmer', pendingMs: 20 * MIN, clearMs: 5 * MIN, detector: true,
    params: { minSunWm2: 400, tankFullPct: 95 },
  },
  pv_low: {
    kinds: ['pump'], severity: 'warning', audience: 'farmer', pendingMs: 30 * MIN, clearMs: 30 * MIN, detector: true,
    params: { minSunWm2: 400, arrayWp: null, derate: 0.8, lowRatio: 0.75, clearRatio: 0.85, windowSamples: 10 },
  },
  // Litres per PV Wh in good sun against the reference learned on the pump's first healthy days
  // (or since its last repair), judged on the newest `windowWh` of good-sun pumping; it clears
  // when every window of the newest `clearWh` is back near the reference, or when a repair is logged.
  efficiency_drop: {
    kinds: ['pump'], severity: 'warning', audience: 'farmer', pendingMs: 0, clearMs: 0, detector: true, reference: 'efficiency',
    params: { referenceDays: 3, learnDayWh: 500, windowWh: 500, clearWh: 1500, dropRatio: 0.75, clearRatio: 0.85 },
  },
  // Panels dirty: PV watts per W/m2 on clear-sky samples (strong, steady sun: a monsoon day's
  // few clear minutes count, its clouds do not) against the clean-panel reference, over the newest
  // `windowSamples` such samples. Below `brokenRatio` it is no dirt but a lost string: pv_low's.
  // pv_low open on the pump already tells the farmer: this one stays quiet then.
  pv_soiling: {
    kinds: ['pump'], severity: 'warning', audience: 'farmer', pendingMs: 0, clearMs: 0, detector: true, reference: 'pv_clear',
    inhibitedBy: ['pv_low'],
    params: { referenceDays: 3, learnDaySamples: 200, windowSamples: 300, dropRatio: 0.82, clearRatio: 0.92, brokenRatio: 0.6 },
  },
  // A leak between the meter and the water bank: the share of metered litres that reach the bank
  // in each `windowMin` window of the newest `fireMin` of pumping in sun: its rise (its volume, from its geometry) plus
  // what the farm draws from it meanwhile, learned as litres a minute on the healthy days. Quiet
  // while efficiency_drop is open: a clogged pump's low flow makes the draw look like a leak.
  water_balance: {
    kinds: ['pump'], severity: 'warning', audience: 'farmer', pendingMs: 0, clearMs: 0, detector: true, reference: 'balance',
    inhibitedBy: ['dry_run', 'no_flow', 'efficiency_drop'],
    params: { referenceDays: 3, learnDayMin: 90, windowMin: 75, fireMin: 225, clearMin: 300, dropRatio: 0.65, clearRatio: 0.85 },
  },
  // Bearing and impeller wear: at the same PV power, more motor current and less flow than on the
  // healthy days (a clog lowers the flow at the same current: efficiency_drop's). Judged on the
  // newest `windowHours` hours of good-sun pumping, at operating points the reference knows.
  // Quiet while efficiency_drop is open (a clog in the monsoon moved both once, seed h15-d).
  bearing_wear: {
    kinds: ['pump'], severity: 'warning', audience: 'technician', pendingMs: 0, clearMs: 0, detector: true, reference: 'wear',
    inhibitedBy: ['efficiency_drop'],
    params: { referenceDays: 3, learnDaySamples: 120, windowHours: 4, minSamples: 150, refMinSamples: 20, currentRatio: 1.012, flowRatio: 0.965, clearCurrent: 1.005, clearFlow: 0.985 },
  },
  offline: {
    kinds: ['pump', 'soil', 'waterbank'], severity: 'warning', audience: 'technician', pendingMs: 0, clearMs: 1 * MIN,
    detector: true,
    // A solar pump controller may sleep at night: silence counts only inside its awake hours (local
    // minutes). A device whose connection is up (birth seen, no Last Will) may skip readings (a
    // level sensor without an echo on a humid morning): it gets more missed intervals. A floor
    // on silence keeps a 5-second running interval from paging anyone over a blip.
    params: {
      missedIntervals: 2.5,
      missedIntervalsConnected: 6,
      minSilenceS: 150,
      lwtGraceS: 60,
      // Messages wait this long after the last sign of life: a shorter drop tells nobody (engine.ts).
      graceS: 270,
      intervalS: null,
      pumpAwakeFromMin: 8 * 60,
      pumpAwakeToMin: 16 * 60 + 30,
    },
  },
  level_low: {
    kinds: ['waterbank'], severity: 'warning', audience: 'farmer', pendingMs: 10 * MIN, clearMs: 10 * MIN,
    inhibitedBy: ['sensor_range', 'sensor_stuck'],
    thresholds: [{ kind: 'waterbank', field: 'level_pct', direction: 'below', trip: 'lowPct', reset: 'okPct' }],
    params: { lowPct: 15, okPct: 25 },
  },
  overflow: {
    kinds: ['waterbank'], severity: 'warning', audience: 'farmer', pendingMs: 5 * MIN, clearMs: 5 * MIN, detector: true,
    inhibitedBy: ['sensor_range', 'sensor_stuck'], clearsWhen: 'float_stopped',
    params: { overflowPct: 98, resetPct: 95 },
  },
  soil_dry: {
    kinds: ['soil'], severity: 'info', audience: 'farmer', pendingMs: 6 * HOUR_MS, clearMs: 30 * MIN,
    inhibitedBy: ['sensor_range', 'sensor_stuck'],
    thresholds: [{ kind: 'soil', field: 'vwc_pct', direction: 'below', trip: 'dryPct', reset: 'wetPct' }],
    // Below the readily available water (FC - p (FC - WP) = 15 % on sandy loam) and well towards wilting.
    params: { dryPct: 12, wetPct: 15 },
  },
  // One value repeated exactly, `samples` times over at least `minSpanMin`, while it should move.
  sensor_stuck: {
    kinds: ['pump', 'soil', 'waterbank'], severity: 'warning', audience: 'technician', pendingMs: 0, clearMs: 30 * MIN, detector: true,
    inhibitedBy: ['sensor_range'],
    params: { samples: 12, minSpanMin: 10, minVaryPct: 20, rawMin: 50, rawMax: 4090 },
  },
  sensor_range: {
    kinds: ['soil', 'waterbank'], severity: 'warning', audience: 'technician', pendingMs: 10 * MIN, clearMs: 30 * MIN, detector: true,
    params: { rawMin: 50, rawMax: 4090 },
  },
  low_battery: {
    kinds: ['soil', 'waterbank'], severity: 'warning', audience: 'technician', pendingMs: 30 * MIN, clearMs: 60 * MIN,
    thresholds: [
      { kind: 'soil', field: 'battery_v', direction: 'below', trip: 'lowV', reset: 'okV' },
      { kind: 'waterbank', field: 'battery_v', direction: 'below', trip: 'lowV', reset: 'okV' },
    ],
    params: { lowV: 3.4, okV: 3.6 },
  },
}

/** The built-in rule set, in evaluation order (a rule's inhibitors come before it). */
export const DEFAULT_RULES: readonly RuleDef[] = RULE_IDS.map((id) => {
  const d = DEFS[id]
  return {
    thresholds: [],
    detector: false,
    inhibitedBy: [],
    faultPendingMs: 0,
    params: {},
    ...d,
    id,
    enabled: true,
  }
})

export const RULES_BY_ID: Readonly<Record<RuleId, RuleDef>> = Object.fromEntries(
  DEFAULT_RULES.map((r) => [r.id, r]),
) as Record<RuleId, RuleDef>

/** What an operator may change per farm or per device, in the farms file (minutes for people). */
export interface RuleOverride {
  enabled?: boolean
  severity?: Severity
  pendingMin?: number
  clearMin?: number
  params?: Record<string, number | null>
}

export type RuleOverrides = Partial<Record<RuleId, RuleOverride>>

/** The effective rule: defaults, then the farm's override, then the device's. */
export function resolveRule(def: RuleDef, ...overrides: ReadonlyArray<RuleOverrides | undefined>): RuleDef {
  let rule = def
  for (const o of overrides) {
    const ov = o?.[def.id]
    if (!ov) continue
    rule = {
      ...rule,
      enabled: ov.enabled ?? rule.enabled,
      severity: ov.severity ?? rule.severity,
      pendingMs: ov.pendingMin === undefined ? rule.pendingMs : ov.pendingMin * MIN,
      faultPendingMs: ov.pendingMin === undefined ? rule.faultPendingMs : Math.min(rule.faultPendingMs, ov.pendingMin * MIN),
      clearMs: ov.clearMin === undefined ? rule.clearMs : ov.clearMin * MIN,
      params: { ...rule.params, ...ov.params },
    }
  }
  return rule
}

/** Names problems in an override set (unknown rule or parameter) so a typo is refused at start. */
export function checkOverrides(overrides: Record<string, unknown>): string[] {
  const issues: string[] = []
  for (const [id, ov] of Object.entries(overrides)) {
    const def = (RULES_BY_ID as Record<string, RuleDef | undefined>)[id]
    if (!def) {
      issues.push(`unknown rule "${id}"`)
      continue
    }
    const params = (ov as RuleOverride | undefined)?.params ?? {}
    for (const name of Object.keys(params)) {
      if (!(name in def.params)) issues.push(`rule "${id}" has no parameter "${name}"`)
    }
  }
  return issues
}
