/**
 * What a dashboard may query, derived from the contracts: measurement names from KINDS and
 * MEASUREMENTS, field names from the zod schemas' shapes, so renaming a payload field or a
 * measurement breaks the typecheck instead of silently blanking a panel (issue 7).
 */
import type { z } from 'zod'
import type { Kind } from '../contracts/names.js'
import type { DeviceEvent, Status, TELEMETRY } from '../contracts/payloads.js'
import type { MEASUREMENTS, NO_FAULT } from '../contracts/points.js'
import type { AlertRow, MaintenanceRow } from '../contracts/alert-storage.js'

type M = typeof MEASUREMENTS

/** The stored row of every measurement: its payload (fields) and its tags. */
export type Rows = { [K in Kind]: { fields: z.infer<(typeof TELEMETRY)[K]>; tags: DeviceTags } } & {
  [K in M['status']]: { fields: Status; tags: DeviceTags }
} & { [K in M['event']]: { fields: DeviceEvent; tags: DeviceTags } } & {
  [K in M['alert']]: AlertRow
} & { [K in M['maintenance']]: MaintenanceRow }

/** Every telemetry, status and event point is tagged with its farm and device (contracts/points.ts). */
export interface DeviceTags {
  farm: string
  device: string
}

export type Measurement = keyof Rows

/** Payload keys stored as fields: all but `ts`, which becomes the point's time. */
export type FieldOf<X extends Measurement> = Exclude<keyof Rows[X]['fields'], 'ts'> & string

export type TagOf<X extends Measurement> = keyof Rows[X]['tags'] & string

/** Fields holding strings (state, fault, message...): the only ones compared with '...'. */
export type StringFieldOf<X extends Measurement> = {
  [F in FieldOf<X>]-?: NonNullable<Rows[X]['fields'][F]> extends string ? F : never
}[FieldOf<X>]

/** A value a string field can hold (a null fault is stored as NO_FAULT, contracts/points.ts). */
export type StringValueOf<X extends Measurement, F extends StringFieldOf<X>> =
  | Extract<NonNullable<Rows[X]['fields'][F]>, string>
  | (F extends 'fault' ? typeof NO_FAULT : never)
