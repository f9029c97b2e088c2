/**
 * Issue 14, administration without JSON: the console's admin API (console/admin.ts) on the
 * running system (broker, alerts, console), on SQLite and on PostgreSQL. Two cooperatives: A (a-01) and B (b-01);
 * lead-a leads A, farmer-a farms a-01, tech-b is B's technician, admin holds every farm.
 * A lead of A adds a farm in A, registers a device that logs in to the broker with the password
 * the answer carried (within a second), invites a farmer who signs in with the link, and sets a
 * rule override. Bad input gets field-level issues in Thai and English and writes nothing (the
 * audit log does not move); the lead is refused on B's farms and people and refused the admin
 * role; a farmer is refused everything.
 */
import { connectAsync } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Actor } from '../registry/index.js'
import { type TestApp, startTestApp } from './helpers/app.js'
import { DIALECTS, registryStores } from './helpers/registry.js'
import { waitFor } from './helpers/wait-for.js'

const TOKEN = 'installation-token-for-the-admin-test'
const SYSTEM: Actor = { who: 'test', how: 'system' }
const PASSWORD = 'a long enough password'
const PEOPLE: Record<string, { role: string; farmId?: string; cooperativeId?: string }> = {
  'lead-a': { role: 'lead', cooperativeId: 'coop-a' },
  'farmer-a': { role: 'farmer', farmId: 'a-01' },
  'tech-b': { role: 'technician', cooperativeId: 'coop-b' },
  admin: { role: 'admin' },
}
type Who = keyof typeof PEOPLE | 'token' | 'invited'

const stores = registryStores()
afterAll(() => stores.close())

let app: TestApp
let base: string
const tokens: Record<string, string> = {}

interface Answer {
  status: number
  json: Record<string, unknown> & { issues?: Array<{ field: string; th: string; en: string }> }
}
async function call(who: Who, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}/console/api/admin/${path}`, {
    method,
    headers: { authorization: `Bearer ${who === 'token' ? TOKEN : tokens[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, json: text.startsWith('{') ? (JSON.parse(text) as Answer['json']) : {} }
}
const auditCount = async () => (await app.registry.audit.list({ limit: 100_000 })).length
const fields = (a: Answer) => (a.json.issues ?? []).map((i) => i.field).sort()

describe.each(DIALECTS)('console administration on %s', (dialect) => {
  beforeAll(async () => {
    const at = await stores.fresh(dialect)
    app = await startTestApp(['broker', 'alerts', 'console'], { ...at.env, ALERTS_API_TOKEN: TOKEN, ALERTS_DIGEST_CRON: 'off', ALERTS_REMINDER_CRON: 'off' })
    base = `http://127.0.0.1:${app.httpPort}`
    const r = app.registry
    for (const c of ['coop-a', 'coop-b']) expect(await r.cooperatives.add({ id: c, nameTh: `สหกรณ์ ${c}` }, SYSTEM)).toMatchObject({ ok: true })
    expect(await r.farms.add({ id: 'a-01', cooperativeId: 'coop-a', nameTh: 'สวน เอ' }, SYSTEM)).toMatchObject({ ok: true })
    expect(await r.farms.add({ id: 'b-01', cooperativeId: 'coop-b', nameTh: 'สวน บี' }, SYSTEM)).toMatchObject({ ok: true })
    await app.accounts.addDevice({ farm: 'b-01', kind: 'pump', device: 'b-01-pump' })
    for (const [id, m] of Object.entries(PEOPLE)) {
      expect(await r.people.add({ id, name: `คุณ ${id}`, phone: '0812345678' }, SYSTEM)).toMatchObject({ ok: true })
      expect(await r.memberships.add({ personId: id, ...m }, SYSTEM)).toMatchObject({ ok: true })
      expect(await r.sessions.setPassword(id, PASSWORD, SYSTEM)).toMatchObject({ ok: true })
      const res = await fetch(`${base}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ person: id, password: PASSWORD }) })
      expect(res.status).toBe(200)
      tokens[id] = ((await res.json()) as { token: string }).token
    }
  }, 40_000)

  afterAll(async () => {
    await app?.stop()
  })

  it('needs a sign-in', async () => {
    expect((await fetch(`${base}/console/api/admin/overview`)).status).toBe(401)
    expect((await fetch(`${base}/console/api/admin/farms`, { method: 'POST', body: '{}' })).status).toBe(401)
  })

  it('a lead of A adds a farm in A, and registers a device that logs in to the broker with the password shown once, within a second', async () => {
    const farm = await call('lead-a', 'POST', 'farms', {
      id: 'a-02',
      cooperativeId: 'coop-a',
      nameTh: 'สวนลุงสมชาย',
      nameEn: 'Uncle Somchai',
      latDeg: 9.96,
      lonDeg: 98.64,
      quietHours: { start: '20:00', end: '05:30' },
      equipment: { pvArrayWp: 2400, pumpModel: 'LORENTZ PS2-1800', bankDepthCm: 250, levelSensorCm: 280 },
    })
    expect(farm.status).toBe(201)
    expect(farm.json.farm).toMatchObject({ id: 'a-02', cooperativeId: 'coop-a', quietHours: { start: '20:00', end: '05:30' }, equipment: { pvArrayWp: 2400 } })
    const edited = await call('lead-a', 'PATCH', 'farms/a-02', { training: true, equipment: { tankCapacityL: 2000 } })
    expect(edited.status).toBe(200)
    expect(edited.json.farm).toMatchObject({ training: true, equipment: { pvArrayWp: 2400, tankCapacityL: 2000 } })

    const added = await call('lead-a', 'POST', 'devices', { id: 'a-02-pump', farmId: 'a-02', kind: 'pump', name: 'ปั๊มบ่อหลัก' })
    expect(added.status).toBe(201)
    const { username, password } = added.json.mqtt as { username: string; password: string }
    expect(username).toBe('a-02-pump')
    expect(password.length).toBeGreaterThanOrEqual(20)
    const answeredAt = Date.now()
    let connectedAt = 0
    for (let i = 0; i < 20 && connectedAt === 0; i++) {
      try {
        const client = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { username, password, clientId: username, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 1_000 })
        connectedAt = Date.now()
        await client.endAsync()
      } catch {
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    console.log(`device registered in the console to broker login: ${connectedAt - answeredAt} ms`)
    expect(connectedAt).toBeGreaterThan(0)
    expect(connectedAt - answeredAt).toBeLessThan(1_000)
    // Only its hash is kept, and no list shows either.
    const stored = await app.registry.devices.get('a-02-pump')
    expect(stored?.credentialsHash).toMatch(/^hmac-sha256\$/)
    expect(JSON.stringify(stored)).not.toContain(password)
    const overview = await call('lead-a', 'GET', 'overview')
    expect(JSON.stringify(overview.json)).not.toContain(password)
    expect(JSON.stringify(overview.json)).not.toMatch(/scrypt|hmac-sha256/)
    expect((overview.json.devices as Array<{ id: string; provisioned: boolean }>).find((d) => d.id === 'a-02-pump')).toMatchObject({ provisioned: true })
    // The audit rows name the lead, through the console.
    const rows = await app.registry.audit.list({ target: 'device:a-02-pump' })
    expect(rows.map((r) => [r.who, r.how, r.action])).toEqual([['lead-a', 'console', 'device.add']])
    expect(JSON.stringify(rows)).not.toContain(password)
  })

  it('the lead invites a farmer, who signs in once with the link; a role taken away counts at the next request', async () => {
    const invited = await call('lead-a', 'POST', 'people', { id: 'somchai', name: 'สมชาย ใจดี', phone: '0898765432', locale: 'th', quietHours: { start: '21:00', end: '06:00' }, role: 'farmer', farmId: 'a-02' })
    expect(invited.status).toBe(201)
    const link = invited.json.link as { path: string; url: string; expiresAt: string }
    expect(link.path).toMatch(/^\/console\/#signin=/)
    const secret = link.path.split('#signin=')[1] ?? ''
    const redeem = () => fetch(`${base}/auth/link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ link: secret }) })
    const first = await redeem()
    expect(first.status).toBe(200)
    tokens.invited = ((await first.json()) as { token: string }).token
    expect((await redeem()).status).toBe(401)
    const me = async () => (await (await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${tokens.invited}` } })).json()) as { id: string; farms: { read: string[] } }
    // The sign-in layer's farm index follows the registry within its 250 ms poll (a-02 is new).
    await waitFor(async () => (await me()).farms.read.includes('a-02'), { message: 'a-02 readable by the invited farmer' })
    expect(await me()).toMatchObject({ id: 'somchai', farms: { read: ['a-02'] } })

    const edited = await call('lead-a', 'PATCH', 'people/somchai', { lineUserId: `U${'a'.repeat(32)}`, locale: 'en', quietHours: null })
    expect(edited.status).toBe(200)
    expect(edited.json.person).toMatchObject({ lineUserId: `U${'a'.repeat(32)}`, locale: 'en', quietHours: null, phone: '0898765432' })
    expect((await call('lead-a', 'POST', 'people/somchai/roles', { role: 'technician', farmId: 'a-01' })).status).toBe(201)
    expect((await call('lead-a', 'DELETE', 'people/somchai/roles', { role: 'farmer', farmId: 'a-02' })).status).toBe(200)
    expect((await me()).farms.read).toEqual(['a-01'])
    const again = await call('lead-a', 'POST', 'people/somchai/link')
    expect(again.status).toBe(201)
    const rows = (await app.registry.audit.list({ target: 'person:somchai' })).filter((r) => r.action !== 'session.start')
    expect(rows.map((r) => r.action)).toEqual(['person.add', 'membership.add', 'session.link', 'person.update', 'membership.add', 'membership.remove', 'session.link'])
    expect(rows.every((r) => r.who === 'lead-a' && r.how === 'console')).toBe(true)
  })

  it('a lead renames their own cooperative', async () => {
    const r = await call('lead-a', 'PATCH', 'cooperatives/coop-a', { nameEn: 'Cooperative A' })
    expect(r.status).toBe(200)
    expect(r.json.cooperative).toMatchObject({ id: 'coop-a', nameEn: 'Cooperative A' })
    expect(fields(await call('lead-a', 'PATCH', 'cooperatives/coop-a', { id: 'coop-z' }))).toEqual(['id'])
  })

  it('sets and removes a rule override on a farm; an unknown rule is a field issue', async () => {
    const set = await call('lead-a', 'PUT', 'farms/a-02/overrides', { rule: 'dry_run', enabled: false })
    expect(set.status).toBe(200)
    expect(await app.registry.overrides.list({ farmId: 'a-02' })).toMatchObject([{ rule: 'dry_run', enabled: false }])
    const bad = await call('lead-a', 'PUT', 'farms/a-02/overrides', { rule: 'no_such_rule', enabled: false })
    expect(bad.status).toBe(400)
    expect(fields(bad)).toEqual(['rule'])
    expect((await call('lead-a', 'DELETE', 'farms/a-02/overrides', { rule: 'dry_run' })).status).toBe(200)
    expect(await app.registry.overrides.list({ farmId: 'a-02' })).toEqual([])
  })

  it('bad input gets field-level issues in Thai and English, and nothing is written', async () => {
    const before = await auditCount()
    const people = (await app.registry.people.list()).length
    const badPhone = await call('lead-a', 'POST', 'people', { id: 'nok', name: 'นก', phone: '12345', role: 'farmer', farmId: 'a-01' })
    expect(badPhone.status).toBe(400)
    expect(badPhone.json.issues).toEqual([{ field: 'phone', th: expect.stringMatching(/เบอร์มือถือ/), en: expect.stringMatching(/Thai mobile/) }])
    // The person is valid, the role is not: the person is not kept either.
    const badRole = await call('lead-a', 'POST', 'people', { id: 'nok', name: 'นก', role: 'boss', farmId: 'a-01' })
    expect(badRole.status).toBe(400)
    expect(fields(badRole)).toEqual(['role'])
    const unknown = await call('lead-a', 'POST', 'farms', { id: 'a-03', cooperativeId: 'coop-a', colour: 'green' })
    expect(unknown.status).toBe(400)
    expect(unknown.json.issues).toEqual([{ field: 'colour', th: 'ไม่รู้จักช่องนี้', en: 'unknown field' }])
    const duplicate = await call('lead-a', 'POST', 'farms', { id: 'a-01', cooperativeId: 'coop-a' })
    expect(duplicate.status).toBe(409)
    expect(duplicate.json.issues).toEqual([{ field: 'id', th: 'มีสวน "a-01" อยู่แล้ว', en: 'farm "a-01" already exists' }])
    const duplicateDevice = await call('lead-a', 'POST', 'devices', { id: 'a-02-pump', farmId: 'a-02', kind: 'pump' })
    expect(duplicateDevice.status).toBe(409)
    expect(fields(duplicateDevice)).toEqual(['id'])
    const range = await call('lead-a', 'PATCH', 'farms/a-02', { latDeg: 123, quietHours: { start: '25:00' }, equipment: { soilFieldCapacityPct: 30, soilWiltingPointPct: 40 } })
    expect(range.status).toBe(400)
    expect(fields(range)).toEqual(['equipment.soilWiltingPointPct', 'latDeg', 'quietHours.start'])
    for (const i of range.json.issues ?? []) expect(i.th).not.toEqual(i.en)
    const hash = await call('lead-a', 'POST', 'devices', { id: 'a-02-soil', farmId: 'a-02', kind: 'soil', credentialsHash: 'scrypt$1$1$1$a$b' })
    expect(fields(hash)).toEqual(['credentialsHash'])
    const noKind = await call('lead-a', 'POST', 'devices', { id: 'a-02-soil', farmId: 'a-02' })
    expect(fields(noKind)).toEqual(['kind'])
    const notJson = await fetch(`${base}/console/api/admin/farms`, { method: 'POST', headers: { authorization: `Bearer ${tokens['lead-a']}` }, body: '{"id":' })
    expect(notJson.status).toBe(400)
    expect(await auditCount()).toBe(before)
    expect((await app.registry.people.list()).length).toBe(people)
    expect(await app.registry.devices.get('a-02-soil')).toBeUndefined()
  })

  it("refuses the lead of A on B's farms, devices and people, and refuses them the admin role", async () => {
    const before = await auditCount()
    const expectStatus = async (status: number, method: string, path: string, body?: unknown) => expect((await call('lead-a', method, path, body)).status, `${method} ${path}`).toBe(status)
    await expectStatus(404, 'PATCH', 'farms/b-01', { nameTh: 'ของฉัน' })
    await expectStatus(404, 'PUT', 'farms/b-01/overrides', { rule: 'dry_run', enabled: false })
    await expectStatus(404, 'POST', 'devices', { id: 'b-01-soil', farmId: 'b-01', kind: 'soil' })
    await expectStatus(404, 'DELETE', 'devices/b-01-pump')
    await expectStatus(403, 'POST', 'farms', { id: 'b-02', cooperativeId: 'coop-b' })
    await expectStatus(403, 'PATCH', 'farms/a-01', { cooperativeId: 'coop-b' })
    await expectStatus(403, 'POST', 'cooperatives', { id: 'coop-c' })
    await expectStatus(403, 'PATCH', 'cooperatives/coop-b', { nameTh: 'ของฉัน' })
    await expectStatus(404, 'GET', 'farms/%E0%A4')
    await expectStatus(404, 'POST', 'people', { id: 'spy', name: 'สปาย', role: 'farmer', farmId: 'b-01' })
    await expectStatus(403, 'POST', 'people', { id: 'spy', name: 'สปาย', role: 'lead', cooperativeId: 'coop-b' })
    await expectStatus(403, 'POST', 'people', { id: 'spy', name: 'สปาย', role: 'admin' })
    await expectStatus(403, 'POST', 'people', { id: 'spy', name: 'สปาย', role: 'admin', cooperativeId: 'coop-a' })
    await expectStatus(403, 'POST', 'people', { id: 'spy', name: 'สปาย', role: 'lead' })
    await expectStatus(403, 'POST', 'people/lead-a/roles', { role: 'admin' })
    await expectStatus(403, 'POST', 'people/lead-a/roles', { role: 'admin', farmId: 'a-01' })
    await expectStatus(403, 'POST', 'people/lead-a/roles', { role: 'lead', cooperativeId: 'coop-b' })
    await expectStatus(403, 'DELETE', 'people/tech-b/roles', { role: 'technician', cooperativeId: 'coop-b' })
    // Not even a role on A's own farm for B's technician: A's lead would then reach them.
    await expectStatus(403, 'POST', 'people/tech-b/roles', { role: 'farmer', farmId: 'a-01' })
    await expectStatus(403, 'POST', 'people/admin/roles', { role: 'farmer', farmId: 'a-01' })
    await expectStatus(403, 'DELETE', 'people/admin/roles', { role: 'admin' })
    // Redirecting B's alerts, or signing in as B's technician or the admin.
    await expectStatus(403, 'PATCH', 'people/tech-b', { phone: '0899999999' })
    await expectStatus(403, 'POST', 'people/tech-b/link')
    await expectStatus(403, 'POST', 'people/admin/link')
    await expectStatus(403, 'PATCH', 'people/admin', { lineUserId: `U${'b'.repeat(32)}` })
    expect(await auditCount()).toBe(before)
    const overview = (await call('lead-a', 'GET', 'overview')).json as { farms: Array<{ id: string }>; devices: Array<{ id: string }>; people: Array<{ id: string; editable: boolean }>; cooperatives: Array<{ id: string }> }
    expect(overview.farms.map((f) => f.id)).toEqual(['a-01', 'a-02'])
    expect(overview.cooperatives.map((c) => c.id)).toEqual(['coop-a'])
    expect(overview.devices.map((d) => d.id)).toEqual(['a-02-pump'])
    expect(overview.people.map((p) => [p.id, p.editable])).toEqual([['farmer-a', true], ['lead-a', true], ['somchai', true]])
  })

  it('refuses a farmer everything', async () => {
    const before = await auditCount()
    const expectStatus = async (status: number, method: string, path: string, body?: unknown) => expect((await call('farmer-a', method, path, body)).status, `${method} ${path}`).toBe(status)
    await expectStatus(403, 'PATCH', 'farms/a-01', { nameTh: 'ของฉัน' })
    await expectStatus(403, 'PUT', 'farms/a-01/overrides', { rule: 'dry_run', enabled: false })
    await expectStatus(403, 'POST', 'devices', { id: 'a-01-soil', farmId: 'a-01', kind: 'soil' })
    await expectStatus(404, 'DELETE', 'devices/a-02-pump')
    await expectStatus(403, 'POST', 'farms', { id: 'a-09' })
    await expectStatus(403, 'POST', 'farms', { id: 'a-09', cooperativeId: 'coop-a' })
    await expectStatus(403, 'POST', 'people', { id: 'friend', name: 'เพื่อน', role: 'farmer', farmId: 'a-01' })
    await expectStatus(403, 'PATCH', 'people/farmer-a', { phone: '0899999999' })
    await expectStatus(403, 'POST', 'people/farmer-a/roles', { role: 'lead', farmId: 'a-01' })
    await expectStatus(403, 'POST', 'people/farmer-a/link')
    await expectStatus(403, 'POST', 'cooperatives', { id: 'coop-f' })
    expect(await auditCount()).toBe(before)
    expect((await call('farmer-a', 'GET', 'overview')).json).toMatchObject({ farms: [], devices: [], people: [], cooperatives: [], overrides: [] })
  })

  it('an admin creates a cooperative, gives the admin role and removes a device; the removed device is refused by the broker', async () => {
    expect((await call('admin', 'POST', 'cooperatives', { id: 'coop-c', nameTh: 'สหกรณ์ ซี' })).status).toBe(201)
    expect((await call('admin', 'POST', 'people/lead-a/roles', { role: 'admin' })).status).toBe(201)
    expect((await call('admin', 'DELETE', 'people/lead-a/roles', { role: 'admin' })).status).toBe(200)
    const b = await call('admin', 'POST', 'devices', { id: 'b-01-soil', farmId: 'b-01', kind: 'soil' })
    expect(b.status).toBe(201)
    const { username, password } = b.json.mqtt as { username: string; password: string }
    expect((await call('admin', 'DELETE', 'devices/b-01-soil')).status).toBe(200)
    await expect(connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { username, password, clientId: username, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 1_000 })).rejects.toThrow()
    expect((await call('token', 'GET', 'overview')).json).toMatchObject({ me: { kind: 'service', admin: true } })
  })
})
