/**
 * The last hour of every device's chart fields and its latest reading, so a page that opens now
 * draws its small charts at once instead of starting empty. Bounded: at most `maxDevices`
 * devices, each at most one point per 10 s of device time (public/series.js).
 */
import type { Kind } from '../contracts/names.js'
import type { Address } from '../contracts/topics.js'
import { CHART_FIELDS, type Series, addPoint, emptySeries } from './public/series.js'

export interface DeviceHistory {
  farm: string
  kind: Kind
  device: string
  /** The latest reading by device time, and when the console received it (server clock). */
  latest: Record<string, unknown>
  receivedMs: number
  series: Series
}

export class History {
  private readonly devices = new Map<string, DeviceHistory>()

  constructor(private readonly maxDevices = 1_000) {}

  add(at: Address, payload: Record<string, unknown>, receivedMs: number): void {
    const ts = payload.ts
    if (typeof ts !== 'number') return
    let entry = this.devices.get(at.device)
    if (!entry) {
      if (this.devices.size >= this.maxDevices) return
      entry = { farm: at.farm, kind: at.kind, device: at.device, latest: payload, receivedMs, series: emptySeries(CHART_FIELDS[at.kind]) }
      this.devices.set(at.device, entry)
    } else if (entry.farm !== at.farm || entry.kind !== at.kind) {
      // The device moved (re-registered elsewhere): its old points belong to another place.
      entry = { farm: at.farm, kind: at.kind, device: at.device, latest: payload, receivedMs, series: emptySeries(CHART_FIELDS[at.kind]) }
      this.devices.set(at.device, entry)
    }
    if (typeof entry.latest.ts !== 'number' || ts >= entry.latest.ts) {
      entry.latest = payload
      entry.receivedMs = receivedMs
    }
    addPoint(entry.series, ts, payload)
  }

  /** Every device, by farm then device id. */
  snapshot(): DeviceHistory[] {
    return [...this.devices.values()].sort((a, b) => a.farm.localeCompare(b.farm) || a.device.localeCompare(b.device))
  }
}
