/**
 * `npx tsx bench/alert-incidents.ts [seed ...]`: for the slow and recurring faults of issue 15,
 * on the simulator's demo farm in simulated days, through the alert engine: detection time,
 * incidents, "back to normal" messages before the repair and messages in all, then whether the
 * repair (the fault cleared at 07:00, a cleaning logged for the clog) closes it. Default seeds:
 * `alerts-slow` and `alerts-b`. About 10 s per seed.
 */
import { recordMaintenance } from '../alerts/notices.js'
import { testEngine } from '../alerts/testing/farms.js'
import { replayEffects } from '../alerts/testing/replay.js'
import type { FaultScenario } from '../contracts/sim-control.js'
import { demoFarms } from '../firmware-sim/demo.js'
import { runModel } from '../firmware-sim/run.js'

const H = 3_600_000
const DAY = 24 * H
const START = Date.parse('2026-03-01T00:00:00+07:00')

interface Case {
  fault: FaultScenario
  rule: string
  /** Healthy days before the fault (09:00), days it lasts unrepaired, days watched after the repair. */
  learnDays: number
  faultDays: number
  afterDays: number
  /** Maintenance logged at the repair (what a technician records for it). */
  logged?: string
}

// Nine learning days give the old 14-day baseline rule what it needs; the clog lasts two weeks.
const CASES: Case[] = [
  { fault: 'clogged_intake', rule: 'efficiency_drop', learnDays: 9, faultDays: 14, afterDays: 4, logged: 'filter' },
  { fault: 'controller_overheating', rule: 'overtemp', learnDays: 2, faultDays: 3, afterDays: 1.5 },
  { fault: 'float_switch_failure', rule: 'overflow', learnDays: 2, faultDays: 3, afterDays: 1.5 },
]

const seeds = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['alerts-slow', 'alerts-b']
const rows: string[][] = [['fault', 'seed', 'detected after', 'incidents', '"back to normal" while faulty', 'messages while faulty', 'after the repair']]
for (const seed of seeds) {
  for (const c of CASES) {
    const farms = demoFarms({ farms: 1, seed, training: [] })
    const farm = farms[0] as (typeof farms)[number]
    const injectAt = START + c.learnDays * DAY + 9 * H
    const repairAt = injectAt + c.faultDays * DAY - 2 * H
    const run = runModel({
      farms,
      seed,
      fromMs: START,
      toMs: repairAt + c.afterDays * DAY,
      faults: [
        { atMs: injectAt, device: farm.devices.pump, fault: c.fault },
        { atMs: repairAt, device: farm.devices.pump, fault: c.fault, action: 'clear' },
      ],
    })
    const { logged } = c
    const actions = logged
      ? [{ atMs: repairAt, act: (e: Parameters<typeof recordMaintenance>[0], nowMs: number) => recordMaintenance(e, { farm: farm.farm, device: farm.devices.pump, type: logged, note: '', by: 'bench', atMs: nowMs }) }]
      : []
    const { events, queued } = replayEffects(testEngine(), run.published, { sweepMs: 60_000, actions })
    const mine = events.filter((e) => e.alert.rule === c.rule)
    const fires = mine.filter((e) => e.type === 'fire' && e.atMs < repairAt)
    const ids = new Set(mine.map((e) => e.alert.id))
    const faulty = queued.filter((i) => ids.has(i.alertId ?? '') && i.createdMs < repairAt)
    const told = faulty.filter((i) => i.purpose === 'resolve')
    const backToNormal = told[0] ? `${told.length} (first ${((told[0].createdMs - injectAt) / DAY).toFixed(1)} d in)` : '0'
    const after = mine.filter((e) => e.type === 'resolve' && e.atMs >= repairAt)
    const detected = fires[0] ? `${((fires[0].atMs - injectAt) / H).toFixed(1)} h` : 'never'
    const openAtRepair = fires.length > mine.filter((e) => e.type === 'resolve' && e.atMs < repairAt).length
    const closed = !openAtRepair
      ? 'nothing open (told "back to normal" before)'
      : after[0]
        ? `resolved ${((after[0].atMs - repairAt) / H).toFixed(1)} h later by ${after[0].alert.resolved?.by ?? '?'}`
        : 'still open at the end'
    rows.push([c.fault, seed, detected, String(fires.length), backToNormal, String(faulty.length), closed])
  }
}
const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '))
