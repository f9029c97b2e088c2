/**
 * Reading builders for alert tests and the bench: valid contract payloads (from
 * contracts/fixtures.ts) with the fields a scenario changes.
 */
import type { Channel, Kind } from '../../contracts/names.js'
import { validPump, validSoil, validWaterbank } from '../../contracts/fixtures.js'
import type { DeviceEvent, PumpTelemetry, SoilTelemetry, Status, WaterbankTelemetry } from '../../contracts/payloads.js'
import type { Reading } from '../../runtime/hub.js'

export const FARM = 'ranong-01'

const at = (kind: Kind, device: string, channel: Channel, farm = FARM) => ({ farm, kind, device, channel })

const reading = (kind: Kind, device: string, channel: Channel, payload: object, receivedMs: number, farm?: string): Reading => ({
  at: at(kind, device, channel, farm),
  payload: payload as Record<string, unknown>,
  receivedMs,
})

export function pump(ts: number, over: Partial<PumpTelemetry> = {}, device = 'pump-1', farm?: string): Reading {
  return reading('pump', device, 'telemetry', { ...validPump, seq: 0, ts, ...over }, ts, farm)
}

export function soil(ts: number, over: Partial<SoilTelemetry> = {}, device = 'soil-1', farm?: string): Reading {
  return reading('soil', device, 'telemetry', { ...validSoil, ts, ...over }, ts, farm)
}

export function waterbank(ts: number, over: Partial<WaterbankTelemetry> = {}, device = 'tank-1', farm?: string): Reading {
  return reading('waterbank', device, 'telemetry', { ...validWaterbank, ts, ...over }, ts, farm)
}

export function status(kind: Kind, device: string, ts: number, online: boolean, farm?: string): Reading {
  const payload: Status = { online, ts }
  return reading(kind, device, 'status', payload, ts, farm)
}

export function event(device: string, ts: number, over: Partial<DeviceEvent>, farm?: string): Reading {
  return reading('pump', device, 'event', { ts, type: 'fault', ...over }, ts, farm)
}

/** A healthy running pump at `irradiance_wm2`, flow and power roughly in proportion. */
export function healthyPump(ts: number, irradiance_wm2 = 800, over: Partial<PumpTelemetry> = {}, device = 'pump-1', farm?: string): Reading {
  const k = irradiance_wm2 / 800
  return pump(
    ts,
    { irradiance_wm2, pv_w: 565 * k, pv_a: 3.1 * k, motor_a: 3.4 * k, motor_rpm: 2850 * Math.sqrt(k), flow_lpm: 31.5 * k, ...over },
    device,
    farm,
  )
}
