/**
 * `suanyang workorder` against a running alert service (issue 17), on SQLite and a real
 * PostgreSQL: the order an alert opened is listed; a visit with parts and cost is logged; a close
 * while the pump still reports its fault exits 4 and prints the reason in Thai and English; once
 * the pump pumps again it closes (exit 0) and the alert is resolved. A person opens one and
 * assigns it on; a maintenance schedule is added and listed.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { farmsFileJson } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { FARM, healthyPump, pump } from '../alerts/testing/readings.js'
import { runCliInProcess } from './helpers/app.js'
import { DIALECTS, registryStores } from './helpers/registry.js'
import { waitFor } from './helpers/wait-for.js'

const stores = registryStores()
let h: AlertsHarness | undefined

afterEach(async () => {
  await h?.close()
  h = undefined
})
afterAll(() => stores.close())

describe.each(DIALECTS)('suanyang workorder on %s', (dialect) => {
  it('lists, logs a visit, is refused while faulty (exit 4), closes once the data clears', async () => {
    const at = await stores.fresh(dialect)
    h = await AlertsHarness.start({
      dataDir: at.dataDir,
      ...(at.databaseUrl !== undefined && { databaseUrl: at.databaseUrl }),
      farms: farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } }),
      env: { ALERTS_API_TOKEN: 'api-token', ALERTS_SWEEP_CRON: 'off', ALERTS_WORK_ORDERS: 'on', ALERTS_WORK_ORDER_CRON: 'off' },
    })
    const harness = h
    const cli = (...args: string[]) => runCliInProcess(['workorder', ...args, '--url', harness.baseUrl], { ALERTS_API_TOKEN: 'api-token' })
    let ts = harness.now()
    harness.hub.publish({ ...pump((ts += 1_000), { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0, motor_a: 1.1 }), receivedMs: harness.now() })

    const listed = await waitFor(async () => {
      const r = await cli('list', '--farm', FARM, '--json')
      const orders = (JSON.parse(r.stdout) as { workOrders: Array<{ id: string; assigneeId: string }> }).workOrders
      return r.code === 0 && orders.length === 1 ? orders[0] : undefined
    }, { message: 'the alert opened a work order' })
    expect(listed?.assigneeId).toBe('somsak')
    const id = listed?.id ?? ''
    expect((await cli('list')).stdout).toContain(`${id}  assigned  repair  ${FARM}/pump-1  → somsak`)

    const visit = await cli('visit', id, '--by', 'somsak', '--findings', 'ท่อดูดรั่ว', '--part', 'ข้อต่อ PVC=2', '--part', 'เทปพันเกลียว=1', '--cost', '120')
    expect(visit.code).toBe(0)
    expect(await harness.registry.workOrders.visits(id)).toMatchObject([{ who: 'token:somsak', parts: [{ name: 'ข้อต่อ PVC', qty: 2 }, { name: 'เทปพันเกลียว', qty: 1 }], costThb: 120 }])
    expect((await cli('visit', id, '--by', 'somsak', '--part', 'nothing')).code).toBe(2)

    const refused = await cli('close', id, '--by', 'somsak')
    expect(refused.code).toBe(4)
    expect(refused.stdout).toContain('ข้อมูลยังแสดงว่ามีปัญหา')
    expect(refused.stdout).toContain('still shows the fault')

    harness.hub.publish({ ...healthyPump(ts + 1_000, 800), receivedMs: harness.now() })
    const closed = await cli('close', id, '--by', 'somsak', '--note', 'เปลี่ยนข้อต่อ น้ำเข้าปกติ', '--json')
    expect(closed.code).toBe(0)
    const alertId = (JSON.parse(closed.stdout) as { resolvedAlert: string }).resolvedAlert
    expect((await harness.api('GET', `alerts/${alertId}`)).json.alert).toMatchObject({ status: 'resolved', resolved: { by: 'somsak' } })

    const opened = await cli('open', '--farm', FARM, '--title', 'ล้างแผงโซลาร์', '--by', 'somsak', '--kind', 'visit')
    expect(opened.code).toBe(0)
    expect(opened.stdout).toContain('assigned  visit')
    const newId = /^(wo-\S+)/.exec(opened.stdout)?.[1] ?? ''
    expect(await cli('assign', newId, '--to', 'kru-ann', '--by', 'somsak')).toMatchObject({ code: 0, stdout: expect.stringContaining('→ kru-ann') as unknown })
    expect((await cli('open', '--farm', FARM, '--by', 'somsak')).code).toBe(2) // no title
    expect((await cli('schedule', 'add', '--id', 'panels', '--farm', FARM, '--task', 'panel_cleaning', '--every-days', '14', '--by', 'somsak')).code).toBe(0)
    expect((await cli('schedule', 'add', '--id', 'filter', '--farm', FARM, '--task', 'filter', '--by', 'somsak')).code).toBe(1) // neither days nor hours
    const schedules = JSON.parse((await cli('schedule', 'list', '--json')).stdout) as { schedules: unknown[] }
    expect(schedules.schedules).toMatchObject([{ id: 'panels', everyDays: 14, task: 'panel_cleaning' }])
    expect((await cli('show', 'wo-nope')).code).toBe(1)
  }, 40_000)
})
