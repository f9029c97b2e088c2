/**
 * The pure parts of work orders (issue 17): when a schedule is due (days, pumped hours, baseline,
 * disabled), who is assigned by default (training farms: a trainer), and what the data says to
 * a close (a long-term rule needs the logged visit; an alert no longer open lets it close).
 */
import { describe, expect, it } from 'vitest'
import type { MaintenanceSchedule, WorkOrder } from '../registry/index.js'
import { testEngine, testFarms } from './testing/farms.js'
import { FARM } from './testing/readings.js'
import type { AlertRecord } from './types.js'
import { closeCheck, defaultAssignee, dueSchedules } from './work-orders.js'

const DAY = 86_400_000
const NOW = Date.parse('2026-12-01T03:00:00Z')
const schedule = (over: Partial<MaintenanceSchedule>): MaintenanceSchedule => ({
  id: 's', farmId: FARM, deviceId: 'pump-1', task: 'filter', everyDays: null, everyRunHours: null, lastDoneAt: null, lastRunHours: null, enabled: true,
  createdAt: new Date(NOW - 30 * DAY).toISOString(), updatedAt: '', ...over,
})

describe('dueSchedules', () => {
  it('by days since last done (or since made), by pumped hours past the baseline; never when disabled', () => {
    const hours = (h: number | undefined) => () => h
    const ids = (list: ReturnType<typeof dueSchedules>) => list.map((d) => ('baseline' in d ? `${d.schedule.id}:baseline=${d.baseline}` : `${d.schedule.id}:${d.why}`))
    expect(ids(dueSchedules([
      schedule({ id: 'a', everyDays: 14, lastDoneAt: new Date(NOW - 14 * DAY).toISOString() }),
      schedule({ id: 'b', everyDays: 14, lastDoneAt: new Date(NOW - 13.9 * DAY).toISOString() }),
      schedule({ id: 'c', everyDays: 28 }), // made 30 days ago, never done
      schedule({ id: 'd', everyDays: 1, enabled: false }),
    ], hours(undefined), NOW))).toEqual(['a:days', 'c:days'])
    expect(ids(dueSchedules([schedule({ id: 'h', everyRunHours: 200 })], hours(1_000), NOW))).toEqual(['h:baseline=1000'])
    expect(ids(dueSchedules([schedule({ id: 'h', everyRunHours: 200, lastRunHours: 1_000 })], hours(1_199.9), NOW))).toEqual([])
    expect(ids(dueSchedules([schedule({ id: 'h', everyRunHours: 200, lastRunHours: 1_000 })], hours(1_200), NOW))).toEqual(['h:run_hours'])
    expect(ids(dueSchedules([schedule({ id: 'h', everyRunHours: 200, lastRunHours: 1_000 })], hours(undefined), NOW))).toEqual([]) // pump not seen
  })
})

describe('defaultAssignee', () => {
  it("is the farm's first technician; on a training farm its first trainer, never a technician", () => {
    expect(defaultAssignee(testFarms().get(FARM))?.id).toBe('somsak')
    expect(defaultAssignee(testFarms({ training: true }).get(FARM))?.id).toBe('kru-ann')
    expect(defaultAssignee(testFarms({ contacts: [{ id: 'somchai', name: 'สมชาย', role: 'farmer' }] }).get(FARM))).toBeUndefined()
  })
})

describe('closeCheck', () => {
  const order = (over: Partial<WorkOrder> = {}): WorkOrder => ({
    id: 'wo-1', farmId: FARM, deviceId: 'pump-1', alertId: null, alertKey: null, scheduleId: null, title: 't', kind: 'repair', status: 'assigned', assigneeId: 'somsak',
    openedBy: 'system', openedAt: '', assignedAt: null, closedAt: null, closedBy: null, closeNote: null, createdAt: '', updatedAt: '', ...over,
  })
  const alert = (rule: AlertRecord['rule']): AlertRecord => ({
    id: `${FARM}.pump-1.${rule}.x`, key: `${FARM}/pump-1/${rule}`, farm: FARM, kind: 'pump', device: 'pump-1', rule, severity: 'warning', audience: 'farmer', status: 'firing',
    sinceMs: NOW, flapping: false, version: 1, detail: {}, snapshot: [], escalation: { step: 0 }, notified: [],
  })

  it('an order without an alert, or whose alert is no longer open, closes', () => {
    const engine = testEngine()
    expect(closeCheck(engine, order(), 0, NOW)).toEqual({ ok: true })
    expect(closeCheck(engine, order({ alertId: 'gone', alertKey: `${FARM}/pump-1/dry_run` }), 0, NOW)).toEqual({ ok: true })
  })

  it('a long-term rule (efficiency) is ended by the logged repair: refused until a visit is logged', () => {
    const engine = testEngine()
    const a = alert('efficiency_drop')
    engine.state.alerts[a.key] = a
    const o = order({ alertId: a.id, alertKey: a.key })
    expect(closeCheck(engine, o, 0, NOW)).toMatchObject({ ok: false, reason: 'no_visit' })
    expect(closeCheck(engine, o, 1, NOW)).toMatchObject({ ok: true, byRepair: true, alert: { id: a.id } })
  })

  it('a device that sent nothing yet cannot tell; a clear being held says clear', () => {
    const engine = testEngine()
    const a = alert('dry_run')
    engine.state.alerts[a.key] = a
    const o = order({ alertId: a.id, alertKey: a.key })
    expect(closeCheck(engine, o, 1, NOW)).toMatchObject({ ok: false, reason: 'cannot_tell' })
    engine.state.alerts[a.key] = { ...a, clearSinceMs: NOW - 60_000 }
    expect(closeCheck(engine, o, 0, NOW)).toMatchObject({ ok: true, alert: { id: a.id } })
    engine.state.alerts[a.key] = { ...a, status: 'pending' }
    expect(closeCheck(engine, o, 1, NOW)).toMatchObject({ ok: false, reason: 'still_faulty' })
  })
})
