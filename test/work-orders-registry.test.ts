/**
 * The work-order repository (registry/repos/work-orders.ts) on SQLite and a real PostgreSQL:
 * every write carries its audit row with the person's id; a refusal writes nothing (no row, no
 * audit); one order per alert id, even when two opens race; a closed order takes no visit and no
 * new assignee; a removed person leaves the order unassigned, a removed farm takes its orders along.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { DIALECTS, registryStores } from './helpers/registry.js'

const stores = registryStores()
afterAll(() => stores.close())

const SYSTEM = { who: 'test', how: 'system' } as const
const TECH = { who: 'somsak', how: 'api' } as const

describe.each(DIALECTS)('work-order repository on %s', (dialect) => {
  it('writes with audit rows, refuses without writing, one order per alert', async () => {
    const r = await stores.registry(dialect)
    expect((await r.farms.add({ id: 'ranong-01', nameTh: 'สวนลุงสมชาย' }, SYSTEM)).ok).toBe(true)
    expect((await r.people.add({ id: 'somsak', name: 'ช่างสมศักดิ์' }, SYSTEM)).ok).toBe(true)
    const before = await r.audit.latestId()

    // Refusals: unknown farm, unknown assignee, a bad kind, an empty title: nothing written.
    expect(await r.workOrders.open({ farmId: 'nowhere', title: 'x' }, TECH)).toMatchObject({ ok: false, reason: 'invalid', issues: [{ field: 'farmId' }] })
    expect(await r.workOrders.open({ farmId: 'ranong-01', title: 'x', assigneeId: 'nobody' }, TECH)).toMatchObject({ ok: false, issues: [{ field: 'assigneeId' }] })
    expect(await r.workOrders.open({ farmId: 'ranong-01', title: 'x', kind: 'party' }, TECH)).toMatchObject({ ok: false, issues: [{ field: 'kind' }] })
    expect(await r.workOrders.open({ farmId: 'ranong-01', title: '  ' }, TECH)).toMatchObject({ ok: false, issues: [{ field: 'title' }] })
    expect(await r.workOrders.list()).toEqual([])
    expect(await r.audit.latestId()).toBe(before)

    // Two opens for one alert at once: one order, the other refused as existing.
    const alert = { farmId: 'ranong-01', deviceId: 'pump-1', alertId: 'ranong-01.pump-1.dry_run.abc', alertKey: 'ranong-01/pump-1/dry_run', title: 'ปั๊มทำงานแห้ง' }
    const both = await Promise.all([r.workOrders.open(alert, SYSTEM), r.workOrders.open(alert, SYSTEM)])
    expect(both.filter((o) => o.ok)).toHaveLength(1)
    expect(both.find((o) => !o.ok)).toMatchObject({ ok: false, reason: 'exists' })
    const order = both.find((o) => o.ok)
    if (!order?.ok) throw new Error('no order')
    const id = order.value.id
    expect(await r.workOrders.forAlert(alert.alertId)).toMatchObject({ id, status: 'open', assigneeId: null })
    expect(await r.workOrders.activeForKey(alert.alertKey)).toMatchObject({ id })

    expect(await r.workOrders.assign(id, 'somsak', TECH)).toMatchObject({ ok: true, changed: true, value: { status: 'assigned', assigneeId: 'somsak' } })
    expect(await r.workOrders.assign(id, 'somsak', TECH)).toMatchObject({ ok: true, changed: false })
    expect(await r.workOrders.logVisit(id, { findings: 'ท่อรั่ว', parts: [{ name: 'ข้อต่อ', qty: 0 }] }, TECH)).toMatchObject({ ok: false, issues: [{ field: 'parts.0.qty' }] })
    expect(await r.workOrders.logVisit(id, { findings: 'ท่อรั่ว', parts: [{ name: 'ข้อต่อ', qty: 2 }], costThb: 80, visitedAt: '2026-11-30T09:15:00+07:00' }, TECH)).toMatchObject({
      ok: true, value: { who: 'somsak', visitedAt: '2026-11-30T02:15:00.000Z', costThb: 80 },
    })
    expect(await r.workOrders.close(id, { note: 'เรียบร้อย' }, TECH)).toMatchObject({ ok: true, value: { status: 'closed', closedBy: 'somsak', closeNote: 'เรียบร้อย' } })
    expect(await r.workOrders.activeForKey(alert.alertKey)).toBeUndefined()
    // Closed: no visit, no assignee, no second close.
    expect(await r.workOrders.logVisit(id, { findings: 'อีก' }, TECH)).toMatchObject({ ok: false, issues: [{ field: 'status' }] })
    expect(await r.workOrders.assign(id, 'somsak', TECH)).toMatchObject({ ok: false })
    expect(await r.workOrders.close(id, {}, TECH)).toMatchObject({ ok: false })
    expect((await r.audit.list({ target: `work-order:${id}` })).map((e) => [e.action, e.who, e.how])).toEqual([
      ['work-order.open', 'test', 'system'], ['work-order.assign', 'somsak', 'api'], ['work-order.visit', 'somsak', 'api'], ['work-order.close', 'somsak', 'api'],
    ])
  })

  it('a removed person leaves their orders unassigned; a removed farm takes its orders and schedules along', async () => {
    const r = await stores.registry(dialect)
    expect((await r.farms.add({ id: 'ranong-02' }, SYSTEM)).ok).toBe(true)
    expect((await r.people.add({ id: 'somsak', name: 'ช่างสมศักดิ์' }, SYSTEM)).ok).toBe(true)
    const o = await r.workOrders.open({ farmId: 'ranong-02', title: 'ตรวจ', assigneeId: 'somsak' }, SYSTEM)
    expect(await r.workOrders.addSchedule({ id: 'r2-panels', farmId: 'ranong-02', task: 'panel_cleaning', everyDays: 14 }, SYSTEM)).toMatchObject({ ok: true })
    expect(await r.workOrders.addSchedule({ id: 'r2-filter', farmId: 'ranong-02', task: 'filter', everyRunHours: 200 }, SYSTEM)).toMatchObject({ ok: false, issues: [{ field: 'deviceId' }] })
    expect(await r.workOrders.addSchedule({ id: 'r2-panels', farmId: 'ranong-02', task: 'panel_cleaning', everyDays: 7 }, SYSTEM)).toMatchObject({ ok: false, reason: 'exists' })
    if (!o.ok) throw new Error('not opened')
    expect((await r.people.remove('somsak', SYSTEM)).ok).toBe(true)
    expect(await r.workOrders.get(o.value.id)).toMatchObject({ assigneeId: null })
    expect((await r.farms.remove('ranong-02', SYSTEM)).ok).toBe(true)
    expect(await r.workOrders.list({ status: undefined })).toEqual([])
    expect(await r.workOrders.schedules()).toEqual([])
  })
})
