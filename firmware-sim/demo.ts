/**
 * The demo fleet, modelled on the Ranong pilot (DESIGN.md "Who it is for"): farms ranong-01,
 * ranong-02, ... each with a solar pump lifting from a borewell into a water bank, the bank's
 * level sensor, and three soil probes in intercrop plots between the rubber rows. Farms differ a
 * little (well depth, bank size, crops, position); everything follows from the seed.
 */
import type { Kind } from '../contracts/names.js'
import type { FarmSpec, PlotSpec } from './farm.js'
import { PUMP_48V, WELL_B } from './pump.js'
import { PV_600 } from './pv.js'
import { Rng } from './rng.js'
import { CROPS, SANDY_LOAM } from './soil.js'
import { RANONG } from './sun.js'
import { BANK_16M3 } from './waterbank.js'

export const PLOTS_PER_FARM = 3
export const DEVICES_PER_FARM = 2 + PLOTS_PER_FARM

/** ranong-01 ... ranong-99, then ranong-100 and on: ids stay stable as the fleet grows. */
export const farmId = (i: number): string => `ranong-${String(i).padStart(2, '0')}`

export interface DeviceRef {
  farm: string
  kind: Kind
  device: string
}

export function demoFarm(i: number, seed: string, training: boolean): FarmSpec {
  const farm = farmId(i)
  const r = Rng.of(seed, farm, 'layout')
  const plots: PlotSpec[] = []
  const first = r.int(0, CROPS.length - 1)
  for (let p = 0; p < PLOTS_PER_FARM; p++) {
    const crop = CROPS[(first + p) % CROPS.length] ?? CROPS[0]
    if (!crop) throw new Error('no crops defined')
    plots.push({
      device: `${farm}-soil-${p + 1}`,
      crop: crop.name,
      kc: crop.kc,
      root_m: crop.root_m,
      soil: { ...SANDY_LOAM, theta_fc: SANDY_LOAM.theta_fc + r.uniform(-0.015, 0.015) },
      area_m2: Math.round(r.uniform(240, 400)),
      wetted: 0.4,
      drip_lph: 400,
    })
  }
  return {
    farm,
    training,
    // Pilot farms lie within about 30 km of Ranong town.
    place: { ...RANONG, lat_deg: RANONG.lat_deg + r.uniform(-0.25, 0.25), lon_deg: RANONG.lon_deg + r.uniform(-0.1, 0.15) },
    zone: `zone-${Math.floor((i - 1) / 5)}`,
    pv: PV_600,
    pump: PUMP_48V,
    well: { ...WELL_B, static_m: WELL_B.static_m + r.uniform(-1.5, 1.5) },
    bank: { ...BANK_16M3, area_m2: Math.round(r.uniform(6, 10) * 10) / 10 },
    plots,
    irrigate_h: 7 + r.uniform(0, 1),
    devices: { pump: `${farm}-pump`, waterbank: `${farm}-bank` },
  }
}

export interface FleetShape {
  farms: number
  seed: string
  /** Farm ids (or 'all') whose alerts go to trainers only. */
  training: readonly string[] | 'all'
}

export function demoFarms(shape: FleetShape): FarmSpec[] {
  const out: FarmSpec[] = []
  for (let i = 1; i <= shape.farms; i++) {
    const id = farmId(i)
    out.push(demoFarm(i, shape.seed, shape.training === 'all' || shape.training.includes(id)))
  }
  return out
}

/** Every device of the farms, pump first. */
export function devicesOf(farms: readonly FarmSpec[]): DeviceRef[] {
  return farms.flatMap((f) => [
    { farm: f.farm, kind: 'pump' as const, device: f.devices.pump },
    { farm: f.farm, kind: 'waterbank' as const, device: f.devices.waterbank },
    ...f.plots.map((p) => ({ farm: f.farm, kind: 'soil' as const, device: p.device })),
  ])
}
