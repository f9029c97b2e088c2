/**
 * Reference, not drift (issue 15): the efficiency rule judges a pump against what it did on its
 * first healthy days, frozen; a clog that lasts stays one open incident instead of becoming the
 * new normal, and only a sustained return or a logged repair closes it (the repair re-learns).
 */
import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import type { Reading } from '../runtime/hub.js'
import type { AlertEngine } from './engine.js'
import { recordMaintenance } from './notices.js'
import { testEngine, testFarms } from './testing/farms.js'
import { healthyPump } from './testing/readings.js'
import type { AlertEvent } from './types.js'

const T = FIXTURE_TS // 10:00 in Ranong
const MIN = 60_000
const DAY = 24 * 60 * MIN
const KEY = 'ranong-01/pump-1/efficiency'
const ALERT = 'ranong-01/pump-1/efficiency_drop'

/** Three hours of good sun on day `d` (about 1.7 kWh of PV): healthy, or clogged (40 % less water). */
const pumpingDay = (d: number, clogged = false, minutes = 180): Reading[] =>
  Array.from({ length: minutes }, (_, i) => healthyPump(T + d * DAY + i * MIN, 800, clogged ? { flow_lpm: 19 } : {}))

/** Feeds readings at their own time; every message due goes out (as the dispatcher would send it). */
function feed(engine: AlertEngine, readings: Reading[]): AlertEvent[] {
  return readings
    .flatMap((r) => {
      const { events } = engine.onReading(r, r.receivedMs)
      for (const item of Object.values(engine.state.outbox)) {
        if (item.status === 'queued' && item.notBeforeMs <= r.receivedMs) Object.assign(item, { status: 'sent', attempts: 1, doneMs: r.receivedMs })
      }
      return events
    })
    .filter((e) => e.alert.rule === 'efficiency_drop')
}

const noOffline = () => testEngine({ farms: testFarms({ rules: { offline: { enabled: false } } }) })

/** Minutes after day `d`'s first reading that an event happened. */
const at = (e: AlertEvent | undefined, d: number) => (e === undefined ? undefined : Math.round((e.atMs - (T + d * DAY)) / MIN))

describe('efficiency against the commissioning reference', () => {
  it('learns from the first three healthy days, then fires within an hour of clogged pumping', () => {
    const engine = noOffline()
    for (let d = 0; d < 3; d++) feed(engine, pumpingDay(d))
    // Days are taken once complete: the third is in once the fourth day's first reading comes.
    expect(engine.state.references[KEY]?.value).toBeUndefined()
    feed(engine, pumpingDay(3))
    expect(engine.state.references[KEY]).toMatchObject({ basis: 'commissioning', value: expect.closeTo(31.5 / (565 / 60), 2) })
    const events = feed(engine, pumpingDay(4, true))
    expect(events.map((e) => e.type)).toEqual(['fire'])
    // The newest 500 Wh of good sun (about 50 minutes at 565 W) mostly clogged: under 75 %.
    expect(at(events[0], 4)).toBeLessThanOrEqual(60)
    expect(events[0]?.alert.detail).toMatchObject({ reference_l_per_wh: expect.closeTo(3.345, 2), ratio_pct: expect.any(Number) })
  })

  it('a clog that lasts three weeks stays one incident: the reference does not drift to it', () => {
    const engine = noOffline()
    for (let d = 0; d < 4; d++) feed(engine, pumpingDay(d))
    const events: AlertEvent[] = []
    for (let d = 4; d < 25; d++) events.push(...feed(engine, pumpingDay(d, true)))
    expect(events.map((e) => e.type)).toEqual(['fire'])
    expect(engine.state.alerts[ALERT]?.status).toBe('firing')
    expect(engine.state.references[KEY]?.learning).toBeUndefined()
  })

  it('clears on a sustained return (a good day of pumping), not on one good hour', () => {
    const engine = noOffline()
    for (let d = 0; d < 4; d++) feed(engine, pumpingDay(d))
    feed(engine, pumpingDay(4, true))
    // The farmer cleans the strainer without logging it: an hour of clean pumping is not enough.
    expect(feed(engine, pumpingDay(5, false, 60))).toEqual([])
    const back = feed(engine, pumpingDay(5.1, false, 180))
    expect(back.map((e) => [e.type, e.alert.resolved?.by])).toEqual([['resolve', 'system']])
    // Three clean 500 Wh windows in a row: 1500 Wh, over 2.5 hours of clean pumping at 565 W.
    expect(at(back[0], 5.1)).toBeGreaterThan(90)
  })

  it('a logged cleaning resolves the alert, judges from the repair on, and learns the reference again', () => {
    const engine = noOffline()
    for (let d = 0; d < 4; d++) feed(engine, pumpingDay(d))
    feed(engine, pumpingDay(4, true))
    const before = engine.state.references[KEY]?.value
    const cleaned = recordMaintenance(engine, { farm: 'ranong-01', device: 'pump-1', type: 'filter', note: 'strainer cleaned', by: 'somsak', atMs: T + 5 * DAY - 60 * MIN })
    expect(cleaned.events.map((e) => [e.type, e.alert.rule, e.alert.resolved?.by, e.alert.resolved?.note])).toEqual([
      ['resolve', 'efficiency_drop', 'somsak', 'strainer cleaned'],
    ])
    expect(cleaned.queued.map((i) => i.purpose)).toEqual(['resolve'])
    expect(engine.state.references[KEY]).toMatchObject({ basis: 'maintenance', value: before, learning: { days: [] } })
    // The clogged hours before the repair are not judged again: the clean ones after it are.
    const after: AlertEvent[] = []
    // The repair's own day is half clogged: learning takes the three days after it.
    for (let d = 5; d < 10; d++) after.push(...feed(engine, pumpingDay(d)))
    expect(after).toEqual([])
    expect(engine.state.references[KEY]).toMatchObject({ basis: 'maintenance', value: expect.closeTo(before as number, 2) })
    expect(engine.state.references[KEY]?.learning).toBeUndefined()
  })

  it('a repair that did not help is caught again, and a panel cleaning does not touch the water reference', () => {
    const engine = noOffline()
    for (let d = 0; d < 4; d++) feed(engine, pumpingDay(d))
    feed(engine, pumpingDay(4, true))
    expect(recordMaintenance(engine, { farm: 'ranong-01', device: 'pump-1', type: 'panel_cleaning', note: '', by: 'somchai', atMs: T + 4 * DAY + 4 * 60 * MIN }).events).toEqual([])
    expect(engine.state.alerts[ALERT]?.status).toBe('firing')
    recordMaintenance(engine, { farm: 'ranong-01', device: 'pump-1', type: 'filter', note: '', by: 'somchai', atMs: T + 5 * DAY - 60 * MIN })
    const again = feed(engine, pumpingDay(5, true))
    expect(again.map((e) => e.type)).toEqual(['fire'])
    expect(at(again[0], 5)).toBeLessThanOrEqual(60)
    // While it is open the days are not healthy: nothing is learned from them.
    for (let d = 6; d < 10; d++) feed(engine, pumpingDay(d, true))
    expect(engine.state.references[KEY]?.learning?.days).toEqual([])
  })

  it('a technician resolving the alert with a note (a repair record) re-learns too', () => {
    const engine = noOffline()
    for (let d = 0; d < 4; d++) feed(engine, pumpingDay(d))
    const [fired] = feed(engine, pumpingDay(4, true))
    const id = fired?.alert.id as string
    const atMs = T + 5 * DAY - 60 * MIN
    expect(engine.resolve(id, { by: 'somsak', via: 'api', atMs }, 'impeller cleared').change.ok).toBe(true)
    // What the API does next with the note.
    recordMaintenance(engine, { farm: 'ranong-01', device: 'pump-1', type: 'repair', note: 'impeller cleared', by: 'somsak', atMs, alertId: id })
    expect(engine.state.references[KEY]).toMatchObject({ basis: 'maintenance', sinceTs: atMs, learning: { days: [] } })
    expect(feed(engine, pumpingDay(5))).toEqual([])
  })

  it('a day with an alert open is not learned from; a day with too little sun cannot tell', () => {
    const engine = noOffline()
    feed(engine, pumpingDay(0))
    // Day 1: a dry-run fault for a while (no water, so no litres): not a healthy day.
    const dry = Array.from({ length: 10 }, (_, i) => healthyPump(T + DAY + i * MIN, 800, { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0 }))
    engine.onReading(dry[0] as Reading, T + DAY)
    feed(engine, [...dry, ...pumpingDay(1.01, false, 120)])
    feed(engine, pumpingDay(2, false, 30)) // half an hour of sun: under 500 Wh
    feed(engine, pumpingDay(3))
    feed(engine, pumpingDay(4, false, 1))
    expect(engine.state.references[KEY]?.learning?.days.map((d) => d.day)).toEqual(['2026-03-01', '2026-03-04'])
  })
})
