/**
 * Names of the device contract v1 (DESIGN.md "The device contract").
 * Topic: `farm/{farm}/{kind}/{device}/{channel}`.
 */

/** Farm and device ids: lowercase, digits and dashes, 1 to 32 characters, not starting with a dash. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/

export const KINDS = ['pump', 'soil', 'waterbank'] as const
export type Kind = (typeof KINDS)[number]

/** Channels, device side first. `cmd` goes to the device, `cmd/ack` is its answer. */
export const CHANNELS = ['telemetry', 'status', 'event', 'cmd', 'cmd/ack'] as const
export type Channel = (typeof CHANNELS)[number]

export const PUMP_STATES = ['running', 'idle', 'weak_sun', 'tank_full', 'fault', 'off'] as const
export type PumpState = (typeof PUMP_STATES)[number]

/** Canonical controller fault codes (reference/domain.md §1.5, narrowed by DESIGN.md). */
export const FAULT_CODES = [
  'DRY_RUN',
  'OVERCURRENT',
  'OVERTEMP',
  'UNDERVOLT',
  'OVERVOLT',
  'LOCKED_ROTOR',
  'SENSOR_FAULT',
] as const
export type FaultCode = (typeof FAULT_CODES)[number]

export const COMMANDS = ['start', 'stop', 'reset', 'set_interval', 'reboot'] as const
export type CommandName = (typeof COMMANDS)[number]

export function isId(value: string): boolean {
  return ID_PATTERN.test(value)
}

export function isKind(value: string): value is Kind {
  return (KINDS as readonly string[]).includes(value)
}
