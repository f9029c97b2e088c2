/**
 * The simulator is the alert engine's test bench (issue 6 "Done when"): its fault scenarios
 * (firmware-sim/FAULTS.md) each raise their alert, with the right rule and farm, within budget;
 * thirty healthy days raise none. The simulator's model runs in-process (the whole firmware:
 * cadence, buffers, Last Will, no sockets) and its broker traffic is replayed through the engine.
 */
import { describe, expect, it } from 'vitest'
import type { FaultScenario } from '../contracts/sim-control.js'
import { testEngine } from '../alerts/testing/farms.js'
import { replay } from '../alerts/testing/replay.js'
import type { AlertEvent } from '../alerts/types.js'
import { demoFarms } from '../firmware-sim/demo.js'
import { runModel } from '../firmware-sim/run.js'

const MIN = 60_000
const H = 60 * MIN
const DAY = 24 * H

type Role = 'pump' | 'bank' | 'soil'
interface Case {
  fault: FaultScenario
  role: Role
  rule: string
  /** The alert is on this device (default: the faulted one). */
  on?: Role
  budgetMs: number
}

// Budgets: dry run 2 minutes; offline 3 expected intervals (pump 60 s idle cadence, soil 15 min);
// the rest as the signature takes to show (overheating builds up over the morning, a tank fills).
const CASES: Case[] = [
  { fault: 'dry_run', role: 'pump', rule: 'dry_run', budgetMs: 2 * MIN },
  { fault: 'power_loss', role: 'pump', rule: 'offline', budgetMs: 3 * MIN },
  { fault: 'power_loss', role: 'soil', rule: 'offline', budgetMs: 45 * MIN },
  { fault: 'power_loss', role: 'bank', rule: 'offline', budgetMs: 15 * MIN },
  { fault: 'controller_overheating', role: 'pump', rule: 'overtemp', budgetMs: 4 * H },
  { fault: 'broken_pv_string', role: 'pump', rule: 'pv_low', budgetMs: H },
  { fault: 'panel_soiling', role: 'pump', rule: 'pv_low', budgetMs: H },
  { fault: 'stuck_sensor', role: 'pump', rule: 'sensor_stuck', budgetMs: H },
  { fault: 'stuck_sensor', role: 'soil', rule: 'sensor_stuck', budgetMs: 4 * H },
  { fault: 'stuck_sensor', role: 'bank', rule: 'sensor_stuck', budgetMs: 75 * MIN },
  { fault: 'out_of_range_sensor', role: 'pump', rule: 'sensor_fault', budgetMs: 10 * MIN },
  { fault: 'out_of_range_sensor', role: 'soil', rule: 'sensor_range', budgetMs: H },
  { fault: 'out_of_range_sensor', role: 'bank', rule: 'sensor_range', budgetMs: 30 * MIN },
  { fault: 'float_switch_failure', role: 'pump', on: 'bank', rule: 'overflow', budgetMs: 9 * H },
]

const START = Date.parse('2026-03-01T00:00:00+07:00')

function devicesOf(farm: ReturnType<typeof demoFarms>[number]): Record<Role, string> {
  return { pump: farm.devices.pump, bank: farm.devices.waterbank, soil: farm.plots[0]?.device ?? '' }
}

const fires = (events: AlertEvent[]) => events.filter((e) => e.type === 'fire')

describe('simulator fault scenarios', () => {
  it('each raises its rule on its farm and device within budget, and nothing fires before', { timeout: 600_000 }, () => {
    const farms = demoFarms({ farms: CASES.length, seed: 'alerts-scenarios', training: [] })
    const injectAt = START + 2 * DAY + 9 * H // after two days of learning, at 09:00
    const faults = CASES.map((c, i) => ({ atMs: injectAt, device: devicesOf(farms[i] as (typeof farms)[number])[c.role], fault: c.fault }))
    const run = runModel({ farms, seed: 'alerts-scenarios', fromMs: START, toMs: START + 3 * DAY, faults })
    const events = fires(replay(testEngine(), run.published))
    expect(events.filter((e) => e.atMs < injectAt).map((e) => `${e.alert.rule}@${e.alert.device}`)).toEqual([])
    const outcome = CASES.map((c, i) => {
      const farm = farms[i] as (typeof farms)[number]
      const device = devicesOf(farm)[c.on ?? c.role]
      const first = events.find((e) => e.alert.farm === farm.farm && e.alert.device === device && e.atMs >= injectAt)
      const afterMs = first ? first.atMs - injectAt : Infinity
      return { fault: `${c.fault}@${c.role}`, rule: first?.alert.rule, inBudget: afterMs <= c.budgetMs, afterMin: Math.round(afterMs / MIN) }
    })
    expect(outcome).toEqual(CASES.map((c, i) => ({ ...outcome[i], fault: `${c.fault}@${c.role}`, rule: c.rule, inBudget: true })))
  })

  it('slow faults: a clogged intake lowers litres per Wh below the pump\'s reference; a failing battery warns before the probe dies', { timeout: 600_000 }, () => {
    const farms = demoFarms({ farms: 1, seed: 'alerts-slow', training: [] })
    const farm = farms[0] as (typeof farms)[number]
    const d = devicesOf(farm)
    const injectAt = START + 9 * DAY + 9 * H
    const run = runModel({
      farms,
      seed: 'alerts-slow',
      fromMs: START,
      toMs: START + 13 * DAY,
      faults: [
        { atMs: injectAt, device: d.pump, fault: 'clogged_intake' },
        { atMs: injectAt, device: d.soil, fault: 'low_battery' },
      ],
    })
    const events = fires(replay(testEngine(), run.published, 60_000))
    const seen = events.map((e) => ({ rule: e.alert.rule, device: e.alert.device, afterInjection: e.atMs >= injectAt }))
    expect(seen.filter((e) => !e.afterInjection)).toEqual([])
    expect(seen).toContainEqual({ rule: 'efficiency_drop', device: d.pump, afterInjection: true })
    const battery = seen.findIndex((e) => e.rule === 'low_battery' && e.device === d.soil)
    const offline = seen.findIndex((e) => e.rule === 'offline' && e.device === d.soil)
    expect(battery).toBeGreaterThanOrEqual(0)
    if (offline >= 0) expect(battery).toBeLessThan(offline)
  })
})

describe('healthy simulated days', () => {
  // March (dry season) and August (south-west monsoon: rain most days, afternoon storms, weak sun).
  it.each([
    { month: 'March', from: START, seed: 'alerts-healthy' },
    { month: 'August (monsoon)', from: Date.parse('2026-08-01T00:00:00+07:00'), seed: 'alerts-monsoon' },
  ])('thirty days in $month (nights, clouds, rain, a full tank, weak sun) raise zero alerts', { timeout: 600_000 }, ({ from, seed }) => {
    const farms = demoFarms({ farms: 1, seed, training: [] })
    const run = runModel({ farms, seed, fromMs: from, toMs: from + 30 * DAY })
    const states = new Set(run.published.filter((p) => p.topic.endsWith('/telemetry')).map((p) => p.payload.state).filter(Boolean))
    // The month really had them: a full tank, weak sun and nights (idle), as well as pumping.
    expect([...states].sort()).toEqual(expect.arrayContaining(['idle', 'running', 'tank_full', 'weak_sun']))
    const engine = testEngine()
    const events = fires(replay(engine, run.published, 60_000))
    expect(events.map((e) => `${e.alert.rule}@${e.alert.device}`)).toEqual([])
    // The efficiency rule was judging: its reference was learned on the first healthy days.
    expect(engine.state.references[`${farms[0]?.farm}/${farms[0]?.devices.pump}/efficiency`]?.value).toBeGreaterThan(0)
  })
})
