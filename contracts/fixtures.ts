/**
 * Example payloads, valid and invalid, for tests and for firmware authors. Each invalid case
 * names why it must be refused.
 */
import type { Address } from './topics.js'

export const FIXTURE_TS = 1_772_334_000_000 // 2026-03-01T03:00:00Z, 10:00 in Ranong

export const validPump = {
  ts: FIXTURE_TS,
  seq: 42,
  boot: 3,
  pv_v: 182.4,
  pv_a: 3.1,
  pv_w: 565.4,
  motor_a: 3.4,
  motor_rpm: 2850,
  flow_lpm: 31.5,
  pressure_bar: 2.9,
  ctrl_temp_c: 48.2,
  volume_l_today: 4120,
  run_s_total: 1_250_400,
  state: 'running',
  fault: null,
  irradiance_wm2: 812,
  rssi_dbm: -71,
} as const

export const validSoil = {
  ts: FIXTURE_TS,
  seq: 7,
  boot: 1,
  vwc_pct: 21.4,
  raw_adc: 1840,
  soil_temp_c: 27.5,
  battery_v: 3.92,
} as const

export const validWaterbank = {
  ts: FIXTURE_TS,
  seq: 120,
  boot: 2,
  level_cm: 162.5,
  level_pct: 81.2,
  volume_l: 8120,
  battery_v: 4.05,
  rssi_dbm: -88,
} as const

export const validStatus = { online: true, ts: FIXTURE_TS, boot: 3, fw: '1.4.2' } as const
export const validEvent = { ts: FIXTURE_TS, type: 'fault', fault: 'DRY_RUN', detail: 'no flow at full speed' } as const
export const validCommand = { id: 'c-1', cmd: 'stop' } as const
export const validAck = { id: 'c-1', ok: true } as const

export const pumpAt: Address = { farm: 'ranong-01', kind: 'pump', device: 'pump-1' }

/** Raw payload strings that must be refused on a pump's telemetry topic, with the reason. */
export const invalidPumpPayloads: ReadonlyArray<{ why: string; raw: string }> = [
  { why: 'malformed JSON', raw: '{"ts": 1772334000000, "pv_v": ' },
  { why: 'not an object', raw: '[1,2,3]' },
  { why: 'missing field', raw: JSON.stringify({ ...validPump, flow_lpm: undefined }) },
  { why: 'string where a number belongs', raw: JSON.stringify({ ...validPump, pv_v: '182.4' }) },
  { why: 'NaN', raw: JSON.stringify(validPump).replace('"pv_w":565.4', '"pv_w":NaN') },
  { why: 'negative flow', raw: JSON.stringify({ ...validPump, flow_lpm: -3 }) },
  { why: 'unknown state', raw: JSON.stringify({ ...validPump, state: 'dancing' }) },
  { why: 'unknown fault code', raw: JSON.stringify({ ...validPump, fault: 'E003' }) },
  { why: 'fractional seq', raw: JSON.stringify({ ...validPump, seq: 1.5 }) },
  { why: 'timestamp in seconds', raw: JSON.stringify({ ...validPump, ts: 1_772_334_000 }) },
]
