/**
 * Shared shapes of the alert engine (issue 6). Data only: the rules, the lifecycle, routing and
 * the outbox all speak these types, and the durable state is these records serialised.
 */
import type { AlertEventType, AlertStatus, Severity } from '../contracts/alert-storage.js'
import type { FaultCode, Kind } from '../contracts/names.js'
import type { PumpTelemetry, SoilTelemetry, WaterbankTelemetry } from '../contracts/payloads.js'

export { SEVERITIES } from '../contracts/alert-storage.js'
export type { AlertEventType, AlertStatus, Severity }

/** In evaluation order: a rule's inhibitors come before it (sensor faults before what they would fake). */
export const RULE_IDS = [
  'dry_run',
  'overcurrent',
  'locked_rotor',
  'sensor_fault',
  'overtemp',
  'undervolt',
  'overvolt',
  'no_flow',
  'not_running',
  'pv_low',
  'pv_soiling',
  'efficiency_drop',
  'water_balance',
  'bearing_wear',
  'offline',
  'sensor_range',
  'sensor_stuck',
  'level_low',
  'overflow',
  'soil_dry',
  'low_battery',
] as const
export type RuleId = (typeof RULE_IDS)[number]

/** Every controller fault code raises exactly one rule; a new code in the contract breaks the build here. */
export const FAULT_RULE: Readonly<Record<FaultCode, RuleId>> = {
  DRY_RUN: 'dry_run',
  OVERCURRENT: 'overcurrent',
  OVERTEMP: 'overtemp',
  UNDERVOLT: 'undervolt',
  OVERVOLT: 'overvolt',
  LOCKED_ROTOR: 'locked_rotor',
  SENSOR_FAULT: 'sensor_fault',
}

export interface TelemetryOf {
  pump: PumpTelemetry
  soil: SoilTelemetry
  waterbank: WaterbankTelemetry
}

/** Payload keys whose value is a number (optional ones included): rules name fields through this. */
export type NumericField<T> = { [K in keyof T]-?: NonNullable<T[K]> extends number ? K : never }[keyof T] & string

/** Whom an alert goes to first: the farmer (a pump to look at), or the technician (a device problem). */
export type Audience = 'farmer' | 'technician'

/** What a rule decided about one reading: fire-worthy, healthy, or cannot tell (night, tank full...). */
export type Verdict =
  | { state: 'active'; source: 'fault' | 'symptom'; detail: Detail }
  | { state: 'clear' }
  | { state: 'unknown' }

/** The values that decided an alert, for the message and the record. */
export type Detail = Record<string, number | string>


export interface Actor {
  by: string
  via: 'line' | 'api' | 'cli' | 'system'
  atMs: number
}

/** One reading kept in an alert's snapshot (server receive time and the payload as received). */
export interface SnapshotReading {
  receivedMs: number
  payload: Record<string, unknown>
}

export interface AlertRecord {
  id: string
  /** `${farm}/${device}/${rule}`: at most one open alert per key. */
  key: string
  farm: string
  kind: Kind
  device: string
  rule: RuleId
  severity: Severity
  audience: Audience
  status: AlertStatus
  /** Data time (device clock) the condition started to hold. */
  sinceMs: number
  /** Data time the clear condition started to hold (hysteresis), while firing. */
  clearSinceMs?: number
  /** Server time it fired, and the data time of the reading that decided it. */
  firedMs?: number
  firedTs?: number
  ack?: Actor
  resolved?: Actor & { note?: string }
  flapping: boolean
  /** +1 on every change, for stale LINE cards (notifications.md 3.7). */
  version: number
  detail: Detail
  snapshot: SnapshotReading[]
  escalation: { step: number; nextAtMs?: number }
  /** Contact ids told about this alert (firing or escalation): the resolve message goes to them. */
  notified: string[]
  /** Offline only: the farm's first offline alert this one joined (all silent together: one incident, told once). */
  groupedWith?: string
}

/** Lifecycle events, as data: history rows for InfluxDB and the log. */

export interface AlertEvent {
  type: AlertEventType
  alert: AlertRecord
  atMs: number
  by?: string
  /** For notify: contact and channel. */
  contactId?: string
  channel?: string
}
