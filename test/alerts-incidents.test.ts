/**
 * Alerts a farmer can trust (issue 15), on the simulator's farms in simulated days: a fault that
 * is not repaired is one incident until it is (no evening "back to normal", no new incident the
 * next sunny day), a clog is judged against the pump's commissioning reference (it never becomes
 * the new normal), and a logged cleaning ends it and learns the reference again. The model runs
 * in-process and its broker traffic is replayed through the engine, as in alerts-sim.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { recordMaintenance } from '../alerts/notices.js'
import { testEngine } from '../alerts/testing/farms.js'
import { replayEffects } from '../alerts/testing/replay.js'
import type { AlertEvent } from '../alerts/types.js'
import { demoFarms } from '../firmware-sim/demo.js'
import { runModel } from '../firmware-sim/run.js'

const MIN = 60_000
const H = 60 * MIN
const DAY = 24 * H
const START = Date.parse('2026-03-01T00:00:00+07:00')

const of = (events: AlertEvent[], rule: string, type: AlertEvent['type']) => events.filter((e) => e.alert.rule === rule && e.type === type)

describe('a clogged intake against the commissioning reference', () => {
  it('fires within a day, stays one incident for a week with no "back to normal", and a logged cleaning ends it and re-learns', { timeout: 120_000 }, () => {
    const seed = 'incidents-clog'
    const farms = demoFarms({ farms: 1, seed, training: [] })
    const pump = (farms[0] as (typeof farms)[number]).devices.pump
    // Three healthy days to learn from, the clog on the fourth at 09:00, cleaned a week later.
    const injectAt = START + 3 * DAY + 9 * H
    const cleanedAt = injectAt + 8 * DAY - 2 * H // 07:00, before the sun
    const run = runModel({
      farms,
      seed,
      fromMs: START,
      toMs: cleanedAt + 4 * DAY,
      faults: [
        { atMs: injectAt, device: pump, fault: 'clogged_intake' },
        { atMs: cleanedAt, device: pump, fault: 'clogged_intake', action: 'clear' },
      ],
    })
    const engine = testEngine()
    const refKey = `ranong-01/${pump}/efficiency`
    let learnedBefore: number | undefined
    const { events, queued } = replayEffects(engine, run.published, {
      sweepMs: MIN,
      actions: [
        {
          atMs: cleanedAt,
          act: (e, nowMs) => {
            learnedBefore = e.state.references[refKey]?.value
            return recordMaintenance(e, { farm: 'ranong-01', device: pump, type: 'filter', note: 'strainer cleaned', by: 'somsak', atMs: nowMs })
          },
        },
      ],
    })
    expect(events.filter((e) => e.type === 'fire' && e.atMs < injectAt).map((e) => e.alert.rule)).toEqual([])
    const fires = of(events, 'efficiency_drop', 'fire')
    expect(fires).toHaveLength(1)
    const detectedAfterMs = (fires[0] as AlertEvent).atMs - injectAt
    expect(detectedAfterMs).toBeLessThanOrEqual(DAY)
    // Open all week: the only resolve is the cleaning's, by the technician, with the note.
    expect(of(events, 'efficiency_drop', 'resolve').map((e) => [e.atMs - cleanedAt <= MIN, e.alert.resolved?.by, e.alert.resolved?.note])).toEqual([
      [true, 'somsak', 'strainer cleaned'],
    ])
    const resolveMessages = queued.filter((i) => i.alertId === fires[0]?.alert.id && i.purpose === 'resolve')
    expect(resolveMessages.length).toBeGreaterThan(0)
    expect(resolveMessages.every((i) => i.createdMs >= cleanedAt)).toBe(true)
    // Learned again on the three days after the cleaning, near the commissioning value.
    const ref = engine.state.references[refKey]
    expect(ref).toMatchObject({ basis: 'maintenance', sinceTs: expect.any(Number) })
    expect(ref?.learning).toBeUndefined()
    expect(ref?.value).toBeCloseTo(learnedBefore as number, 1)
    expect(Object.keys(engine.state.alerts).filter((k) => k.endsWith('/efficiency_drop'))).toEqual([])
  })
})
