/**
 * Issue 14's role matrix, through the running system on SQLite and on a real PostgreSQL: people
 * of cooperative A sign in with their own passwords and act through the alerts API, the console
 * and the broker; what they may not do is refused, what they may not read is not shown. Two
 * cooperatives (A: a-01 and the training farm t-01; B: b-01), seven people:
 *   farmer-a (farmer of a-01), tech-a / lead-a / trainer-a (of cooperative A), trainee-t (of
 *   t-01), tech-b (of cooperative B), admin (every farm).
 * "Allowed" means the role check passed: 200/201/202, or 409 (the action conflicts with the
 * alert's state, e.g. acknowledged twice) or 409 "the simulator is not running"; refused is 403,
 * and 404 where the caller may not even read the farm. Then: every action is in the audit log
 * with the person's id; a role taken away and a person removed count at the next request, and
 * the removed person's broker connection is closed within a second.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connectAsync, type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pump } from '../alerts/testing/readings.js'
import type { Actor, Registry } from '../registry/index.js'
import { type TestApp, runCli, startTestApp } from './helpers/app.js'
import { DIALECTS, registryStores } from './helpers/registry.js'
import { waitFor } from './helpers/wait-for.js'

const stores = registryStores()
afterAll(() => stores.close())

const TOKEN = 'installation-token-for-the-role-matrix'
const SYSTEM: Actor = { who: 'test', how: 'system' }
const PASSWORD = 'a long enough password'
const FARMS = ['a-01', 't-01', 'b-01'] as const
type FarmId = (typeof FARMS)[number]

const PEOPLE: Record<string, Array<{ role: string; farmId?: string; cooperativeId?: string }>> = {
  'farmer-a': [{ role: 'farmer', farmId: 'a-01' }],
  'tech-a': [{ role: 'technician', cooperativeId: 'coop-a' }],
  'lead-a': [{ role: 'lead', cooperativeId: 'coop-a' }],
  'trainer-a': [{ role: 'trainer', cooperativeId: 'coop-a' }],
  'trainee-t': [{ role: 'trainee', farmId: 't-01' }],
  'tech-b': [{ role: 'technician', cooperativeId: 'coop-b' }],
  admin: [{ role: 'admin' }],
}
type Who = keyof typeof PEOPLE | 'token'

async function seed(r: Registry): Promise<void> {
  for (const c of ['coop-a', 'coop-b']) expect(await r.cooperatives.add({ id: c, nameTh: `สหกรณ์ ${c}` }, SYSTEM)).toMatchObject({ ok: true })
  expect(await r.farms.add({ id: 'a-01', cooperativeId: 'coop-a', nameTh: 'สวน เอ' }, SYSTEM)).toMatchObject({ ok: true })
  expect(await r.farms.add({ id: 't-01', cooperativeId: 'coop-a', nameTh: 'สวนฝึก', training: true }, SYSTEM)).toMatchObject({ ok: true })
  expect(await r.farms.add({ id: 'b-01', cooperativeId: 'coop-b', nameTh: 'สวน บี' }, SYSTEM)).toMatchObject({ ok: true })
  for (const [id, roles] of Object.entries(PEOPLE)) {
    expect(await r.people.add({ id, name: `คุณ ${id}`, phone: '0812345678' }, SYSTEM)).toMatchObject({ ok: true })
    for (const m of roles) expect(await r.memberships.add({ personId: id, ...m }, SYSTEM)).toMatchObject({ ok: true })
    expect(await r.sessions.setPassword(id, PASSWORD, SYSTEM)).toMatchObject({ ok: true })
  }
}

describe.each(DIALECTS)('role matrix on %s', (dialect) => {
  let app: TestApp
  let base: string
  const tokens: Record<string, string> = {}
  const alertOf: Partial<Record<FarmId, string>> = {}
  const devices: MqttClient[] = []

  const call = async (who: Who, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${who === 'token' ? TOKEN : tokens[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, json: (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, unknown>, text }
  }
  const allowed = (status: number) => [200, 201, 202, 204, 409].includes(status)

  beforeAll(async () => {
    const at = await stores.fresh(dialect)
    app = await startTestApp(['broker', 'ingest', 'alerts', 'console'], { ...at.env, ALERTS_API_TOKEN: TOKEN, ALERTS_DIGEST_CRON: 'off', ALERTS_REMINDER_CRON: 'off' })
    base = `http://127.0.0.1:${app.httpPort}`
    await seed(app.registry)
    for (const id of Object.keys(PEOPLE)) {
      const res = await fetch(`${base}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ person: id, password: PASSWORD }) })
      expect(res.status).toBe(200)
      tokens[id] = ((await res.json()) as { token: string }).token
    }
    // One pump per farm, each raising an overcurrent alert.
    for (const farm of FARMS) {
      const device = `${farm}-pump`
      const { password } = await app.accounts.addDevice({ farm, kind: 'pump', device })
      const client = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { username: device, password, clientId: device, protocolVersion: 4 })
      devices.push(client)
      const reading = pump(Date.now(), { state: 'fault', fault: 'OVERCURRENT', motor_a: 19 }, device, farm)
      await client.publishAsync(`farm/${farm}/pump/${device}/telemetry`, JSON.stringify(reading.payload), { qos: 1 })
    }
    await waitFor(async () => {
      const list = (await call('token', 'GET', '/alerts/api/alerts')).json.alerts as Array<{ id: string; farm: FarmId }> | undefined
      for (const a of list ?? []) alertOf[a.farm] = a.id
      return FARMS.every((f) => alertOf[f])
    }, { message: 'an alert on each farm', timeoutMs: 20_000 })
  }, 60_000)

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.endAsync()))
    await app?.stop()
  })

  describe('sign-in', () => {
    it('refuses a wrong password, an unknown person, and a made-up token', async () => {
      const post = (body: unknown) => fetch(`${base}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect((await post({ person: 'tech-a', password: 'not the password' })).status).toBe(401)
      expect((await post({ person: 'nobody', password: PASSWORD })).status).toBe(401)
      expect((await post({ person: 'tech-a' })).status).toBe(400)
      expect((await fetch(`${base}/alerts/api/alerts`, { headers: { authorization: `Bearer ${'x'.repeat(43)}` } })).status).toBe(401)
      expect((await fetch(`${base}/alerts/api/alerts`)).status).toBe(401)
    })

    it('locks password sign-in of a person after ten wrong passwords, for everyone who tries', async () => {
      const post = (password: string) =>
        fetch(`${base}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ person: 'trainee-t', password }) })
      for (let i = 0; i < 10; i++) expect((await post(`guess number ${i}`)).status).toBe(401)
      expect((await post(PASSWORD)).status).toBe(429)
      // The session held before stays.
      expect((await call('trainee-t', 'GET', '/auth/me')).status).toBe(200)
    })

    it('a sign-in link from `suanyang person sign-in-link` works once', async () => {
      const out = await runCli(['person', 'sign-in-link', '--id', 'farmer-a', '--url', `${base}/console/`, '--json'], app.env)
      expect(out.code).toBe(0)
      const link = (JSON.parse(out.stdout) as { link: string }).link
      const secret = new URL(link).hash.replace('#signin=', '')
      const redeem = () => fetch(`${base}/auth/link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ link: secret }) })
      const first = await redeem()
      expect(first.status).toBe(200)
      expect(await first.json()).toMatchObject({ person: { id: 'farmer-a' } })
      expect((await redeem()).status).toBe(401)
    })

    it('`suanyang person password --password-file` sets a password that signs in', async () => {
      const file = join(app.dataDir, 'pw.txt')
      await writeFile(file, 'another long password\n')
      expect((await runCli(['person', 'password', '--id', 'tech-b', '--password-file', file], app.env)).code).toBe(0)
      const res = await fetch(`${base}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ person: 'tech-b', password: 'another long password' }) })
      expect(res.status).toBe(200)
      const short = await runCli(['person', 'password', '--id', 'tech-b', '--generate', '--password-file', file], app.env)
      expect(short.code).toBe(2)
    })
  })

  describe('alerts API', () => {
    const sees: Array<[Who, FarmId[]]> = [
      ['farmer-a', ['a-01']],
      ['tech-a', ['a-01', 't-01']],
      ['lead-a', ['a-01', 't-01']],
      ['trainer-a', ['a-01', 't-01']],
      ['trainee-t', ['t-01']],
      ['tech-b', ['b-01']],
      ['admin', ['a-01', 'b-01', 't-01']],
      ['token', ['a-01', 'b-01', 't-01']],
    ]
    it.each(sees)('%s lists the alerts of %j only', async (who, farms) => {
      const list = (await call(who, 'GET', '/alerts/api/alerts')).json.alerts as Array<{ farm: string }>
      expect([...new Set(list.map((a) => a.farm))].sort()).toEqual(farms)
    })

    const reads: Array<[Who, FarmId, number]> = [
      ['tech-a', 'b-01', 404],
      ['tech-b', 'b-01', 200],
      ['farmer-a', 't-01', 404],
      ['trainee-t', 'a-01', 404],
    ]
    it.each(reads)('%s reading the alert of %s: %i', async (who, farm, status) => {
      expect((await call(who, 'GET', `/alerts/api/alerts/${alertOf[farm]}`)).status).toBe(status)
    })

    const acts: Array<[Who, 'ack' | 'command' | 'maintain', FarmId, 'allowed' | 403 | 404]> = [
      ['farmer-a', 'ack', 'a-01', 'allowed'],
      ['farmer-a', 'ack', 'b-01', 404],
      ['tech-b', 'ack', 'a-01', 404],
      ['trainee-t', 'ack', 'a-01', 404],
      ['trainee-t', 'ack', 't-01', 'allowed'],
      ['trainer-a', 'ack', 'a-01', 'allowed'],
      ['tech-b', 'ack', 'b-01', 'allowed'],
      ['tech-a', 'ack', 't-01', 'allowed'],
      ['farmer-a', 'command', 'a-01', 403],
      ['tech-a', 'command', 'a-01', 'allowed'],
      ['tech-a', 'command', 'b-01', 403],
      ['tech-b', 'command', 'a-01', 403],
      ['trainer-a', 'command', 'a-01', 403],
      ['trainer-a', 'command', 't-01', 'allowed'],
      ['lead-a', 'command', 'a-01', 'allowed'],
      ['admin', 'command', 'b-01', 'allowed'],
      ['trainee-t', 'command', 't-01', 403],
      ['farmer-a', 'maintain', 'a-01', 403],
      ['tech-a', 'maintain', 'a-01', 'allowed'],
      ['tech-b', 'maintain', 'a-01', 403],
      ['trainer-a', 'maintain', 't-01', 403],
    ]
    it.each(acts)('%s: %s on %s -> %s', async (who, action, farm, expected) => {
      const device = `${farm}-pump`
      const r =
        action === 'ack'
          ? await call(who, 'POST', `/alerts/api/alerts/${alertOf[farm]}/ack`, {})
          : action === 'command'
            ? await call(who, 'POST', '/alerts/api/commands', { farm, device, cmd: 'stop', wait: false })
            : await call(who, 'POST', '/alerts/api/maintenance', { farm, device, type: 'panel_cleaning', note: 'ล้างแผง' })
      if (expected === 'allowed') expect(allowed(r.status), `${r.status} ${r.text}`).toBe(true)
      else expect(r.status, r.text).toBe(expected)
    })

    const resolves: Array<[Who, FarmId, 'allowed' | 403 | 404]> = [
      ['farmer-a', 'a-01', 403],
      ['trainee-t', 't-01', 403],
      ['trainer-a', 'a-01', 403],
      ['tech-b', 'a-01', 404],
      ['trainer-a', 't-01', 'allowed'],
      ['tech-a', 'a-01', 'allowed'],
    ]
    it.each(resolves)('%s resolving the alert of %s -> %s', async (who, farm, expected) => {
      const r = await call(who, 'POST', `/alerts/api/alerts/${alertOf[farm]}/resolve`, { note: 'ตรวจแล้ว' })
      if (expected === 'allowed') expect(allowed(r.status), `${r.status} ${r.text}`).toBe(true)
      else expect(r.status, r.text).toBe(expected)
    })

    it('a farmer may get their own LINE link code, not someone else\'s; their lead may', async () => {
      expect((await call('farmer-a', 'POST', '/alerts/api/contacts/farmer-a/link-code')).status).toBe(201)
      expect((await call('tech-b', 'POST', '/alerts/api/contacts/farmer-a/link-code')).status).toBe(403)
      expect((await call('lead-a', 'POST', '/alerts/api/contacts/farmer-a/link-code')).status).toBe(201)
      // One farm in common is not enough: a code links whoever types it to all of B's technician's alerts.
      const shared = { personId: 'tech-b', role: 'technician', farmId: 'a-01' }
      expect(await app.registry.memberships.add(shared, SYSTEM)).toMatchObject({ ok: true })
      try {
        // The alert directory follows the registry within its poll: once lead-a manages one of tech-b's farms.
        await waitFor(async () => ((await call('tech-b', 'GET', '/alerts/api/alerts?status=all')).json.alerts as Array<{ farm: string }>).some((a) => a.farm === 'a-01'), { message: 'tech-b on a-01' })
        await new Promise((r) => setTimeout(r, 600))
        expect((await call('lead-a', 'POST', '/alerts/api/contacts/tech-b/link-code')).status).toBe(403)
      } finally {
        expect(await app.registry.memberships.remove(shared, SYSTEM)).toMatchObject({ ok: true })
      }
    })

    it('the installation token must say who acts; a person is who they signed in as, whatever `by` says', async () => {
      expect((await call('token', 'POST', '/alerts/api/commands', { farm: 'a-01', device: 'a-01-pump', cmd: 'start', wait: false })).status).toBe(400)
      const r = await call('tech-a', 'POST', '/alerts/api/commands', { farm: 'a-01', device: 'a-01-pump', cmd: 'start', wait: false, by: 'admin' })
      expect(r.json.command).toMatchObject({ by: 'tech-a' })
    })

    it('every action is in the audit log with the person\'s id', async () => {
      const entries = await app.registry.audit.list({ limit: 10_000 })
      const acted = (who: string, action: string) => entries.some((e) => e.who === who && e.how === 'api' && e.action === action)
      expect(acted('farmer-a', 'alert.ack')).toBe(true)
      expect(acted('trainee-t', 'alert.ack')).toBe(true)
      expect(acted('tech-a', 'command.send')).toBe(true)
      expect(acted('tech-a', 'maintenance.add')).toBe(true)
      expect(acted('trainer-a', 'alert.resolve')).toBe(true)
      expect(acted('lead-a', 'line.link-code')).toBe(true)
      // Refused actions change nothing and are not recorded as done.
      expect(acted('farmer-a', 'command.send')).toBe(false)
      expect(entries.find((e) => e.action === 'command.send' && e.who === 'tech-a')?.detail).toMatchObject({ farm: 'a-01', cmd: 'stop' })
    })
  })

  describe('console', () => {
    it('live: a farmer gets a viewer of their farm and its devices only; a technician of B, B\'s', async () => {
      const farmer = (await call('farmer-a', 'GET', '/console/api/live')).json as { mqtt: { username: string; farms: string[] }; devices: Array<{ device: string }> }
      expect(farmer.mqtt.farms).toEqual(['a-01'])
      expect(farmer.devices.map((d) => d.device)).toEqual(['a-01-pump'])
      const techB = (await call('tech-b', 'GET', '/console/api/live')).json as { mqtt: { farms: string[] }; devices: Array<{ device: string }> }
      expect(techB.devices.map((d) => d.device)).toEqual(['b-01-pump'])
      // Each session its own account, never the shared every-farm viewer.
      expect(farmer.mqtt.username).toMatch(/^web-[0-9a-f]{16}$/)
    })

    it('history shows only the readings of farms the caller may read', async () => {
      await waitFor(async () => ((await call('token', 'GET', '/console/api/history')).json.devices as unknown[]).length === 3, { message: 'three devices in the console history' })
      const mine = (await call('farmer-a', 'GET', '/console/api/history')).json.devices as Array<{ farm: string }>
      expect(mine.map((d) => d.farm)).toEqual(['a-01'])
    })

    const trains: Array<[Who, FarmId, 'allowed' | 403]> = [
      ['trainer-a', 't-01', 'allowed'],
      ['trainer-a', 'a-01', 403],
      ['tech-a', 't-01', 403],
      ['trainee-t', 't-01', 403],
      ['admin', 'a-01', 403],
      ['admin', 't-01', 'allowed'],
      ['token', 'a-01', 403],
      ['token', 't-01', 'allowed'],
    ]
    it.each(trains)('%s injecting a fault on %s -> %s', async (who, farm, expected) => {
      const r = await call(who, 'POST', '/console/api/sim', { action: 'inject', device: `${farm}-pump`, fault: 'dry_run' })
      // No simulator runs here: an allowed call gets as far as "not running".
      if (expected === 'allowed') expect(r.status, r.text).toBe(409)
      else expect(r.status, r.text).toBe(403)
    })
  })

  describe('broker', () => {
    let viewer: MqttClient
    let creds: { username: string; password: string }
    const got: string[] = []
    beforeAll(async () => {
      const live = (await call('farmer-a', 'GET', '/console/api/live')).json as { mqtt: { username: string; password: string } }
      creds = { username: live.mqtt.username, password: live.mqtt.password }
      viewer = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { ...creds, clientId: `${creds.username}_t`, protocolVersion: 4, reconnectPeriod: 0 })
      viewer.on('message', (topic) => got.push(topic))
    })
    afterAll(() => viewer?.endAsync(true))

    it('the farmer\'s viewer may subscribe to their farm, not to another farm or every farm', async () => {
      // mqtt.js rejects a SUBACK with a refusal in it: one filter per SUBSCRIBE, 128 when refused.
      const qos = (filter: string) => viewer.subscribeAsync(filter, { qos: 0 }).then((g) => g[0]?.qos, () => 128)
      expect(await qos('farm/b-01/+/+/telemetry')).toBe(128)
      expect(await qos('farm/+/+/+/telemetry')).toBe(128)
      expect(await qos('farm/a-01/+/+/telemetry')).toBe(0)
    })

    it('it receives its farm\'s readings, not B\'s, and may not send commands', async () => {
      for (const [i, farm] of (['b-01', 'a-01'] as const).entries()) {
        const client = devices[FARMS.indexOf(farm)]
        await client?.publishAsync(`farm/${farm}/pump/${farm}-pump/telemetry`, JSON.stringify(pump(Date.now(), { seq: 10 + i }, `${farm}-pump`, farm).payload), { qos: 1 })
      }
      await waitFor(() => got.includes('farm/a-01/pump/a-01-pump/telemetry'), { message: 'the a-01 reading', timeoutMs: 5_000 })
      expect(got.filter((t) => t.includes('b-01'))).toEqual([])
      const seen: string[] = []
      devices[0]?.on('message', (t) => seen.push(t))
      await devices[0]?.subscribeAsync('farm/a-01/pump/a-01-pump/cmd', { qos: 1 })
      // On its own connection: a refused publish may cost the client its connection.
      const sender = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { ...creds, clientId: `${creds.username}_p`, protocolVersion: 4, reconnectPeriod: 0 })
      sender.publish('farm/a-01/pump/a-01-pump/cmd', JSON.stringify({ id: 'x1', cmd: 'stop', ts: Date.now() }), { qos: 0 })
      await new Promise((r) => setTimeout(r, 300))
      sender.end(true)
      expect(seen).toEqual([])
    })

    it('a lead\'s own operator login (`suanyang person mqtt --operator`) commands A\'s pumps, not B\'s; taking the role away closes it within a second', async () => {
      const made = await runCli(['person', 'mqtt', '--id', 'lead-a', '--operator', '--json'], app.env)
      expect(made.code, made.stderr).toBe(0)
      const op = JSON.parse(made.stdout) as { username: string; password: string; farms: string[] }
      expect(op.farms).toEqual(['a-01', 't-01'])
      const client = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { username: op.username, password: op.password, clientId: op.username, protocolVersion: 4, reconnectPeriod: 0 })
      const heard: string[] = []
      for (const farm of ['a-01', 'b-01'] as const) {
        const d = devices[FARMS.indexOf(farm)]
        d?.on('message', (t) => heard.push(t))
        await d?.subscribeAsync(`farm/${farm}/pump/${farm}-pump/cmd`, { qos: 1 })
      }
      const cmd = JSON.stringify({ id: 'op-1', cmd: 'stop', ts: Date.now() })
      await client.publishAsync('farm/a-01/pump/a-01-pump/cmd', cmd, { qos: 1 })
      await waitFor(() => heard.includes('farm/a-01/pump/a-01-pump/cmd'), { message: 'the operator\'s command on a-01', timeoutMs: 3_000 })
      // On its own connection: a refused publish may cost the client its connection.
      const stray = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { username: op.username, password: op.password, clientId: `${op.username}_b`, protocolVersion: 4, reconnectPeriod: 0 })
      stray.publish('farm/b-01/pump/b-01-pump/cmd', cmd, { qos: 0 })
      await new Promise((r) => setTimeout(r, 300))
      stray.end(true)
      expect(heard.filter((t) => t.includes('b-01'))).toEqual([])
      let closedAt = 0
      client.once('close', () => (closedAt = Date.now()))
      const revokedAt = Date.now()
      expect(await app.registry.memberships.remove({ personId: 'lead-a', role: 'lead', cooperativeId: 'coop-a' }, SYSTEM)).toMatchObject({ ok: true })
      await waitFor(() => closedAt > 0, { message: 'the lead\'s operator login closed', timeoutMs: 3_000 })
      expect(closedAt - revokedAt).toBeLessThan(1_000)
      expect((await app.registry.sessions.accounts()).find((a) => a.username === op.username)?.farms).toEqual([])
    })

    it('a role taken away counts at the next call; the live account follows and its connection is closed within a second', async () => {
      const live = (await call('tech-a', 'GET', '/console/api/live')).json as { mqtt: { username: string; password: string; farms: string[] } }
      expect(live.mqtt.farms).toEqual(['a-01', 't-01'])
      const techView = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { username: live.mqtt.username, password: live.mqtt.password, clientId: `${live.mqtt.username}_r`, protocolVersion: 4, reconnectPeriod: 0 })
      let closedAt = 0
      techView.once('close', () => (closedAt = Date.now()))
      const revokedAt = Date.now()
      expect(await app.registry.memberships.remove({ personId: 'tech-a', role: 'technician', cooperativeId: 'coop-a' }, SYSTEM)).toMatchObject({ ok: true })
      expect(((await call('tech-a', 'GET', '/alerts/api/alerts')).json.alerts as unknown[]).length).toBe(0)
      expect((await call('tech-a', 'POST', '/alerts/api/commands', { farm: 'a-01', device: 'a-01-pump', cmd: 'stop', wait: false })).status).toBe(403)
      await waitFor(() => closedAt > 0, { message: 'the revoked technician\'s viewer closed', timeoutMs: 3_000 })
      expect(closedAt - revokedAt).toBeLessThan(1_000)
      const account = (await app.registry.sessions.accounts()).find((a) => a.username === live.mqtt.username)
      expect(account?.farms).toEqual([])
      // Signing in again to the broker gets the new scope: nothing.
      const again = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { username: live.mqtt.username, password: live.mqtt.password, clientId: `${live.mqtt.username}_s`, protocolVersion: 4, reconnectPeriod: 0 })
      expect(await again.subscribeAsync('farm/a-01/+/+/telemetry', { qos: 0 }).then((g) => g[0]?.qos, () => 128)).toBe(128)
      await again.endAsync(true)
    })

    it('a person removed: their sign-in fails at once and their broker connection is closed within a second', async () => {
      let closedAt = 0
      viewer.once('close', () => (closedAt = Date.now()))
      const removedAt = Date.now()
      expect(await app.registry.people.remove('farmer-a', SYSTEM)).toMatchObject({ ok: true })
      expect((await call('farmer-a', 'GET', '/alerts/api/alerts')).status).toBe(401)
      await waitFor(() => closedAt > 0, { message: 'the removed farmer\'s viewer closed', timeoutMs: 3_000 })
      expect(closedAt - removedAt).toBeLessThan(1_000)
    })
  })
})
