/**
 * Fault scenarios: what each one does to the physics or the firmware. The telemetry signature
 * each leaves is documented in FAULTS.md and asserted on published readings by faults.test.ts.
 * Names and the kinds they apply to are in contracts/sim-control.ts.
 */
import type { FaultScenario } from '../contracts/sim-control.js'
import type { HydraulicFaults } from './pump.js'
import { unitNoise } from './rng.js'

export interface ActiveFault {
  fault: FaultScenario
  severity: number
  sinceMs: number
}

/** Severity used when an injection gives none. */
export const DEFAULT_SEVERITY: Readonly<Record<FaultScenario, number>> = {
  dry_run: 1,
  clogged_intake: 0.5,
  panel_soiling: 0.6,
  broken_pv_string: 1,
  pipe_leak: 0.5,
  bearing_wear: 0.25,
  controller_overheating: 0.8,
  stuck_sensor: 1,
  out_of_range_sensor: 1,
  power_loss: 1,
  low_battery: 0.5,
  float_switch_failure: 1,
  flapping_network: 0.6,
}

export const has = (faults: readonly ActiveFault[], name: FaultScenario): ActiveFault | undefined =>
  faults.find((f) => f.fault === name)

/** What the pump-side faults do to the water path at `nowMs`. */
export function hydraulicFaults(faults: readonly ActiveFault[], nowMs: number): HydraulicFaults {
  const clog = has(faults, 'clogged_intake')
  const leak = has(faults, 'pipe_leak')
  const wear = has(faults, 'bearing_wear')
  return {
    clog_k: clog ? 2 + 20 * clog.severity : 0,
    leak: leak ? leak.severity : 0,
    // Current creeps up over weeks: 4 %/day of extra shaft loss at severity 1.
    wear: wear ? (0.04 * wear.severity * Math.max(0, nowMs - wear.sinceMs)) / 86_400_000 : 0,
    dry: has(faults, 'dry_run') !== undefined,
  }
}

export function pvFaults(faults: readonly ActiveFault[]): { extraSoiling: number; brokenStrings: number } {
  const soil = has(faults, 'panel_soiling')
  return { extraSoiling: soil ? 0.5 * soil.severity : 0, brokenStrings: has(faults, 'broken_pv_string') ? 1 : 0 }
}

export function heatFaults(faults: readonly ActiveFault[]): { sunHeat: number; loadHeat: number } {
  const hot = has(faults, 'controller_overheating')
  return hot ? { sunHeat: 1 + 6 * hot.severity, loadHeat: 1 + hot.severity } : { sunHeat: 1, loadHeat: 1 }
}

/** Battery leakage from a failing cell or charger, microamps (low_battery). */
export function batteryLeakUa(faults: readonly ActiveFault[]): number {
  const low = has(faults, 'low_battery')
  return low ? 100_000 * low.severity : 0
}

const LINK_SLOT_MS = 120_000

/**
 * Whether the device's network link is up at `tMs` (flapping_network): two-minute slots, each
 * down with a probability that grows with severity. A pure function of (seed, device, time).
 */
export function linkUp(faults: readonly ActiveFault[], seed: string, device: string, tMs: number): boolean {
  const flap = has(faults, 'flapping_network')
  if (!flap) return true
  const slot = Math.floor(tMs / LINK_SLOT_MS)
  // The slot in which the fault starts is always down, so an injection shows at once.
  if (slot === Math.floor(flap.sinceMs / LINK_SLOT_MS)) return false
  return unitNoise(seed, device, 'link', slot) >= 0.15 + 0.5 * flap.severity
}

/** The next instant the link state may change. */
export const nextLinkSlotMs = (tMs: number): number => (Math.floor(tMs / LINK_SLOT_MS) + 1) * LINK_SLOT_MS

/** Active faults per device. Injection replaces a fault of the same name (new severity, new start). */
export class FaultBook {
  private readonly byDevice = new Map<string, ActiveFault[]>()

  of(device: string): readonly ActiveFault[] {
    return this.byDevice.get(device) ?? []
  }

  inject(device: string, fault: FaultScenario, severity: number, nowMs: number): ActiveFault {
    const active: ActiveFault = { fault, severity, sinceMs: nowMs }
    this.byDevice.set(device, [...this.of(device).filter((f) => f.fault !== fault), active])
    return active
  }

  /** Clears one fault, or all of the device's; returns the ones cleared. */
  clear(device: string, fault?: FaultScenario): ActiveFault[] {
    const now = this.of(device)
    const cleared = now.filter((f) => fault === undefined || f.fault === fault)
    const left = now.filter((f) => !cleared.includes(f))
    if (left.length > 0) this.byDevice.set(device, left)
    else this.byDevice.delete(device)
    return cleared
  }

  all(): Array<{ device: string } & ActiveFault> {
    return [...this.byDevice].flatMap(([device, list]) => list.map((f) => ({ device, ...f })))
  }
}
