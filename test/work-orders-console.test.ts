/**
 * Work orders on the field console in real Chromium (issue 17) against the one-process system
 * (broker, ingest, alerts, console): a pump's dry-run fault published over MQTT opens a work
 * order; the technician signs in on the page, sees it under their farm, logs a visit with a part
 * and its cost, and is refused the close with the service's Thai reason while the pump still
 * reports the fault; once it pumps again the close from the page is accepted and the alert is
 * resolved by them. The farm's farmer sees the order without the forms. The Thai view shows no
 * English label in the section.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type MqttClient, connectAsync } from 'mqtt'
import { type BrowserContext, type Page, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { healthyPump, pump } from '../alerts/testing/readings.js'
import { type TestApp, startTestApp } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'
import { englishOnScreen } from './helpers/page-checks.js'
import { waitFor } from './helpers/wait-for.js'

const TOKEN = 'wo-console-token'
const PASSWORD = 'correct horse battery staple'
const SYSTEM = { who: 'test', how: 'system' } as const
const FARM = 'ranong-01'
const PUMP = 'ranong-01-pump'

let app: TestApp
let browser: BrowserContext
let page: Page
let profile: string
let base: string
let device: MqttClient
const errors: string[] = []

const api = async (path: string) => (await (await fetch(`${base}/alerts/api/${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Record<string, unknown>

beforeAll(async () => {
  const executablePath = requireBinary('chromium', 'chromium')
  app = await startTestApp(['broker', 'ingest', 'alerts', 'console'], { ALERTS_API_TOKEN: TOKEN, ALERTS_DIGEST_CRON: 'off', ALERTS_REMINDER_CRON: 'off', ALERTS_WORK_ORDER_CRON: 'off' })
  base = `http://127.0.0.1:${app.httpPort}`
  const r = app.registry
  expect((await r.farms.add({ id: FARM, nameTh: 'สวนลุงสมชาย' }, SYSTEM)).ok).toBe(true)
  expect((await r.people.add({ id: 'somsak', name: 'ช่างสมศักดิ์' }, SYSTEM)).ok).toBe(true)
  expect((await r.memberships.add({ personId: 'somsak', role: 'technician', farmId: FARM }, SYSTEM)).ok).toBe(true)
  expect((await r.sessions.setPassword('somsak', PASSWORD, SYSTEM)).ok).toBe(true)
  expect((await r.people.add({ id: 'somchai', name: 'ลุงสมชาย' }, SYSTEM)).ok).toBe(true)
  expect((await r.memberships.add({ personId: 'somchai', role: 'farmer', farmId: FARM }, SYSTEM)).ok).toBe(true)
  expect((await r.sessions.setPassword('somchai', PASSWORD, SYSTEM)).ok).toBe(true)
  const { password } = await app.accounts.addDevice({ farm: FARM, kind: 'pump', device: PUMP })
  device = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { username: PUMP, password, clientId: PUMP, protocolVersion: 4 })
  profile = await mkdtemp(join(tmpdir(), 'suanyang-chromium-'))
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 412, height: 900 },
    timezoneId: 'Asia/Bangkok',
  })
  page = browser.pages()[0] ?? (await browser.newPage())
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('409')) errors.push(m.text())
  })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await device?.endAsync()
  await app?.stop()
  if (profile) await rm(profile, { recursive: true, force: true })
})

describe('work orders on the console page', () => {
  it('technician: sees the order an alert opened, logs a visit, is refused while faulty, closes once it pumps', async () => {
    let ts = Date.now()
    const publish = (r: ReturnType<typeof pump>) => device.publishAsync(`farm/${FARM}/pump/${PUMP}/telemetry`, JSON.stringify(r.payload), { qos: 1 })
    await publish(pump((ts += 1_000), { seq: 1, state: 'fault', fault: 'DRY_RUN', flow_lpm: 0, motor_a: 1.1 }, PUMP, FARM))
    const order = await waitFor(async () => ((await api('work-orders')).workOrders as Array<{ id: string; alertId: string }>)[0], { message: 'the alert opened a work order', timeoutMs: 15_000 })

    const signIn = async (person: string) => {
      await page.locator('#signin summary').click()
      await page.fill('#signin-name', person)
      await page.fill('#signin-token', PASSWORD)
      await page.locator('#signin-form button[type="submit"]').click()
    }
    const item = page.locator(`#wo-list [data-wo-id="${order.id}"]`)
    // The farmer reads the order of their farm, with no form to act on it.
    await page.goto(`${base}/console/`)
    await signIn('somchai')
    await item.waitFor({ timeout: 10_000 })
    expect(await item.locator('form').count()).toBe(0)
    await page.locator('#signout').click()
    await page.waitForURL(`${base}/console/`)
    await page.locator('.conn.signedOut').waitFor()

    await signIn('somsak')
    await item.locator('form').waitFor({ timeout: 10_000 })
    expect(await item.locator('.wo-main').textContent()).toContain('ปั๊มทำงานแห้ง')
    await page.selectOption('#wo-farm', FARM)
    expect(await item.isVisible()).toBe(true)
    expect(await englishOnScreen(page)).toEqual([])

    await item.locator('textarea[name="findings"]').fill('ท่อดูดรั่วที่ข้อต่อ')
    await item.locator('input[name="part"]').fill('ข้อต่อ PVC 1 นิ้ว')
    await item.locator('input[name="qty"]').fill('2')
    await item.locator('input[name="cost"]').fill('150')
    await item.locator('[data-act="visit"]').click()
    await page.locator('#announce', { hasText: 'บันทึกการเข้าซ่อมแล้ว' }).waitFor()
    expect(await app.registry.workOrders.visits(order.id)).toMatchObject([{ who: 'somsak', findings: 'ท่อดูดรั่วที่ข้อต่อ', parts: [{ name: 'ข้อต่อ PVC 1 นิ้ว', qty: 2 }], costThb: 150 }])

    await item.locator('[data-act="close"]').click()
    const refusal = item.locator('.wo-refusal:not([hidden])')
    await refusal.waitFor()
    expect(await refusal.textContent()).toContain('ยังปิดไม่ได้: ข้อมูลยังแสดงว่ามีปัญหา')
    expect((await app.registry.workOrders.get(order.id))?.status).toBe('assigned')

    await publish(healthyPump(ts + 1_000, 800, { seq: 2 }, PUMP, FARM))
    // The reading reaches the engine through the broker and ingest (each reading its own seq): close once it has.
    await waitFor(async () => {
      await item.locator('[data-act="close"]').click()
      return (await app.registry.workOrders.get(order.id))?.status === 'closed'
    }, { message: 'the close accepted once the pump pumps', timeoutMs: 10_000, intervalMs: 500 })
    await item.waitFor({ state: 'detached' })
    expect((await api(`alerts/${order.alertId}`)).alert).toMatchObject({ status: 'resolved', resolved: { by: 'somsak' } })
    expect(errors).toEqual([])
  }, 60_000)
})
