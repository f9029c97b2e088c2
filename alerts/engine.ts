/**
 * The alert engine's functional core: readings, sweep ticks and people's actions in; state
 * changes, lifecycle events and outbox items out. No I/O and no clock: every call takes `nowMs`.
 * The shell (service.ts) persists the state and sends the outbox.
 */
import type { DeviceEvent, PumpTelemetry, Status, WaterbankTelemetry } from '../contracts/payloads.js'
import type { Reading } from '../runtime/hub.js'
import type { Farms } from './contacts.js'
import { bangkok } from './clock.js'
import { evaluate, type EvalInput, type FarmView, type ReferenceView } from './detectors.js'
import { acknowledge, type Change, decide, FLAP, recordFire, resolve } from './lifecycle.js'
import { notifyResolve, notifyStep, type NotifyContext } from './notify.js'
import { type OutboxItem, pruneDone } from './outbox.js'
import type { Available } from './routing.js'
import { DEFAULT_RULES, resolveRule, type RuleDef } from './rules.js'
import { commissioning, judged, learn, METRICS, referenceKey, relearn } from './references.js'
import { emptyState, type EngineState, type MaintenanceRecord, pruneState, type Tracks } from './state.js'
import { addBalance, addTelemetry, type DeviceTrack, intervalMs, latest, newTrack, snapshotOf } from './track.js'
import type { Actor, AlertEvent, AlertRecord, Verdict } from './types.js'

export interface EngineOptions {
  farms(): Farms
  available: Available
  uuid(): string
  /** Server time this process started: silence before it is not an outage. */
  startedMs: number
  /** A reading older than this (vs now) is late data: its alert's messages wait `lateHoldMs`. */
  staleMs?: number
  lateHoldMs?: number
  /** How much of the device's recent readings an alert carries. */
  snapshotMs?: number
}

export interface Effects {
  events: AlertEvent[]
  queued: OutboxItem[]
  cancelled: OutboxItem[]
}

/**
 * How long a finished message is kept so its key is still recognised: an alert's, while the
 * alert is open (its id never comes back once closed); a digest's or reminder's, past its week.
 */
const KEEP_CLOSED_MS = 10 * 60_000
const KEEP_NOTICE_MS = 8 * 86_400_000

const none = (): Effects => ({ events: [], queued: [], cancelled: [] })

export class AlertEngine {
  private rulesCache = new Map<string, RuleDef[]>()
  private rulesFarms: Farms | undefined
  private readonly staleMs: number
  private readonly lateHoldMs: number
  private readonly snapshotMs: number

  constructor(
    private readonly opts: EngineOptions,
    readonly state: EngineState = emptyState(),
    readonly tracks: Tracks = {},
  ) {
    this.staleMs = opts.staleMs ?? 5 * 60_000
    this.lateHoldMs = opts.lateHoldMs ?? 2 * 60_000
    this.snapshotMs = opts.snapshotMs ?? 10 * 60_000
  }

  private dirty = false

  /** Whether durable state changed since the last call (the shell saves it then). */
  takeDirty(): boolean {
    const d = this.dirty
    this.dirty = false
    return d
  }

  isDirty(): boolean {
    return this.dirty
  }

  markDirty(): void {
    this.dirty = true
  }

  ctx(): NotifyContext {
    return { state: this.state, farms: this.opts.farms(), available: this.opts.available, uuid: this.opts.uuid }
  }

  /** Effective rules of a device (defaults, farm and device overrides), cached until the farms file changes. */
  rulesFor(farm: string, device: string): RuleDef[] {
    const farms = this.opts.farms()
    if (farms !== this.rulesFarms) {
      this.rulesCache.clear()
      this.rulesFarms = farms
    }
    const key = `${farm}/${device}`
    let rules = this.rulesCache.get(key)
    if (!rules) {
      const f = farms.get(farm)
      rules = DEFAULT_RULES.map((r) => resolveRule(r, f.rules, f.devices[device]?.rules))
      this.rulesCache.set(key, rules)
    }
    return rules
  }

  onReading(reading: Reading, nowMs: number): Effects {
    const { at, payload } = reading
    const trackKey = `${at.farm}/${at.device}`
    const track = (this.tracks[trackKey] ??= newTrack(at.farm, at.kind, at.device, nowMs))
    const farm = this.farmView(at.farm, nowMs)
    const rules = this.rulesFor(at.farm, at.device)
    let input: EvalInput
    let tMs: number
    switch (at.channel) {
      case 'telemetry':
        if (!addTelemetry(track, payload, reading.receivedMs)) return none()
        tMs = payload.ts as number
        if (at.kind === 'waterbank') this.balance(track, payload as unknown as WaterbankTelemetry)
        this.learnReferences(track, rules, tMs)
        input = { channel: 'telemetry', track, farm, reference: this.referenceView(track) }
        break
      case 'status': {
        const status = payload as unknown as Status
        track.statusSeen = true
        if (status.online) track.online = true
        else if (track.online !== false) {
          track.online = false
          track.offlineSinceMs = reading.receivedMs
          track.lwtTimesMs = [...(track.lwtTimesMs ?? []).filter((t) => reading.receivedMs - t < FLAP.windowMs), reading.receivedMs].slice(-10)
        }
        return none()
      }
      case 'event': {
        const event = payload as unknown as DeviceEvent
        if (!event.fault) return none()
        input = { channel: 'event', track, farm, event }
        tMs = event.ts
        break
      }
      default:
        return none()
    }
    const holdUntilMs = nowMs - tMs > this.staleMs ? nowMs + this.lateHoldMs : 0
    const effects = none()
    for (const rule of rules) {
      if (!rule.enabled) continue
      const verdict = evaluate(rule, input)
      if (verdict) this.apply(rule, track, verdict, tMs, nowMs, holdUntilMs, effects)
    }
    return effects
  }

  /** Periodic tick: offline by silence or Last Will, escalations that are due, housekeeping. */
  sweep(nowMs: number): Effects {
    const effects = none()
    for (const track of Object.values(this.tracks)) {
      const rule = this.rulesFor(track.farm, track.device).find((r) => r.id === 'offline')
      if (!rule?.enabled) continue
      const input: EvalInput = { channel: 'sweep', track, farm: this.farmView(track.farm, nowMs), nowMs, startedMs: this.opts.startedMs }
      const verdict = evaluate(rule, input)
      if (verdict) this.apply(rule, track, verdict, nowMs, nowMs, 0, effects)
    }
    for (const alert of Object.values(this.state.alerts)) {
      const due = alert.escalation.nextAtMs
      if (alert.status !== 'firing' || due === undefined || nowMs < due) continue
      const queued = notifyStep(this.ctx(), alert, alert.escalation.step + 1, alert.flapping ? 'flapping' : 'escalate', nowMs)
      alert.version += 1
      this.dirty = true
      effects.events.push({ type: 'escalate', alert, atMs: nowMs })
      effects.queued.push(...queued)
    }
    pruneState(this.state, nowMs)
    const open = new Set(Object.values(this.state.alerts).map((a) => a.id))
    pruneDone(this.state.outbox, nowMs, (i) => (i.alertId === undefined ? KEEP_NOTICE_MS : open.has(i.alertId) ? Infinity : KEEP_CLOSED_MS))
    return effects
  }

  private apply(rule: RuleDef, track: DeviceTrack, verdict: Verdict, tMs: number, nowMs: number, holdUntilMs: number, effects: Effects): void {
    const key = `${track.farm}/${track.device}/${rule.id}`
    const open = this.state.alerts[key]
    if (verdict.state === 'active' && this.inhibited(rule, track)) verdict = { state: 'unknown' }
    const d = decide(open, verdict, tMs, rule)
    if (d.do !== 'nothing') this.dirty = true
    // A day with an alert open on the device is no healthy day to learn a reference from.
    if (rule.id !== 'offline' && (d.do === 'fire' || (open !== undefined && open.status !== 'pending'))) markDisturbed(track, tMs)
    switch (d.do) {
      case 'nothing':
        return
      case 'pend': {
        const alert = this.newAlert(key, rule, track, d.sinceMs, verdict)
        this.state.alerts[key] = alert
        effects.events.push({ type: 'pending', alert, atMs: nowMs })
        return
      }
      case 'fire': {
        const alert = open ?? this.newAlert(key, rule, track, d.sinceMs, verdict)
        // A link's earlier drops count as flips of its offline alert, even those too short to fire.
        const drops = rule.id === 'offline' ? (track.lwtTimesMs ?? []).filter((t) => t !== track.offlineSinceMs) : []
        const flap = recordFire([...(this.state.flaps[key] ?? []), ...drops], tMs)
        this.state.flaps[key] = flap.history
        Object.assign(alert, {
          status: 'firing',
          firedMs: nowMs,
          firedTs: tMs,
          detail: verdict.state === 'active' ? verdict.detail : alert.detail,
          snapshot: snapshotOf(track, this.snapshotMs),
          flapping: flap.flapping,
          version: alert.version + 1,
        })
        this.state.alerts[key] = alert
        effects.events.push({ type: 'fire', alert, atMs: nowMs })
        if (flap.flapping) effects.events.push({ type: 'flapping', alert, atMs: nowMs })
        // A farm going silent together (tower, power) is one incident: later devices join the first.
        const leader = rule.id === 'offline' ? this.farmSilence(alert) : undefined
        if (leader) {
          alert.groupedWith = leader.id
          return
        }
        effects.queued.push(...notifyStep(this.ctx(), alert, 0, flap.flapping ? 'flapping' : 'fire', nowMs, Math.max(holdUntilMs, offlineGrace(rule, track))))
        return
      }
      case 'cancel':
        delete this.state.alerts[key]
        if (open) effects.events.push({ type: 'cancel', alert: open, atMs: nowMs })
        return
      case 'clear_hold':
        if (open) open.clearSinceMs = d.sinceMs
        return
      case 'clear_reset':
        if (open) open.clearSinceMs = undefined
        return
      case 'resolve':
        if (open) this.close(open, resolve(open, { by: 'system', via: 'system', atMs: nowMs }), nowMs, effects)
        return
    }
  }

  private close(open: AlertRecord, change: Change, nowMs: number, effects: Effects): void {
    if (!change.ok) return
    this.dirty = true
    delete this.state.alerts[open.key]
    // The hot state keeps resolved alerts without their snapshot; the full record is in the event (history file).
    this.state.recent.push({ ...change.alert, snapshot: [] })
    effects.events.push({ type: 'resolve', alert: change.alert, atMs: nowMs, by: change.alert.resolved?.by })
    const { queued, cancelled } = notifyResolve(this.ctx(), change.alert, nowMs)
    effects.queued.push(...queued)
    effects.cancelled.push(...cancelled)
    // Devices still silent when the farm's first one is back are told of on their own now.
    for (const member of Object.values(this.state.alerts)) {
      if (member.groupedWith !== open.id) continue
      member.groupedWith = undefined
      const track = this.tracks[`${member.farm}/${member.device}`]
      const rule = this.rulesFor(member.farm, member.device).find((r) => r.id === member.rule)
      // It may be back in a moment too (the farm's devices return one by one, a sleeping probe at
      // its next report): the grace again from now, or the device's interval and clear time.
      const wait = track && rule ? Math.max((rule.params.graceS ?? 0) * 1000, 1.5 * intervalMs(track) + rule.clearMs) : 0
      const hold = track && rule ? Math.max(offlineGrace(rule, track), nowMs + wait) : 0
      effects.queued.push(...notifyStep(this.ctx(), member, 0, member.flapping ? 'flapping' : 'fire', nowMs, hold))
    }
  }

  /** The farm's open offline incident another device's offline alert joins (issue 15 grouping), if any. */
  private farmSilence(alert: AlertRecord): AlertRecord | undefined {
    return Object.values(this.state.alerts).find(
      (a) => a.farm === alert.farm && a.rule === 'offline' && a.key !== alert.key && a.groupedWith === undefined && (a.status === 'firing' || a.status === 'acknowledged'),
    )
  }

  /** Completed healthy days feed the device's references while they are learned (references.ts). */
  private learnReferences(track: DeviceTrack, rules: readonly RuleDef[], tMs: number): void {
    const today = bangkok(tMs).day
    for (const rule of rules) {
      if (!rule.enabled || rule.reference === undefined || !rule.kinds.includes(track.kind)) continue
      const key = referenceKey(track.farm, track.device, rule.reference)
      const before = this.state.references[key]
      const from = before ?? commissioning()
      const after = learn(from, METRICS[rule.reference], track, today, rule.params.referenceDays ?? 3, learnFloor(rule))
      if (after === before) continue
      this.state.references[key] = after
      this.dirty = true
    }
  }

  /**
   * Water balance (rules.ts `water_balance`): the bank's rise against the farm's pump, on a farm
   * with one pump and one water bank (which pump fills which bank is not known otherwise), and
   * only while nothing is wrong with the bank's level reading.
   */
  private balance(bank: DeviceTrack, w: WaterbankTelemetry): void {
    const farm = Object.values(this.tracks).filter((t) => t.farm === bank.farm)
    const pumps = farm.filter((t) => t.kind === 'pump')
    const single = pumps.length === 1 && farm.filter((t) => t.kind === 'waterbank').length === 1
    const doubtful = ['sensor_stuck', 'sensor_range', 'offline'].some((id) => this.state.alerts[`${bank.farm}/${bank.device}/${id}`] !== undefined)
    addBalance(bank, single && !doubtful ? pumps[0] : undefined, w)
  }

  private referenceView(track: DeviceTrack): ReferenceView {
    return (metric) => judged(this.state.references[referenceKey(track.farm, track.device, metric)])
  }

  /**
   * A logged repair or maintenance (issue 15). The references it changes are learned again from
   * the next day on (judged against the old value meanwhile, from the repair's time on, so a repair
   * that did not help is caught again), and their rules' open alerts are resolved by it: a repair,
   * or a sustained return to the reference, is what ends a long-term fault, never a drifting baseline.
   * With `alertId` (a resolve with a note) only the references of that alert's rule.
   */
  maintenance(record: MaintenanceRecord): Effects {
    const effects = none()
    this.state.maintenance[`${record.farm}/${record.device}/${record.type}`] = record
    this.dirty = true
    const ofAlert = record.alertId === undefined ? undefined : this.find(record.alertId)?.rule
    for (const rule of this.rulesFor(record.farm, record.device)) {
      if (rule.reference === undefined || !METRICS[rule.reference].relearnOn.includes(record.type)) continue
      if (record.alertId !== undefined && ofAlert !== rule.id) continue
      const key = referenceKey(record.farm, record.device, rule.reference)
      this.state.references[key] = relearn(this.state.references[key], record.atMs, bangkok(record.atMs).day)
      const open = this.state.alerts[`${record.farm}/${record.device}/${rule.id}`]
      if (open) this.close(open, resolve(open, { by: record.by, via: 'api', atMs: record.atMs }, record.note || record.type), record.atMs, effects)
    }
    return effects
  }

  private inhibited(rule: RuleDef, track: DeviceTrack): boolean {
    return rule.inhibitedBy.some((id) => this.state.alerts[`${track.farm}/${track.device}/${id}`] !== undefined)
  }

  private newAlert(key: string, rule: RuleDef, track: DeviceTrack, sinceMs: number, verdict: Verdict): AlertRecord {
    return {
      id: `${track.farm}.${track.device}.${rule.id}.${sinceMs.toString(36)}`,
      key,
      farm: track.farm,
      kind: track.kind,
      device: track.device,
      rule: rule.id,
      severity: rule.severity,
      audience: rule.audience,
      status: 'pending',
      sinceMs,
      flapping: false,
      version: 0,
      detail: verdict.state === 'active' ? verdict.detail : {},
      snapshot: [],
      escalation: { step: 0 },
      notified: [],
    }
  }

  private farmView(farm: string, nowMs: number): FarmView {
    // Lazy: most rules never ask about the rest of the farm.
    const devices = (kind: string) => Object.values(this.tracks).filter((t) => t.farm === farm && t.kind === kind)
    const pumpIn = (state: PumpTelemetry['state']) =>
      devices('pump').some((t) => latest<PumpTelemetry>(t)?.state === state && nowMs - t.lastTelemetryMs <= 3 * intervalMs(t))
    return {
      anyPumpRunning: () => pumpIn('running'),
      anyPumpTankFull: () => pumpIn('tank_full'),
      maxLevelPct: () => {
        const known = devices('waterbank')
          .map((t) => latest<WaterbankTelemetry>(t)?.level_pct)
          .filter((l) => l !== undefined)
        return known.length > 0 ? Math.max(...known) : undefined
      },
    }
  }

  /**
   * What the data says now about an open alert's condition (issue 17: closing a work order
   * resolves its alert only when the data agrees): the rule on the device's latest reading (a
   * sweep for `offline`), by the same detectors and "cannot tell" evidence as the lifecycle.
   * `unknown` too when the device has sent nothing recent or the rule is off.
   */
  dataSays(alert: AlertRecord, nowMs: number): Verdict['state'] {
    const track = this.tracks[`${alert.farm}/${alert.device}`]
    const rule = this.rulesFor(alert.farm, alert.device).find((r) => r.id === alert.rule)
    if (!track || !rule?.enabled) return 'unknown'
    const farm = this.farmView(alert.farm, nowMs)
    if (rule.id === 'offline') return evaluate(rule, { channel: 'sweep', track, farm, nowMs, startedMs: this.opts.startedMs })?.state ?? 'unknown'
    if (nowMs - track.lastTelemetryMs > 3 * intervalMs(track)) return 'unknown'
    return evaluate(rule, { channel: 'telemetry', track, farm, reference: this.referenceView(track) })?.state ?? 'unknown'
  }

  /** An open or recently resolved alert by id. */
  find(id: string): AlertRecord | undefined {
    return Object.values(this.state.alerts).find((a) => a.id === id) ?? this.state.recent.findLast((a) => a.id === id)
  }

  acknowledge(id: string, actor: Actor): { change: Change; effects: Effects } {
    const effects = none()
    const alert = this.find(id)
    if (!alert) return { change: { ok: false, reason: 'no such alert' }, effects }
    const change = acknowledge(alert, actor)
    if (change.ok) {
      this.dirty = true
      this.state.alerts[alert.key] = change.alert
      effects.events.push({ type: 'ack', alert: change.alert, atMs: actor.atMs, by: actor.by })
    }
    return { change, effects }
  }

  /** A technician closes an alert (with a maintenance note): resolve messages go to everyone told. */
  resolve(id: string, actor: Actor, note?: string): { change: Change; effects: Effects } {
    const effects = none()
    const alert = this.find(id)
    if (!alert) return { change: { ok: false, reason: 'no such alert' }, effects }
    const change = resolve(alert, actor, note)
    this.close(alert, change, actor.atMs, effects)
    return { change, effects }
  }
}

/**
 * Offline messages wait until `graceS` after the device's last sign of life (its last reading, or
 * its Last Will): a 4G drop shorter than that resolves first, its card is cancelled and nobody
 * hears of it, neither the card nor a "back to normal".
 */
function offlineGrace(rule: RuleDef, track: DeviceTrack): number {
  const grace = rule.params.graceS
  if (rule.id !== 'offline' || !grace) return 0
  const lastSign = Math.min(track.lastTelemetryMs, track.offlineSinceMs ?? Infinity)
  return lastSign + grace * 1000
}

/** What a day needs to count for a rule's reference (rules.ts `reference`). */
const learnFloor = (rule: RuleDef): number => rule.params.learnDayWh ?? rule.params.learnDayMin ?? rule.params.learnDaySamples ?? 0

/** Marks the device's day of `tMs` as disturbed (an alert open on it): references learn only from healthy days. */
function markDisturbed(track: DeviceTrack, tMs: number): void {
  const last = track.days[track.days.length - 1]
  if (last && last.day === bangkok(tMs).day) last.disturbed = true
}
