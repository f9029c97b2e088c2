/**
 * Scheduled maintenance opens its work orders by itself (issue 17), on SQLite and a real
 * PostgreSQL: a panel cleaning due by days (last done 15 days ago, every 14) opens one order,
 * assigned to the farm's technician; one done yesterday does not; a filter due every 200 pumped
 * hours takes the pump's run-hour counter at its first reading as the baseline and opens its
 * order once the counter has moved 200 h past it. A due schedule opens one order however often
 * the check runs, and closing it counts as done: nothing opens again.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { farmsFileJson } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { FARM, healthyPump } from '../alerts/testing/readings.js'
import { DIALECTS, registryStores } from './helpers/registry.js'
import { waitFor } from './helpers/wait-for.js'

const DAY_MS = 86_400_000
const stores = registryStores()
let h: AlertsHarness | undefined

afterEach(async () => {
  await h?.close()
  h = undefined
})
afterAll(() => stores.close())

type Json = Record<string, unknown>
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe.each(DIALECTS)('maintenance schedules on %s', (dialect) => {
  it('opens an order when due by days or by pumped hours, once, and not again after it is closed', async () => {
    const at = await stores.fresh(dialect)
    h = await AlertsHarness.start({
      dataDir: at.dataDir,
      ...(at.databaseUrl !== undefined && { databaseUrl: at.databaseUrl }),
      farms: farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } }),
      env: { ALERTS_API_TOKEN: 'api-token', ALERTS_SWEEP_CRON: 'off', ALERTS_WORK_ORDERS: 'on', ALERTS_WORK_ORDER_CRON: '* * * * * *' },
    })
    const harness = h
    const now = harness.now()
    const add = (body: Json) => harness.api('POST', 'schedules', { by: 'somsak', ...body })
    expect(await add({ id: 'panels', farm: FARM, task: 'panel_cleaning', everyDays: 14, lastDoneAt: new Date(now - 15 * DAY_MS).toISOString() })).toMatchObject({ status: 201 })
    expect((await add({ id: 'panels-2', farm: FARM, device: 'pump-1', task: 'panel_cleaning', everyDays: 14, lastDoneAt: new Date(now - DAY_MS).toISOString() })).status).toBe(201)
    expect((await add({ id: 'filter', farm: FARM, device: 'pump-1', task: 'filter', everyRunHours: 200 })).status).toBe(201)
    expect((await add({ id: 'nothing', farm: FARM, task: 'filter' })).status).toBe(400) // neither days nor hours

    const orders = async () => (await harness.api('GET', 'work-orders?status=all')).json.workOrders as Json[]
    const panels = await waitFor(async () => (await orders()).find((o) => o.scheduleId === 'panels'), { message: 'the panel cleaning due by days opened its order' })
    expect(panels).toMatchObject({ kind: 'scheduled', status: 'assigned', assigneeId: 'somsak', openedBy: 'system', alertId: null })
    expect(panels.title).toContain('ล้างแผงโซลาร์')

    // The pump's counter at 1,000 h: the filter's baseline, nothing due yet.
    let ts = harness.now()
    harness.hub.publish({ ...healthyPump((ts += 1_000), 800, { run_s_total: 1_000 * 3600 }), receivedMs: harness.now() })
    await waitFor(async () => (await harness.registry.workOrders.schedule('filter'))?.lastRunHours === 1_000, { message: 'the filter schedule took the counter as its baseline' })
    await sleep(1_200)
    expect((await orders()).filter((o) => o.scheduleId === 'filter')).toEqual([])
    harness.hub.publish({ ...healthyPump((ts += 1_000), 800, { run_s_total: 1_150 * 3600 }), receivedMs: harness.now() })
    await sleep(1_200)
    expect((await orders()).filter((o) => o.scheduleId === 'filter')).toEqual([])
    // 201 pumped hours since the baseline: due.
    harness.hub.publish({ ...healthyPump(ts + 1_000, 800, { run_s_total: 1_201 * 3600 }), receivedMs: harness.now() })
    const filter = await waitFor(async () => (await orders()).find((o) => o.scheduleId === 'filter'), { message: 'the filter due by pumped hours opened its order' })
    expect(filter).toMatchObject({ kind: 'scheduled', deviceId: 'pump-1', assigneeId: 'somsak' })
    expect(filter.title).toContain('201 ชั่วโมงที่ปั๊มทำงาน')

    // More rounds: still one order each, none for the schedule done yesterday.
    await sleep(2_200)
    expect((await orders()).map((o) => o.scheduleId).sort()).toEqual(['filter', 'panels'])

    // Closed: the schedule counts as done now (days) and at the counter (hours); nothing reopens.
    expect((await harness.api('POST', `work-orders/${String(panels.id)}/close`, { by: 'somsak', note: 'ล้างแล้ว' })).status).toBe(200)
    expect((await harness.api('POST', `work-orders/${String(filter.id)}/close`, { by: 'somsak' })).status).toBe(200)
    const done = await harness.registry.workOrders.schedules()
    expect(Date.parse(done.find((s) => s.id === 'panels')?.lastDoneAt ?? '')).toBeGreaterThanOrEqual(now)
    expect(done.find((s) => s.id === 'filter')).toMatchObject({ lastRunHours: 1_201 })
    await sleep(2_200)
    expect((await orders()).map((o) => [o.scheduleId, o.status]).sort()).toEqual([['filter', 'closed'], ['panels', 'closed']])
    expect((await harness.registry.audit.list({ target: 'schedule:panels' })).map((e) => [e.action, e.who])).toEqual([['schedule.add', 'token:somsak'], ['schedule.done', 'token:somsak']])
  }, 45_000)
})
