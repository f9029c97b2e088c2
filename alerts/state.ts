/**
 * The engine's durable state: open alerts (pending timers included: `sinceMs` is the pending
 * start), escalation steps (on each alert), the outbox, LINE links, processed webhook ids and
 * the devices' learned references.
 * Device tracks are kept apart: they change on every reading and are saved on a timer.
 */
import { pruneLinkState } from './link-codes.js'
import type { OutboxItem } from './outbox.js'
import type { ReferenceRecord } from './references.js'
import type { DeviceTrack } from './track.js'
import type { AlertRecord } from './types.js'

export interface MaintenanceRecord {
  farm: string
  device: string
  type: string
  note: string
  by: string
  atMs: number
  /** Pump run seconds at the time (filter reminders count pumped hours since). */
  runS?: number
  alertId?: string
}

export interface EngineState {
  version: 1
  /** Open alerts (pending, firing, acknowledged) by key `${farm}/${device}/${rule}`. */
  alerts: Record<string, AlertRecord>
  /** Resolved alerts, newest last, without snapshots, for the API and the digest (full records: resolved.jsonl). */
  recent: AlertRecord[]
  /** Fire times (data time) per key, for flapping detection. */
  flaps: Record<string, number[]>
  outbox: Record<string, OutboxItem>
  /** contactId -> LINE userId, linked with a one-time code. */
  links: Record<string, string>
  /** Open one-time codes; `wrong`: wrong guesses (anyone's) made while it was open (link-codes.ts). */
  linkCodes: Record<string, { contactId: string; expiresMs: number; wrong?: number }>
  /** LINE userId -> times of their recent wrong codes (the per-user limit survives a restart). */
  linkFailures: Record<string, number[]>
  /** LINE webhookEventId (or a hash of the event's stable fields) -> server time first seen. */
  webhookSeen: Record<string, number>
  /** Last maintenance per `${farm}/${device}/${type}`. */
  maintenance: Record<string, MaintenanceRecord>
  /**
   * Learned references per `${farm}/${device}/${metric}` (references.ts): here, saved with every
   * change, and not in the tracks, because a slow fault must be judged against the same healthy
   * value after a restart or a lost tracks file.
   */
  references: Record<string, ReferenceRecord>
}

export type Tracks = Record<string, DeviceTrack>

export const emptyState = (): EngineState => ({
  version: 1,
  alerts: {},
  recent: [],
  flaps: {},
  outbox: {},
  links: {},
  linkCodes: {},
  linkFailures: {},
  webhookSeen: {},
  maintenance: {},
  references: {},
})

export const MAX_RECENT = 200
const WEBHOOK_KEEP_MS = 7 * 86_400_000

/** Drops what no longer matters: old webhook ids, expired link codes, old resolved alerts. */
export function pruneState(state: EngineState, nowMs: number): void {
  for (const [id, at] of Object.entries(state.webhookSeen)) if (at < nowMs - WEBHOOK_KEEP_MS) delete state.webhookSeen[id]
  pruneLinkState(state, nowMs)
  if (state.recent.length > MAX_RECENT) state.recent.splice(0, state.recent.length - MAX_RECENT)
}
