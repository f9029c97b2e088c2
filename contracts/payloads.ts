/**
 * Payload schemas of the device contract v1. These are the exact definition: the simulator,
 * broker, ingest, alerts and dashboards import them, and `npm run schema` publishes them as
 * JSON Schema for firmware authors. Units are in the names. Device input is parsed with
 * `z.object`, so unknown extra fields from newer firmware are tolerated and stripped.
 */
import { z } from 'zod'
import { COMMANDS, FAULT_CODES, PUMP_STATES } from './names.js'

/** 2020-01-01T00:00:00Z: a clock that reads earlier than this has never been synced. */
export const MIN_TS_MS = 1_577_836_800_000
/** 2100-01-01T00:00:00Z. Ingest applies a tighter "not in the future" check against its clock. */
export const MAX_TS_MS = 4_102_444_800_000

/**
 * Text a device sends (firmware version, event type and detail, command ids, errors): any
 * Unicode except control characters (C0, DEL, C1: line breaks and NUL among them), the line and
 * paragraph separators U+2028/U+2029, and unpaired surrogate halves. Line protocol has no escape
 * for a line break and ingest's spool is framed by them (issue 13: a newline in a detail became
 * a forged line in another farm's series); InfluxDB 1.x echoes a refused line in a response
 * header, where a control character breaks the HTTP client; an unpaired surrogate has no UTF-8
 * form, so it could not be stored as sent. Refused, not rewritten: what is stored is exactly what
 * the device sent. Written out as code units so the pattern reads the same with or without the
 * regex `u` flag, in JSON Schema validators too.
 */
// eslint-disable-next-line no-control-regex
export const TEXT_PATTERN = /^(?:[^\u0000-\u001f\u007f-\u009f\u2028\u2029\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/
export const TEXT_RULE = 'must be text without control characters (line breaks, tabs, NUL), U+2028/U+2029 or unpaired surrogates'
const text = (maxChars?: number) => (maxChars === undefined ? z.string() : z.string().max(maxChars)).regex(TEXT_PATTERN, TEXT_RULE)

/** A finite number within a physical range (zod 4 rejects NaN and Infinity). */
const range = (min: number, max: number, what: string) => z.number().min(min).max(max).describe(what)

const Ts = z.number().int().min(MIN_TS_MS).max(MAX_TS_MS).describe('device clock, integer epoch milliseconds, UTC')
const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('+1 per message, 0 after a reboot')
const Boot = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('+1 on every boot')
const Rssi = range(-130, 0, 'Wi-Fi or cellular signal, dBm').optional()
const BatteryV = range(0, 5, 'battery voltage, V')

const telemetryHeader = { ts: Ts, seq: Seq, boot: Boot }

export const PumpTelemetry = z.object({
  ...telemetryHeader,
  pv_v: range(0, 1000, 'PV input voltage, V'),
  pv_a: range(0, 100, 'PV input current, A'),
  pv_w: range(0, 50_000, 'PV input power, W'),
  motor_a: range(0, 100, 'motor current, A'),
  motor_rpm: range(0, 10_000, 'motor speed, rpm'),
  flow_lpm: range(0, 2_000, 'flow, litres per minute'),
  pressure_bar: range(0, 40, 'outlet pressure, bar'),
  ctrl_temp_c: range(-20, 125, 'controller heatsink temperature, degrees C'),
  volume_l_today: range(0, 10_000_000, 'litres pumped since local midnight'),
  run_s_total: range(0, 10_000_000_000, 'pump run time since installation, s'),
  state: z.enum(PUMP_STATES),
  fault: z.enum(FAULT_CODES).nullable(),
  irradiance_wm2: range(0, 1_600, 'plane-of-array irradiance, W/m2').optional(),
  rssi_dbm: Rssi,
})
export type PumpTelemetry = z.infer<typeof PumpTelemetry>

export const SoilTelemetry = z.object({
  ...telemetryHeader,
  vwc_pct: range(0, 100, 'volumetric water content, %'),
  raw_adc: z.number().int().min(0).max(4095).describe('capacitive probe raw reading, 12-bit ADC'),
  soil_temp_c: range(-20, 80, 'soil temperature, degrees C'),
  battery_v: BatteryV,
  rssi_dbm: Rssi,
})
export type SoilTelemetry = z.infer<typeof SoilTelemetry>

export const WaterbankTelemetry = z.object({
  ...telemetryHeader,
  level_cm: range(0, 5_000, 'water level above the bottom, cm'),
  level_pct: range(0, 100, 'water level, % of usable height'),
  volume_l: range(0, 100_000_000, 'stored volume, litres'),
  battery_v: BatteryV.optional(),
  rssi_dbm: Rssi,
})
export type WaterbankTelemetry = z.infer<typeof WaterbankTelemetry>

export const Status = z.object({
  online: z.boolean(),
  ts: Ts,
  boot: Boot.optional().describe('+1 on every boot; absent in a Last Will set before the clock synced'),
  fw: text(64).optional().describe('firmware version'),
})
export type Status = z.infer<typeof Status>

export const DeviceEvent = z.object({
  ts: Ts,
  type: text(64).min(1).describe('for example fault, fault_cleared, state, boot, cmd'),
  fault: z.enum(FAULT_CODES).nullable().optional(),
  detail: text(512).optional(),
})
export type DeviceEvent = z.infer<typeof DeviceEvent>

export const Command = z.object({
  id: text(64).min(1),
  cmd: z.enum(COMMANDS),
  args: z.record(text(), z.union([text(), z.number(), z.boolean()])).optional(),
})
export type Command = z.infer<typeof Command>

export const CommandAck = z.object({
  id: text(64).min(1),
  ok: z.boolean(),
  error: text(256).optional(),
})
export type CommandAck = z.infer<typeof CommandAck>

export const TELEMETRY = { pump: PumpTelemetry, soil: SoilTelemetry, waterbank: WaterbankTelemetry } as const
export type Telemetry = PumpTelemetry | SoilTelemetry | WaterbankTelemetry
