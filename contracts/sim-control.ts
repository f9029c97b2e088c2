/**
 * Trainer control of the firmware simulator over MQTT (issue 4, issue 8): fault injection and
 * clearing, and the simulation speed. Operators and services publish on `sim/control`; the
 * simulator answers on `sim/control/ack` and keeps a retained picture of itself on
 * `sim/control/state` (its farms, which are training farms, active faults, speed).
 */
import { z } from 'zod'
import { ID_PATTERN, KINDS, type Kind } from './names.js'
import { MIN_TS_MS, MAX_TS_MS } from './payloads.js'

export const SIM_CONTROL_TOPIC = 'sim/control'
export const SIM_ACK_TOPIC = 'sim/control/ack'
export const SIM_STATE_TOPIC = 'sim/control/state'

/** Fault scenarios; firmware-sim/FAULTS.md documents each one's telemetry signature. */
export const FAULT_SCENARIOS = [
  'dry_run',
  'clogged_intake',
  'panel_soiling',
  'broken_pv_string',
  'pipe_leak',
  'bearing_wear',
  'controller_overheating',
  'stuck_sensor',
  'out_of_range_sensor',
  'power_loss',
  'low_battery',
  'float_switch_failure',
  'flapping_network',
] as const
export type FaultScenario = (typeof FAULT_SCENARIOS)[number]

/** The device kinds a scenario can be injected on. */
export const SCENARIO_KINDS: Readonly<Record<FaultScenario, readonly Kind[]>> = {
  dry_run: ['pump'],
  clogged_intake: ['pump'],
  panel_soiling: ['pump'],
  broken_pv_string: ['pump'],
  pipe_leak: ['pump'],
  bearing_wear: ['pump'],
  controller_overheating: ['pump'],
  stuck_sensor: KINDS,
  out_of_range_sensor: KINDS,
  power_loss: KINDS,
  low_battery: ['soil', 'waterbank'],
  float_switch_failure: ['pump', 'waterbank'],
  flapping_network: KINDS,
}

const Id = z.string().regex(ID_PATTERN)
const RequestId = z.string().min(1).max(64).optional().describe('echoed in the ack')
const Fault = z.enum(FAULT_SCENARIOS)
/** 0..1; what it means per fault is in FAULTS.md (a default applies when absent). */
const Severity = z.number().min(0).max(1)

export const SimInject = z.object({
  action: z.literal('inject'),
  id: RequestId,
  device: Id,
  fault: Fault,
  severity: Severity.optional(),
})
export const SimClear = z.object({
  action: z.literal('clear'),
  id: RequestId,
  device: Id,
  /** Absent: every fault on the device. */
  fault: Fault.optional(),
})
export const SimSpeed = z.object({
  action: z.literal('speed'),
  id: RequestId,
  /** Simulated seconds per real second. */
  speed: z.number().positive().max(10_000),
})

export const SimControl = z.discriminatedUnion('action', [SimInject, SimClear, SimSpeed])
export type SimControl = z.infer<typeof SimControl>

export const SimAck = z.object({
  id: z.string().max(64).optional(),
  ok: z.boolean(),
  error: z.string().max(256).optional(),
})
export type SimAck = z.infer<typeof SimAck>

const Ts = z.number().int().min(MIN_TS_MS).max(MAX_TS_MS)

export const SimState = z.object({
  ts: Ts,
  speed: z.number().positive(),
  /** A very large fleet lists only its training farms, to stay under the broker's payload limit. */
  farms: z.array(
    z.object({
      farm: Id,
      /** Alerts of a training farm go to trainers, never to the farmer. */
      training: z.boolean(),
      devices: z.array(z.object({ device: Id, kind: z.enum(KINDS) })).describe('empty when the fleet is too large to list (over 500 devices)'),
    }),
  ),
  faults: z.array(z.object({ device: Id, fault: Fault, severity: Severity, since: Ts })),
})
export type SimState = z.infer<typeof SimState>
