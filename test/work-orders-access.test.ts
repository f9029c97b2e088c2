/**
 * Who may do what with work orders (issue 17), on SQLite and a real PostgreSQL, through the API
 * as signed-in people: technicians and leads of the farm's cooperative open, assign, log visits
 * and close; the farm's farmer reads its orders but may not open, log or close one (403); a
 * technician of another cooperative is told nothing exists (404) and lists nothing of it.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { DIALECTS, registryStores } from './helpers/registry.js'

const PASSWORD = 'correct horse battery staple'
const SYSTEM = { who: 'test', how: 'system' } as const
const stores = registryStores()
let h: AlertsHarness | undefined

afterEach(async () => {
  await h?.close()
  h = undefined
})
afterAll(() => stores.close())

type Json = Record<string, unknown>
const PEOPLE: Record<string, Array<{ role: string; farmId?: string; cooperativeId?: string }>> = {
  'farmer-a': [{ role: 'farmer', farmId: 'a-01' }],
  'tech-a': [{ role: 'technician', cooperativeId: 'coop-a' }],
  'lead-a': [{ role: 'lead', cooperativeId: 'coop-a' }],
  'tech-b': [{ role: 'technician', cooperativeId: 'coop-b' }],
}

describe.each(DIALECTS)('work-order access on %s', (dialect) => {
  it('cooperative staff act, the farmer reads, another cooperative gets 404', async () => {
    const at = await stores.fresh(dialect)
    h = await AlertsHarness.start({ dataDir: at.dataDir, ...(at.databaseUrl !== undefined && { databaseUrl: at.databaseUrl }), env: { ALERTS_API_TOKEN: 'api-token', ALERTS_SWEEP_CRON: 'off' } })
    const r = h.registry
    for (const c of ['coop-a', 'coop-b']) expect((await r.cooperatives.add({ id: c, nameTh: `สหกรณ์ ${c}` }, SYSTEM)).ok).toBe(true)
    expect((await r.farms.add({ id: 'a-01', cooperativeId: 'coop-a', nameTh: 'สวน เอ' }, SYSTEM)).ok).toBe(true)
    expect((await r.farms.add({ id: 'b-01', cooperativeId: 'coop-b', nameTh: 'สวน บี' }, SYSTEM)).ok).toBe(true)
    const tokens: Record<string, string> = {}
    for (const [id, roles] of Object.entries(PEOPLE)) {
      expect((await r.people.add({ id, name: `คุณ ${id}` }, SYSTEM)).ok).toBe(true)
      for (const m of roles) expect((await r.memberships.add({ personId: id, ...m }, SYSTEM)).ok).toBe(true)
      expect((await r.sessions.setPassword(id, PASSWORD, SYSTEM)).ok).toBe(true)
      const res = await fetch(`${h.baseUrl}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ person: id, password: PASSWORD }) })
      tokens[id] = ((await res.json()) as { token: string }).token
    }
    const harness = h
    // The farm index of the sign-in layer follows the registry (polled): wait until a-01 is known.
    const call = async (who: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> => {
      const res = await fetch(`${harness.baseUrl}/alerts/api/${path}`, {
        method,
        headers: { authorization: `Bearer ${tokens[who] ?? ''}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      return { status: res.status, json: (await res.json()) as Json }
    }
    let opened = await call('tech-a', 'POST', 'work-orders', { farm: 'a-01', title: 'ตรวจปั๊มประจำเดือน', assignee: null })
    for (let i = 0; i < 40 && opened.status !== 201; i++) {
      await new Promise((res) => setTimeout(res, 50))
      opened = await call('tech-a', 'POST', 'work-orders', { farm: 'a-01', title: 'ตรวจปั๊มประจำเดือน', assignee: null })
    }
    // `assignee: null`: nobody yet (omitted, it would be the ladder's first technician, tech-a).
    expect(opened).toMatchObject({ status: 201, json: { workOrder: { farmId: 'a-01', status: 'open', assigneeId: null, openedBy: 'tech-a' } } })
    const id = String((opened.json.workOrder as Json).id)

    // Another cooperative's technician: not found, whatever they try; their list is empty.
    for (const [method, path, body] of [
      ['GET', `work-orders/${id}`, undefined],
      ['POST', `work-orders/${id}/visits`, { findings: 'x' }],
      ['POST', `work-orders/${id}/assign`, { assignee: 'tech-b' }],
      ['POST', `work-orders/${id}/close`, {}],
      ['POST', 'work-orders', { farm: 'a-01', title: 'x' }],
      ['POST', 'schedules', { id: 'a-panels', farm: 'a-01', task: 'panel_cleaning', everyDays: 14 }],
    ] as const) expect((await call('tech-b', method, path, body)).status, `${method} ${path}`).toBe(404)
    expect((await call('tech-b', 'GET', 'work-orders?status=all')).json.workOrders).toEqual([])
    expect((await call('tech-b', 'GET', 'work-orders?farm=a-01')).json.workOrders).toEqual([])

    // The farmer reads their farm's orders, and may do nothing else with them.
    expect((await call('farmer-a', 'GET', 'work-orders')).json.workOrders).toMatchObject([{ id }])
    expect((await call('farmer-a', 'GET', `work-orders/${id}`)).status).toBe(200)
    for (const [method, path, body] of [
      ['POST', `work-orders/${id}/close`, {}],
      ['POST', `work-orders/${id}/visits`, { findings: 'x' }],
      ['POST', `work-orders/${id}/assign`, { assignee: 'farmer-a' }],
      ['POST', 'work-orders', { farm: 'a-01', title: 'x' }],
    ] as const) expect((await call('farmer-a', method, path, body)).status, `farmer ${method} ${path}`).toBe(403)

    // The lead assigns it to the cooperative's technician; the technician logs and closes.
    expect(await call('lead-a', 'POST', `work-orders/${id}/assign`, { assignee: 'tech-a' })).toMatchObject({ status: 200, json: { workOrder: { status: 'assigned', assigneeId: 'tech-a' } } })
    expect((await call('tech-a', 'POST', `work-orders/${id}/visits`, { findings: 'ปกติ', parts: [], costThb: 0 })).status).toBe(201)
    expect((await call('tech-a', 'POST', `work-orders/${id}/close`, { note: 'เรียบร้อย' })).status).toBe(200)
    expect((await r.audit.list({ target: `work-order:${id}` })).map((e) => [e.action, e.who])).toEqual([
      ['work-order.open', 'tech-a'], ['work-order.assign', 'lead-a'], ['work-order.visit', 'tech-a'], ['work-order.close', 'tech-a'],
    ])
    // Nothing the refused callers tried was written.
    expect(await r.workOrders.visits(id)).toHaveLength(1)
  }, 30_000)
})
