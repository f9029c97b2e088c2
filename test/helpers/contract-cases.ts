/**
 * Every stored channel of the contract with its string fields, for the property tests of
 * issue 13 (ingest/accept-lines.test.ts against judge(), test/ingest-strings.test.ts against a
 * real InfluxDB): payloads a hostile device might send, and what the storage contract says
 * InfluxDB must then hold, written out here rather than taken from contracts/points.ts.
 */
import fc from 'fast-check'
import { validEvent, validPump, validSoil, validStatus, validWaterbank } from '../../contracts/fixtures.js'
import { FAULT_CODES, PUMP_STATES, type Channel, type Kind } from '../../contracts/names.js'
import { CHANNEL_SPECS } from '../../contracts/registry.js'
import { hostileKeys, hostileText } from './weird-values.js'

export interface ChannelCase {
  kind: Kind
  channel: Channel
  valid: Record<string, unknown>
  /** String fields, with values a device may mean (enum members, plain text). */
  strings: Record<string, readonly (string | null)[]>
}

export const STORED_CASES: readonly ChannelCase[] = [
  { kind: 'pump', channel: 'telemetry', valid: validPump, strings: { state: PUMP_STATES, fault: [...FAULT_CODES, null] } },
  { kind: 'soil', channel: 'telemetry', valid: validSoil, strings: {} },
  { kind: 'waterbank', channel: 'telemetry', valid: validWaterbank, strings: {} },
  { kind: 'pump', channel: 'status', valid: validStatus, strings: { fw: ['1.4.2', 'esp32-pump 2.0'] } },
  { kind: 'pump', channel: 'event', valid: validEvent, strings: { type: ['fault', 'boot'], fault: [...FAULT_CODES, null], detail: ['no flow at full speed', ''] } },
]

export function measurementOf(kind: Kind, channel: Channel): string {
  return channel === 'telemetry' ? kind : channel === 'status' ? 'device_status' : 'device_event'
}

/** A payload for `c`: some string fields replaced by hostile text or meant values, hostile extra keys. */
export function hostilePayload(c: ChannelCase, target?: { farm: string; device: string }): fc.Arbitrary<Record<string, unknown>> {
  const strings = Object.fromEntries(
    Object.entries(c.strings).map(([k, meant]) => [k, fc.option(fc.oneof(hostileText(target), fc.constantFrom(...meant)), { nil: undefined })]),
  )
  return fc
    .record({
      strings: fc.record(strings, { requiredKeys: [] }),
      extra: fc.dictionary(hostileKeys, fc.oneof(hostileText(target), fc.double(), fc.boolean()), { maxKeys: 3 }),
    })
    .map(({ strings: s, extra }) => ({ ...extra, ...c.valid, ...s }))
}

/** The fields InfluxDB must hold for an accepted payload (zod's output), by the storage contract. */
export function expectedFields(kind: Kind, channel: Channel, payload: Record<string, unknown>): Record<string, number | string> {
  const shape = (CHANNEL_SPECS[channel].schemaFor(kind) as unknown as { shape: Record<string, unknown> }).shape
  const out: Record<string, number | string> = {}
  for (const key of Object.keys(shape)) {
    const v = payload[key]
    if (key === 'ts' || v === undefined) continue
    if (v === null) {
      if (key === 'fault') out[key] = 'none' // contracts/points.ts NO_FAULT
    } else if (typeof v === 'boolean') out[key] = v ? 1 : 0
    else out[key] = v as number | string
  }
  return out
}
