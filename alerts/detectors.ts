/**
 * Rule evaluation: turns one reading (or a sweep tick) into a verdict per rule, from the rule's
 * data (fault code, thresholds) and, where a threshold cannot say it, a symptom detector.
 * Pure: the device track, a view of the farm's other devices, and `now` are the inputs.
 * Signatures and thresholds: reference/domain.md section 5.
 */
import type { DeviceEvent, PumpTelemetry, SoilTelemetry, WaterbankTelemetry } from '../contracts/payloads.js'
import { bangkok, bangkokMidnight, inWindow, MINUTE_MS } from './clock.js'
import { balanceEvidence, evidence, type Judged, type MetricId, ratioEvidence, wearEvidence } from './references.js'
import type { ClearEvidence, RuleDef, Threshold } from './rules.js'
import { type DeviceTrack, intervalMs, latest, median } from './track.js'
import type { RuleId, Verdict } from './types.js'

/** What a rule may know about the rest of the farm (tank level for "not running", pumps for overflow). */
export interface FarmView {
  anyPumpRunning(): boolean
  /** A pump of the farm stopped itself at a full tank (its float switch answered). */
  anyPumpTankFull(): boolean
  maxLevelPct(): number | undefined
}

/** The device's learned references (references.ts), for the rules that judge against one. */
export type ReferenceView = (metric: MetricId) => Judged | undefined

export type EvalInput =
  | { channel: 'telemetry'; track: DeviceTrack; farm: FarmView; reference?: ReferenceView }
  | { channel: 'event'; track: DeviceTrack; farm: FarmView; event: DeviceEvent }
  | { channel: 'sweep'; track: DeviceTrack; farm: FarmView; nowMs: number; startedMs: number }

const ACTIVE = (detail: Record<string, number | string>): Verdict => ({ state: 'active', source: 'symptom', detail })
const CLEAR: Verdict = { state: 'clear' }
const UNKNOWN: Verdict = { state: 'unknown' }

/** Kinds that sleep between readings and never hold a connection: their Last Will means nothing. */
const SLEEPY_KINDS = new Set(['soil'])

/**
 * The rule's verdict for this input, or undefined when the input says nothing about the rule
 * (an event about another fault, a sweep tick for a telemetry rule). Active wins over the rest;
 * clear needs every part of the rule to agree.
 */
export function evaluate(rule: RuleDef, input: EvalInput): Verdict | undefined {
  if (!rule.kinds.includes(input.track.kind)) return undefined
  if (input.channel === 'sweep') return rule.id === 'offline' ? offlineBySilence(rule, input) : undefined
  if (input.channel === 'event') {
    const code = input.event.fault
    if (rule.fault === undefined || code !== rule.fault) return undefined
    return { state: 'active', source: 'fault', detail: { fault: code, ...(input.event.detail ? { event: input.event.detail } : {}) } }
  }
  const parts: Verdict[] = []
  const p = latest<Record<string, unknown>>(input.track)
  if (p === undefined) return undefined
  if (rule.fault !== undefined) {
    parts.push(p.fault === rule.fault ? { state: 'active', source: 'fault', detail: { fault: rule.fault } } : CLEAR)
  }
  for (const th of rule.thresholds) {
    if (th.kind !== input.track.kind) continue
    const v = threshold(th, rule, p)
    if (v) parts.push(v)
  }
  if (rule.detector) {
    const v = DETECTORS[rule.id]?.(rule, input.track, input.farm, input.reference ?? NO_REFERENCE)
    if (v) parts.push(v)
  }
  if (parts.length === 0) return undefined
  const fault = parts.find((v) => v.state === 'active' && v.source === 'fault')
  const verdict = fault ?? parts.find((v) => v.state === 'active') ?? (parts.every((v) => v.state === 'clear') ? CLEAR : UNKNOWN)
  if (verdict.state === 'clear' && rule.clearsWhen && !canTell(rule.clearsWhen, rule, p, input.farm)) return UNKNOWN
  return verdict
}

const NO_REFERENCE: ReferenceView = () => undefined

/** Whether this reading can prove the rule's condition gone (issue 15: cannot tell is not clear). */
function canTell(needs: ClearEvidence, rule: RuleDef, p: Record<string, unknown>, farm: FarmView): boolean {
  switch (needs) {
    case 'pumping':
      return p.state === 'running'
    case 'pumping_in_sun':
      return p.state === 'running' && typeof p.irradiance_wm2 === 'number' && p.irradiance_wm2 >= num(rule, 'clearSunWm2')
    case 'float_stopped':
      return farm.anyPumpTankFull()
  }
}

function threshold(th: Threshold, rule: RuleDef, p: Record<string, unknown>): Verdict | undefined {
  const trip = rule.params[th.trip]
  if (trip === null || trip === undefined) return undefined
  const reset = rule.params[th.reset] ?? trip
  const value = p[th.field]
  if (typeof value !== 'number') return UNKNOWN
  const implausible = th.implausible === undefined ? undefined : rule.params[th.implausible]
  if (typeof implausible === 'number' && (th.direction === 'above' ? value >= implausible : value <= implausible)) return UNKNOWN
  const detail = { [th.field]: value, limit: trip }
  if (th.direction === 'above') return value > trip ? ACTIVE(detail) : value <= reset ? CLEAR : UNKNOWN
  return value < trip ? ACTIVE(detail) : value >= reset ? CLEAR : UNKNOWN
}

const num = (rule: RuleDef, name: string): number => {
  const v = rule.params[name]
  return typeof v === 'number' ? v : NaN
}

type Detector = (rule: RuleDef, track: DeviceTrack, farm: FarmView, reference: ReferenceView) => Verdict

/**
 * The pump's pumping speed and power are known: learned over a whole earlier day of pumping, not
 * from this morning's first marginal minutes (a new pump's first day judges no flow by nothing).
 */
function speedLearned(track: DeviceTrack, p: PumpTelemetry): boolean {
  const today = bangkok(p.ts).day
  return track.powerRefN >= 30 && track.days.some((d) => d.day !== today && d.goodL > 0)
}

const DETECTORS: Partial<Record<RuleId, Detector>> = {
  // Centrifugal dry run: near full speed, far less power than that speed takes with water, no flow.
  dry_run(rule, track) {
    const p = latest<PumpTelemetry>(track) as PumpTelemetry
    if (p.state !== 'running' || p.fault !== null) return UNKNOWN
    if (p.flow_lpm >= num(rule, 'noFlowLpm')) return CLEAR
    const { powerRef, rpmMax } = track
    if (powerRef === undefined || rpmMax === undefined || !speedLearned(track, p) || p.motor_rpm < 0.9 * rpmMax) return UNKNOWN
    const expectedW = powerRef * (p.motor_rpm / 1000) ** 3
    return p.pv_w < num(rule, 'underloadRatio') * expectedW
      ? ACTIVE({ flow_lpm: p.flow_lpm, pv_w: p.pv_w, expected_w: Math.round(expectedW), motor_rpm: p.motor_rpm })
      : UNKNOWN
  },
  no_flow(rule, track) {
    const p = latest<PumpTelemetry>(track) as PumpTelemetry
    if (p.state !== 'running' || p.fault !== null) return UNKNOWN
    if (p.flow_lpm >= num(rule, 'noFlowLpm')) return CLEAR
    // A centrifugal pump short of power spins below the speed that lifts water (dawn, clouds, a
    // dead string: pv_low's business). Only near the full speed it pumps at is no flow a blockage.
    const { rpmMax } = track
    if (rpmMax === undefined || !speedLearned(track, p) || p.motor_rpm < num(rule, 'minSpeedRatio') * rpmMax) return UNKNOWN
    return ACTIVE({ flow_lpm: p.flow_lpm, pv_w: p.pv_w, motor_rpm: p.motor_rpm })
  },
  not_running(rule, track, farm) {
    const p = latest<PumpTelemetry>(track) as PumpTelemetry
    if (p.state === 'running') return CLEAR
    // Only `idle` is suspicious: weak_sun, tank_full, fault and a commanded `off` are the controller's own decisions.
    if (p.state !== 'idle' || p.fault !== null || p.irradiance_wm2 === undefined) return UNKNOWN
    const level = farm.maxLevelPct()
    if (level !== undefined && level >= num(rule, 'tankFullPct')) return UNKNOWN
    return p.irradiance_wm2 >= num(rule, 'minSunWm2') ? ACTIVE({ irradiance_wm2: p.irradiance_wm2 }) : UNKNOWN
  },
  pv_low(rule, track) {
    const p = latest<PumpTelemetry>(track) as PumpTelemetry
    const minSun = num(rule, 'minSunWm2')
    if (p.state !== 'running' || p.irradiance_wm2 === undefined || p.irradiance_wm2 < minSun) return UNKNOWN
    const arrayWp = rule.params.arrayWp
    const perWm2 = arrayWp ? (arrayWp / 1000) * num(rule, 'derate') : pvReference(track)
    if (perWm2 === undefined) return UNKNOWN
    // The pump's own ceiling: an oversized array is throttled, not broken.
    const ceiling = 0.95 * (track.pvMaxW ?? Infinity)
    const ratios = track.samples
      .slice(-num(rule, 'windowSamples'))
      .map((s) => s.p as PumpTelemetry)
      .filter((s) => s.state === 'running' && (s.irradiance_wm2 ?? 0) >= minSun)
      .map((s) => s.pv_w / Math.min(perWm2 * (s.irradiance_wm2 as number), ceiling))
    if (ratios.length < num(rule, 'windowSamples') / 2) return UNKNOWN
    const ratio = median(ratios) as number
    if (ratio < num(rule, 'lowRatio')) return ACTIVE({ pv_w: p.pv_w, irradiance_wm2: p.irradiance_wm2, ratio_pct: Math.round(ratio * 100) })
    return ratio >= num(rule, 'clearRatio') ? CLEAR : UNKNOWN
  },
  efficiency_drop(rule, track, _farm, reference) {
    const ref = reference('efficiency')
    if (ref === undefined) return UNKNOWN
    const ofEvidence = (e: { l: number; wh: number }) => e.l / e.wh
    const windowWh = num(rule, 'windowWh')
    const newest = evidence(track.goodSun, ref.sinceTs, windowWh)?.[0]
    if (newest === undefined) return UNKNOWN
    const ratio = ofEvidence(newest) / ref.value
    if (ratio < num(rule, 'dropRatio')) {
      return ACTIVE({ l_per_wh: round(ofEvidence(newest)), reference_l_per_wh: round(ref.value), ratio_pct: Math.round(ratio * 100) })
    }
    // Back only when every window of the newest `clearWh` is near the reference, not one good hour.
    const runs = evidence(track.goodSun, ref.sinceTs, windowWh, num(rule, 'clearWh'))
    const clear = num(rule, 'clearRatio')
    return runs?.every((e) => ofEvidence(e) / ref.value >= clear) ? CLEAR : UNKNOWN
  },
  pv_soiling(rule, track, _farm, reference) {
    const ref = reference('pv_clear')
    if (ref === undefined) return UNKNOWN
    const now = ratioEvidence(track.clearRecent, ref.sinceTs, num(rule, 'windowSamples'))
    if (now === undefined) return UNKNOWN
    const ratio = now / ref.value
    // Far below: a lost string or a dead module, not dirt (pv_low says so).
    if (ratio < num(rule, 'brokenRatio')) return UNKNOWN
    if (ratio < num(rule, 'dropRatio')) return ACTIVE({ pv_w_per_kwm2: Math.round(now * 1000), reference_w_per_kwm2: Math.round(ref.value * 1000), ratio_pct: Math.round(ratio * 100) })
    return ratio >= num(rule, 'clearRatio') ? CLEAR : UNKNOWN
  },
  water_balance(rule, track, _farm, reference) {
    const ref = reference('balance')
    if (ref === undefined) return UNKNOWN
    const windowMin = num(rule, 'windowMin')
    const draw = Math.max(0, ref.value)
    // Every window of the newest `fireMin` short: a morning drip round or a filling trough
    // draws from the bank for an hour or two, a leak loses water all day.
    const newest = balanceEvidence(track.balance, ref.sinceTs, draw, windowMin, num(rule, 'fireMin'))
    if (newest === undefined) return UNKNOWN
    const worst = Math.max(...newest)
    if (worst < num(rule, 'dropRatio')) return ACTIVE({ reaching_bank_pct: Math.round(worst * 100), draw_lpm: Math.round(draw * 10) / 10 })
    const runs = balanceEvidence(track.balance, ref.sinceTs, draw, windowMin, num(rule, 'clearMin'))
    return runs?.every((r) => r >= num(rule, 'clearRatio')) ? CLEAR : UNKNOWN
  },
  bearing_wear(rule, track, _farm, reference) {
    const ref = reference('wear')
    if (ref?.table === undefined) return UNKNOWN
    const e = wearEvidence(track.opRecent, ref.table, ref.sinceTs, num(rule, 'windowHours'), num(rule, 'minSamples'), num(rule, 'refMinSamples'))
    if (e === undefined) return UNKNOWN
    if (e.current >= num(rule, 'currentRatio') && e.flow <= num(rule, 'flowRatio')) {
      return ACTIVE({ motor_a_pct: Math.round(e.current * 1000) / 10, flow_pct: Math.round(e.flow * 1000) / 10 })
    }
    return e.current <= num(rule, 'clearCurrent') && e.flow >= num(rule, 'clearFlow') ? CLEAR : UNKNOWN
  },
  offline: () => CLEAR, // a telemetry reading arrived: the device is back
  overflow(rule, track, farm) {
    const p = latest<WaterbankTelemetry>(track) as WaterbankTelemetry
    const running = farm.anyPumpRunning()
    if (p.level_pct >= num(rule, 'overflowPct') && running) return ACTIVE({ level_pct: p.level_pct })
    return p.level_pct < num(rule, 'resetPct') || !running ? CLEAR : UNKNOWN // counts only once a float answered (clearsWhen)
  },
  sensor_stuck(rule, track) {
    const r = track.repeat
    const p = latest<PumpTelemetry>(track) as PumpTelemetry
    if (!r || r.count < num(rule, 'samples') || p.ts - r.sinceTs < num(rule, 'minSpanMin') * MINUTE_MS) return CLEAR
    const detail = { value: r.value, samples: r.count, since_min: Math.round((p.ts - r.sinceTs) / MINUTE_MS) }
    if (track.kind === 'soil') return r.value > num(rule, 'rawMin') && r.value < num(rule, 'rawMax') ? ACTIVE(detail) : UNKNOWN
    if (track.kind === 'waterbank') return ACTIVE(detail) // a millimetre ultrasonic level never repeats for an hour unless frozen
    // Pump flow: frozen at a non-zero value while the power moved, or while the pump stood still.
    if (r.value <= 0) return CLEAR
    if (p.state !== 'running') return ACTIVE(detail)
    const varyPct = r.pvMaxW > 0 ? ((r.pvMaxW - r.pvMinW) / r.pvMaxW) * 100 : 0
    return varyPct >= num(rule, 'minVaryPct') ? ACTIVE({ ...detail, pv_vary_pct: Math.round(varyPct) }) : UNKNOWN
  },
  sensor_range(rule, track) {
    if (track.kind === 'waterbank') {
      // Above the full level (an echo in the blind zone): past what 100 % means on this bank.
      const w = latest<WaterbankTelemetry>(track) as WaterbankTelemetry
      if (track.cmPerPct === undefined) return UNKNOWN
      const fullCm = 100 * track.cmPerPct
      return w.level_cm > fullCm * 1.05 + 2 ? ACTIVE({ level_cm: w.level_cm, full_cm: Math.round(fullCm) }) : CLEAR
    }
    const raw = (latest<SoilTelemetry>(track) as SoilTelemetry).raw_adc
    return raw >= num(rule, 'rawMax') || raw <= num(rule, 'rawMin') ? ACTIVE({ raw_adc: raw }) : CLEAR
  },
}

/** PV watts per W/m2 on this device's best recent days, learned when the array size is not configured. */
function pvReference(track: DeviceTrack): number | undefined {
  const refs = track.days.slice(0, -1).filter((d) => d.pvRatioN >= 20).map((d) => d.pvRatioSum / d.pvRatioN)
  return refs.length >= 2 ? Math.max(...refs) : undefined
}

/**
 * Offline by silence or Last Will (domain.md 5: no data for 3 report intervals). Silence counts
 * from the later of the last reading and this process's start (a restart is not an outage),
 * and for a pump only inside its awake hours (a solar controller is dark at night).
 */
function offlineBySilence(rule: RuleDef, input: Extract<EvalInput, { channel: 'sweep' }>): Verdict | undefined {
  const { track, nowMs, startedMs } = input
  if (track.lastTelemetryMs === 0) return undefined
  let from = Math.max(track.lastTelemetryMs, startedMs)
  if (track.kind === 'pump') {
    const awakeFrom = num(rule, 'pumpAwakeFromMin')
    if (!inWindow(bangkok(nowMs).minuteOfDay, awakeFrom, num(rule, 'pumpAwakeToMin'))) return undefined
    from = Math.max(from, bangkokMidnight(nowMs) + awakeFrom * MINUTE_MS)
  }
  const every = intervalMs(track, rule.params.intervalS)
  const sleepy = SLEEPY_KINDS.has(track.kind)
  const connected = !sleepy && track.statusSeen === true && track.online !== false
  const missed = num(rule, connected ? 'missedIntervalsConnected' : 'missedIntervals')
  const graceMs = Math.max(missed * every, num(rule, 'minSilenceS') * 1000)
  const silentMs = nowMs - from
  if (silentMs > graceMs) {
    return { state: 'active', source: 'symptom', detail: { silent_min: Math.round(silentMs / MINUTE_MS), interval_s: every / 1000 } }
  }
  if (track.online === false && !sleepy && track.offlineSinceMs !== undefined) {
    const lwtMs = nowMs - Math.max(track.offlineSinceMs, from)
    if (lwtMs >= num(rule, 'lwtGraceS') * 1000) return { state: 'active', source: 'symptom', detail: { last_will: 'offline', silent_min: Math.round(silentMs / MINUTE_MS) } }
  }
  return undefined
}

const round = (n: number) => Math.round(n * 1000) / 1000
