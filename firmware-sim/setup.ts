/**
 * What the `sim` service and the `suanyang sim` command share: which farms, which faults, and
 * the devices' broker accounts.
 */
import type { AccountStore } from '../runtime/accounts.js'
import type { Logger } from '../runtime/logger.js'
import { ensureDeviceAccounts } from './credentials.js'
import { DEVICES_PER_FARM, demoFarms, devicesOf } from './demo.js'
import type { FarmSpec } from './farm.js'
import type { TimedFault } from './run.js'
import { loadScenario } from './scenario.js'

export interface FleetPlan {
  farms: FarmSpec[]
  faults: TimedFault[]
}

export interface PlanOptions {
  farms: number
  devices: number | undefined
  seed: string
  training: readonly string[] | 'all'
  scenarioPath: string | undefined
  startMs: number
  extraFaults?: readonly TimedFault[]
}

export async function planFleet(o: PlanOptions): Promise<{ ok: true; plan: FleetPlan } | { ok: false; reason: string }> {
  const scenario = o.scenarioPath ? await loadScenario(o.scenarioPath, o.startMs) : undefined
  if (scenario && !scenario.ok) return scenario
  const count = o.devices !== undefined ? Math.ceil(o.devices / DEVICES_PER_FARM) : o.farms
  const training = scenario?.scenario.training ?? o.training
  const farms = demoFarms({ farms: count, seed: o.seed, training })
  const faults = [...(scenario?.scenario.faults ?? []), ...(o.extraFaults ?? [])]
  const known = new Set(devicesOf(farms).map((d) => d.device))
  const unknown = faults.find((f) => !known.has(f.device))
  if (unknown) return { ok: false, reason: `fault ${unknown.fault} names device "${unknown.device}", which is not simulated` }
  return { ok: true, plan: { farms, faults } }
}

export const registerDevices = (accounts: AccountStore, farms: readonly FarmSpec[], dataDir: string, log: Logger): Promise<Map<string, string>> =>
  ensureDeviceAccounts(accounts, devicesOf(farms), dataDir, log)
