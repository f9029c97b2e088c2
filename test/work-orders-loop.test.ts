/**
 * The service loop of issue 17 through the API, on SQLite and a real PostgreSQL: a dry-run fault
 * on the pump fires an alert, which opens one work order assigned to the farm's technician, who
 * is told on LINE (Thai for a Thai reader); the technician logs a visit; a close while the pump
 * still reports the fault is refused (409, with the reason in Thai and English), so is one while
 * the data cannot tell (the pump stopped); once the pump runs with water again the close is
 * accepted and resolves the alert, by that technician, with audit rows under their id. The fault
 * firing again while the order is open opens no second one.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { farmsFileJson, LINE_IDS } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { LineStub } from '../alerts/testing/line-stub.js'
import { FARM, healthyPump, pump } from '../alerts/testing/readings.js'
import { DIALECTS, registryStores } from './helpers/registry.js'
import { waitFor } from './helpers/wait-for.js'

const TOKEN = 'wo-line-token'
const PASSWORD = 'correct horse battery staple'
const ADMIN = { who: 'test', how: 'cli' } as const
const stores = registryStores()
let line: LineStub | undefined
let h: AlertsHarness | undefined

afterEach(async () => {
  await h?.close()
  await line?.close()
  h = undefined
})
afterAll(() => stores.close())

type Json = Record<string, unknown>

/** Signs `person` in through /auth/sign-in; returns a caller of the API as them. */
async function as(harness: AlertsHarness, person: string) {
  expect(await harness.registry.sessions.setPassword(person, PASSWORD, ADMIN)).toMatchObject({ ok: true })
  const res = await fetch(`${harness.baseUrl}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ person, password: PASSWORD }) })
  expect(res.status).toBe(200)
  const { token } = (await res.json()) as { token: string }
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> => {
    const r = await fetch(`${harness.baseUrl}/alerts/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: r.status, json: (await r.json()) as Json }
  }
}

describe.each(DIALECTS)('work orders from alert to repaired pump on %s', (dialect) => {
  it('alert -> order opened and assigned -> technician told -> visit -> close refused while faulty -> data clears -> closed, alert resolved', async () => {
    const at = await stores.fresh(dialect)
    line = await new LineStub(TOKEN).start()
    h = await AlertsHarness.start({
      dataDir: at.dataDir,
      ...(at.databaseUrl !== undefined && { databaseUrl: at.databaseUrl }),
      farms: farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } }),
      env: { LINE_CHANNEL_ACCESS_TOKEN: TOKEN, LINE_CHANNEL_SECRET: 'secret', LINE_API_BASE_URL: line.url, ALERTS_API_TOKEN: 'api-token', ALERTS_SWEEP_CRON: 'off', ALERTS_WORK_ORDERS: 'on', ALERTS_WORK_ORDER_CRON: 'off' },
    })
    const harness = h
    // somsak (technician) reads Thai for this test: the work-order message must be Thai.
    expect((await harness.registry.people.update('somsak', { locale: 'th' }, ADMIN)).ok).toBe(true)
    const latest = await harness.registry.audit.latestId()
    await waitFor(() => harness.metrics.gauge('suanyang_alert_registry_change', '').get() >= latest, { message: 'the service read the locale change' })
    const tech = await as(harness, 'somsak')
    let ts = harness.now()
    const send = (r: ReturnType<typeof pump>) => harness.hub.publish({ ...r, receivedMs: harness.now() })
    const faulty = () => send(pump((ts += 1_000), { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0, motor_a: 1.1 }))

    faulty()
    const order = await waitFor(async () => {
      const list = (await tech('GET', `work-orders?farm=${FARM}`)).json.workOrders as Json[]
      return list.length > 0 ? list[0] : undefined
    }, { message: 'the alert opened a work order' })
    const alerts = (await harness.api('GET', 'alerts')).json.alerts as Json[]
    expect(alerts).toHaveLength(1)
    const alertId = alerts[0]?.id as string
    expect(order).toMatchObject({ farmId: FARM, deviceId: 'pump-1', alertId, kind: 'repair', status: 'assigned', assigneeId: 'somsak', openedBy: 'system' })
    expect(order.title).toContain('ปั๊มทำงานแห้ง')

    // Told: the farmer gets the alert card, the technician the work order, in Thai.
    await line.pushed(2)
    const toTech = line.pushes.find((p) => p.to === LINE_IDS.technician)
    expect(JSON.stringify(toTech?.messages)).toContain(`ใบสั่งงาน ${String(order.id)} มอบหมายให้คุณ`)
    expect(line.pushes.filter((p) => p.to === LINE_IDS.farmer)).toHaveLength(1)

    // The same fault, reported again and again: still one order.
    faulty()
    faulty()
    await new Promise((r) => setTimeout(r, 300))
    expect((await tech('GET', 'work-orders?status=all')).json.workOrders).toHaveLength(1)

    const visit = await tech('POST', `work-orders/${String(order.id)}/visits`, {
      findings: 'บ่อแห้ง ท่อดูดรั่วที่ข้อต่อ', parts: [{ name: 'ข้อต่อ PVC 1 นิ้ว', qty: 2 }], costThb: 180, note: 'เปลี่ยนข้อต่อแล้ว รอน้ำเข้าบ่อ',
    })
    expect(visit).toMatchObject({ status: 201, json: { visit: { who: 'somsak', costThb: 180, parts: [{ name: 'ข้อต่อ PVC 1 นิ้ว', qty: 2 }] } } })

    // The pump still reports DRY_RUN: refused, with the reason, and nothing changes.
    const refused = await tech('POST', `work-orders/${String(order.id)}/close`, { note: 'ซ่อมแล้ว' })
    expect(refused).toMatchObject({ status: 409, json: { reason: 'still_faulty' } })
    expect(refused.json.th).toContain('ข้อมูลยังแสดงว่ามีปัญหา')
    expect(refused.json.en).toContain('still shows the fault')

    // Fault gone but the pump is stopped: the data cannot tell yet.
    send(pump((ts += 1_000), { state: 'idle', fault: null, flow_lpm: 0, motor_a: 0, motor_rpm: 0, pv_w: 40, irradiance_wm2: 100 }))
    const unsure = await tech('POST', `work-orders/${String(order.id)}/close`, {})
    expect(unsure).toMatchObject({ status: 409, json: { reason: 'cannot_tell' } })
    expect((await tech('GET', `work-orders/${String(order.id)}`)).json.workOrder).toMatchObject({ status: 'assigned' })
    expect((await harness.api('GET', `alerts/${alertId}`)).json.alert).toMatchObject({ status: 'firing' })

    // Pumping water again: the data agrees, the close resolves the alert.
    send(healthyPump((ts += 1_000), 800))
    const closed = await tech('POST', `work-orders/${String(order.id)}/close`, { note: 'น้ำเข้าปกติ' })
    expect(closed).toMatchObject({ status: 200, json: { workOrder: { status: 'closed', closedBy: 'somsak', closeNote: 'น้ำเข้าปกติ' }, resolvedAlert: alertId } })
    expect((await harness.api('GET', `alerts/${alertId}`)).json.alert).toMatchObject({ status: 'resolved', resolved: { by: 'somsak', via: 'api' } })
    expect(await tech('POST', `work-orders/${String(order.id)}/close`, {})).toMatchObject({ status: 409, json: { reason: 'closed', th: 'ใบสั่งงานนี้ปิดแล้ว' } })

    const audit = await harness.registry.audit.list({ target: `work-order:${String(order.id)}` })
    expect(audit.map((e) => [e.action, e.who])).toEqual([['work-order.open', 'system'], ['work-order.visit', 'somsak'], ['work-order.close', 'somsak']])
    expect((await harness.registry.audit.list({ target: `alert:${alertId}` })).map((e) => [e.action, e.who])).toEqual([['alert.resolve', 'somsak']])
    const detail = (await tech('GET', `work-orders/${String(order.id)}`)).json
    expect(detail.visits).toMatchObject([{ findings: 'บ่อแห้ง ท่อดูดรั่วที่ข้อต่อ', note: 'เปลี่ยนข้อต่อแล้ว รอน้ำเข้าบ่อ' }])
  }, 45_000)

  it('an alert that fired with no order (work orders were off) gets one at the next round after a restart, once', async () => {
    const at = await stores.fresh(dialect)
    const where = { dataDir: at.dataDir, ...(at.databaseUrl !== undefined && { databaseUrl: at.databaseUrl }) }
    const farms = farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } })
    const before = await AlertsHarness.start({ ...where, farms, env: { ALERTS_API_TOKEN: 'api-token', ALERTS_SWEEP_CRON: 'off' } })
    before.hub.publish({ ...pump(before.now(), { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0, motor_a: 1.1 }), receivedMs: before.now() })
    const alert = await waitFor(async () => ((await before.api('GET', 'alerts')).json.alerts as Json[])[0], { message: 'the alert fired' })
    await new Promise((r) => setTimeout(r, 300))
    expect((await before.api('GET', 'work-orders?status=all')).json.workOrders).toEqual([])
    await before.close()

    h = await AlertsHarness.start({ ...where, farms, env: { ALERTS_API_TOKEN: 'api-token', ALERTS_SWEEP_CRON: 'off', ALERTS_WORK_ORDERS: 'on', ALERTS_WORK_ORDER_CRON: '* * * * * *' } })
    const harness = h
    const order = await waitFor(async () => ((await harness.api('GET', 'work-orders')).json.workOrders as Json[])[0], { message: 'the round opened the missing order' })
    expect(order).toMatchObject({ alertId: alert.id, assigneeId: 'somsak', status: 'assigned' })
    await new Promise((r) => setTimeout(r, 2_200)) // two more rounds
    expect((await harness.api('GET', 'work-orders?status=all')).json.workOrders).toHaveLength(1)
  }, 30_000)

  it('a person opens one without an alert (the ladder technician by default), assigns it on, logs a visit and closes it', async () => {
    const at = await stores.fresh(dialect)
    line = await new LineStub(TOKEN).start()
    h = await AlertsHarness.start({
      dataDir: at.dataDir,
      ...(at.databaseUrl !== undefined && { databaseUrl: at.databaseUrl }),
      farms: farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } }),
      env: { LINE_CHANNEL_ACCESS_TOKEN: TOKEN, LINE_CHANNEL_SECRET: 'secret', LINE_API_BASE_URL: line.url, ALERTS_API_TOKEN: 'api-token', ALERTS_SWEEP_CRON: 'off', ALERTS_WORK_ORDERS: 'on', ALERTS_WORK_ORDER_CRON: 'off' },
    })
    const opened = await h.api('POST', 'work-orders', { farm: FARM, device: 'pump-1', title: 'ล้างแผงโซลาร์ก่อนหน้าแล้ง', by: 'somsak' })
    expect(opened).toMatchObject({ status: 201, json: { workOrder: { kind: 'visit', status: 'assigned', assigneeId: 'somsak', openedBy: 'token:somsak', alertId: null } } })
    const id = String((opened.json.workOrder as Json).id)
    await line.pushed(1)
    expect(line.pushes[0]?.to).toBe(LINE_IDS.technician)
    // An assignee who does not serve the farm is refused; the trainer is told once assigned.
    expect((await h.api('POST', `work-orders/${id}/assign`, { assignee: 'nobody', by: 'somsak' })).status).toBe(400)
    expect(await h.api('POST', `work-orders/${id}/assign`, { assignee: 'kru-ann', by: 'somsak' })).toMatchObject({ status: 200, json: { workOrder: { assigneeId: 'kru-ann' } } })
    await line.pushed(2)
    expect(line.pushes[1]?.to).toBe(LINE_IDS.trainer)
    expect((await h.api('POST', `work-orders/${id}/visits`, { by: 'kru-ann', costThb: -5 })).status).toBe(400)
    expect((await h.api('POST', `work-orders/${id}/visits`, { by: 'kru-ann', findings: 'ฝุ่นหนา', costThb: 0 })).status).toBe(201)
    expect(await h.api('POST', `work-orders/${id}/close`, { by: 'kru-ann' })).toMatchObject({ status: 200, json: { workOrder: { status: 'closed', closedBy: 'token:kru-ann' } } })
    expect((await h.api('GET', 'work-orders')).json.workOrders).toEqual([])
    expect((await h.api('GET', 'work-orders?status=closed')).json.workOrders).toHaveLength(1)
  }, 30_000)
})
