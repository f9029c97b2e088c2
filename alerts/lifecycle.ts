/**
 * The alert lifecycle as a pure state machine (issue 6 "Lifecycle"; notifications.md 3.7):
 *
 *   (none) --active--> pending --held pendingMs--> firing --ack--> acknowledged
 *      pending --clear/unknown--> (cancelled, never told anyone)
 *      firing|acknowledged --clear held clearMs--> resolved     (a separate clear condition: hysteresis)
 *
 * Durations are measured in data time (device clock), so a buffered flush replays correctly.
 * A key that fires again and again within FLAP.windowMs is flapping: it is reported once and
 * then needs FLAP.clearMs of calm to resolve, so a pump cutting in and out is one message, not a storm.
 */
import type { Actor, AlertRecord, Verdict } from './types.js'
import { HOUR_MS, MINUTE_MS } from './clock.js'

export interface Timing {
  pendingMs: number
  faultPendingMs: number
  clearMs: number
}

export const FLAP = { windowMs: 3 * HOUR_MS, count: 3, clearMs: 60 * MINUTE_MS } as const

export type Decision =
  | { do: 'nothing' }
  | { do: 'pend'; sinceMs: number }
  | { do: 'fire'; sinceMs: number }
  | { do: 'cancel' }
  | { do: 'clear_hold'; sinceMs: number }
  | { do: 'clear_reset' }
  | { do: 'resolve' }

export type OpenView = Pick<AlertRecord, 'status' | 'sinceMs' | 'clearSinceMs' | 'flapping'>

const NOTHING: Decision = { do: 'nothing' }

/** What one verdict at data time `tMs` does to the open alert (or its absence) of a key. */
export function decide(open: OpenView | undefined, verdict: Verdict, tMs: number, timing: Timing): Decision {
  if (open === undefined || open.status === 'resolved') {
    if (verdict.state !== 'active') return NOTHING
    const pendingFor = verdict.source === 'fault' ? timing.faultPendingMs : timing.pendingMs
    return pendingFor <= 0 ? { do: 'fire', sinceMs: tMs } : { do: 'pend', sinceMs: tMs }
  }
  if (open.status === 'pending') {
    if (verdict.state !== 'active') return { do: 'cancel' }
    const pendingFor = verdict.source === 'fault' ? timing.faultPendingMs : timing.pendingMs
    return tMs - open.sinceMs >= pendingFor ? { do: 'fire', sinceMs: open.sinceMs } : NOTHING
  }
  // firing or acknowledged: only a clear condition held long enough resolves it.
  if (verdict.state !== 'clear') return open.clearSinceMs === undefined ? NOTHING : { do: 'clear_reset' }
  const clearFor = open.flapping ? Math.max(timing.clearMs, FLAP.clearMs) : timing.clearMs
  const since = open.clearSinceMs ?? tMs
  if (tMs - since >= clearFor) return { do: 'resolve' }
  return open.clearSinceMs === undefined ? { do: 'clear_hold', sinceMs: tMs } : NOTHING
}

/**
 * Records a fire time for a key and says whether the key is now flapping (at least FLAP.count
 * fires inside FLAP.windowMs, this one included). Returns the pruned history.
 */
export function recordFire(history: readonly number[], firedMs: number): { history: number[]; flapping: boolean } {
  const kept = history.filter((t) => firedMs - t < FLAP.windowMs)
  kept.push(firedMs)
  return { history: kept, flapping: kept.length >= FLAP.count }
}

export type Change = { ok: true; alert: AlertRecord } | { ok: false; reason: string; alert?: AlertRecord }

/** Acknowledge (who, how, when): stops escalation. Idempotent answers for a stale or repeated tap. */
export function acknowledge(alert: AlertRecord, actor: Actor): Change {
  if (alert.status === 'pending') return { ok: false, reason: 'not firing', alert }
  if (alert.status === 'resolved') return { ok: false, reason: 'already resolved', alert }
  if (alert.status === 'acknowledged') return { ok: false, reason: 'already acknowledged', alert }
  return {
    ok: true,
    alert: { ...alert, status: 'acknowledged', ack: actor, version: alert.version + 1, escalation: { step: alert.escalation.step } },
  }
}

/** Resolve: by the clear condition (actor `system`) or by a technician with a maintenance note. */
export function resolve(alert: AlertRecord, actor: Actor, note?: string): Change {
  if (alert.status === 'resolved') return { ok: false, reason: 'already resolved', alert }
  if (alert.status === 'pending') return { ok: false, reason: 'not firing', alert }
  return {
    ok: true,
    alert: {
      ...alert,
      status: 'resolved',
      resolved: { ...actor, ...(note ? { note } : {}) },
      clearSinceMs: undefined,
      version: alert.version + 1,
      escalation: { step: alert.escalation.step },
    },
  }
}
