/**
 * `suanyang import` on both databases (issue 14 "a test imports today's accounts.json +
 * contacts.json and loses nothing"). accounts.json is what `npm start` wrote before the
 * registry: the simulator's demo fleet (scrypt hashes) and the services' own logins;
 * contacts.json is the alerts' test farms file grown with what the format allows (training farm,
 * shared contacts, quiet hours, device names, farm and device rule overrides). Nothing is lost
 * when the registry, read back, answers every question the files answer. A second run changes
 * nothing; the files are left as they were.
 */
import { createHash } from 'node:crypto'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FarmsFile, loadFarms } from '../alerts/contacts.js'
import { farmsFileJson, LINE_IDS } from '../alerts/testing/farms.js'
import { demoFarms, devicesOf } from '../firmware-sim/demo.js'
import { writeAccountsJson } from './helpers/accounts.js'
import { AccountsFile } from '../runtime/accounts.js'
import type { Registry } from '../registry/index.js'
import { runCliInProcess } from './helpers/app.js'
import { DIALECTS, registryStores, type StoreLocation } from './helpers/registry.js'

const stores = registryStores()
let template: string
const LINKED = `U${'e'.repeat(32)}`

/** The alerts' farms file, with every kind of entry the format has. */
function contactsJson(): Record<string, unknown> {
  const base = farmsFileJson({ rules: { soil_dry: { pendingMin: 240, params: { dryPct: 11 } }, not_running: { enabled: false } } }) as { farms: Record<string, Record<string, unknown>> }
  const farm1 = base.farms['ranong-01'] as Record<string, unknown>
  farm1.devices = { 'pump-1': { name: 'ปั๊มบ่อ 1' }, 'ranong-01-pump': { name: 'ปั๊มหลัก', rules: { pv_low: { params: { arrayWp: 1100 } }, overtemp: { severity: 'critical', clearMin: 20 } } } }
  farm1.quietHours = { start: '20:00', end: '06:30' }
  farm1.maintenance = { panelCleaningDays: 10, filterRunHours: 150 }
  return {
    version: 1,
    farms: {
      ...base.farms,
      'ranong-02': {
        name: 'Auntie Daeng',
        escalateAfterMin: 30,
        contacts: [
          { id: 'daeng', name: 'แดง', role: 'farmer', phone: '+66811112222', quietHours: { start: '22:00', end: '05:30' } },
          // The same technician as on ranong-01, said the same way.
          { id: 'somsak', name: 'Somsak', role: 'technician', locale: 'en', line: LINE_IDS.technician, phone: '+66898765432' },
        ],
      },
      'ranong-04': { name: 'แปลงฝึกอบรม', training: true, contacts: [{ id: 'kru-ann', name: 'ครูแอน', role: 'trainer', line: LINE_IDS.trainer }] },
    },
    shared: [
      { id: 'coop-tech', name: 'ช่างสหกรณ์', role: 'technician', farms: '*', phone: '0899999999' },
      { id: 'lead-wan', name: 'หัวหน้าวันดี', role: 'lead', locale: 'th', farms: ['ranong-01', 'ranong-03'] },
    ],
  }
}

beforeAll(async () => {
  template = await mkdtemp(join(tmpdir(), 'suanyang-import-'))
  // What `npm start` left in data/: the demo fleet's device accounts and the services' logins.
  await writeAccountsJson(template, {
    devices: devicesOf(demoFarms({ farms: 4, seed: 'ranong', training: ['ranong-04'] })),
    users: [
      ...['ingest', 'alerts', 'sim', 'console'].map((username) => ({ username, role: 'service' as const })),
      { username: 'console-viewer', role: 'viewer' },
      { username: 'coop-office', role: 'operator', farms: ['ranong-01', 'ranong-02'] },
    ],
  })
  await writeFile(join(template, 'contacts.json'), JSON.stringify(contactsJson(), null, 2))
  // LINE links made with one-time codes, as the alerts service keeps them.
  await writeFile(join(template, 'alerts-state.json'), JSON.stringify({ version: 1, alerts: {}, links: { 'kru-ann': LINKED, 'lead-wan': LINE_IDS.stranger } }))
})
afterAll(async () => {
  await stores.close()
  await rm(template, { recursive: true, force: true })
})

async function withFiles(at: StoreLocation): Promise<void> {
  for (const name of ['accounts.json', 'contacts.json']) await cp(join(template, name), join(at.dataDir, name))
  await cp(join(template, 'alerts-state.json'), join(at.dataDir, 'alerts', 'state.json'), { force: true })
}

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex')

/** Every answer the old files give, asked of the registry. */
async function expectNothingLost(r: Registry, dataDir: string): Promise<void> {
  const accounts = AccountsFile.parse(JSON.parse(await readFile(join(dataDir, 'accounts.json'), 'utf8')))
  expect(Object.keys(accounts.devices).length).toBeGreaterThanOrEqual(20)
  for (const [id, d] of Object.entries(accounts.devices)) {
    expect(await r.devices.get(id), id).toMatchObject({ farmId: d.farm, kind: d.kind, credentialsHash: d.hash, createdAt: d.createdAt })
  }
  for (const [username, u] of Object.entries(accounts.users)) {
    expect(await r.accounts.get(username), username).toMatchObject({ role: u.role, farms: u.farms, credentialsHash: u.hash, createdAt: u.createdAt })
  }
  expect((await r.accounts.list()).map((a) => a.username).sort()).toEqual(Object.keys(accounts.users).sort())

  const loaded = await loadFarms(join(dataDir, 'contacts.json'))
  if (!loaded.ok) throw new Error(loaded.reason)
  const file: FarmsFile = loaded.farms.file
  const links: Record<string, string> = { 'kru-ann': LINKED, 'lead-wan': LINE_IDS.stranger }
  const farmIds = [...new Set([...Object.keys(file.farms), ...Object.values(accounts.devices).map((d) => d.farm), 'ranong-03'])].sort()
  expect((await r.farms.list()).map((f) => f.id)).toEqual(farmIds)
  for (const id of farmIds) {
    const want = loaded.farms.get(id) // the effective settings alerts uses today
    const farm = await r.farms.get(id)
    expect(farm?.nameTh ?? farm?.nameEn ?? id, id).toBe(want.name)
    expect(farm, id).toMatchObject({ training: want.training, escalateAfterMin: want.escalateAfterMin, quietHours: want.quietHours, maintenance: want.maintenance })
    const contacts = (await r.people.forFarm(id)).flatMap(({ person, roles }) =>
      roles.map((role) => ({
        id: person.id, name: person.name, role, locale: person.locale,
        ...(person.lineUserId !== null && { line: person.lineUserId }),
        ...(person.phone !== null && { phone: person.phone }),
        ...(person.quietHours !== null && { quietHours: person.quietHours }),
      })),
    )
    const wantContacts = want.contacts.map((c) => ({ ...c, ...((links[c.id] ?? c.line) && { line: links[c.id] ?? c.line }) }))
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id)
    expect(contacts.sort(byId), `contacts of ${id}`).toEqual(wantContacts.sort(byId))
    const overrides = await r.overrides.list({ farmId: id })
    const asFile = (deviceId: string | null) =>
      Object.fromEntries(
        overrides
          .filter((o) => o.deviceId === deviceId)
          .map((o) => [o.rule, Object.fromEntries(Object.entries({ enabled: o.enabled, severity: o.severity, pendingMin: o.pendingMin, clearMin: o.clearMin, params: Object.keys(o.params).length ? o.params : null }).filter(([, v]) => v !== null))]),
      )
    expect(asFile(null), `rules of ${id}`).toEqual(want.rules ?? {})
    for (const [deviceId, d] of Object.entries(want.devices)) {
      expect((await r.devices.get(deviceId))?.name ?? deviceId).toBe(loaded.farms.deviceName(id, deviceId))
      expect(asFile(deviceId), `rules of ${deviceId}`).toEqual(d.rules ?? {})
    }
  }
}

describe.each(DIALECTS)('suanyang import on %s', (dialect) => {
  it('imports accounts.json and contacts.json losing nothing, once; the files stay as they were', async () => {
    const at = await stores.fresh(dialect)
    await withFiles(at)
    const before = { accounts: await sha(join(at.dataDir, 'accounts.json')), contacts: await sha(join(at.dataDir, 'contacts.json')) }
    const first = await runCliInProcess(['import', '--json', '--by', 'somsak'], at.env)
    expect(first, first.stderr).toMatchObject({ code: 0 })
    const summary = JSON.parse(first.stdout) as { changed: boolean; counts: Record<string, { added: number }> }
    expect(summary).toMatchObject({ changed: true, counts: { farms: { added: 4 }, people: { added: 6 }, devices: { added: 21 }, accounts: { added: 6 } } })

    const r = await stores.open(at)
    await expectNothingLost(r, at.dataDir)
    expect(await r.devices.get('pump-1')).toMatchObject({ farmId: 'ranong-01', kind: null, name: 'ปั๊มบ่อ 1', credentialsHash: null })
    const imports = (await r.audit.list()).filter((e) => e.action === 'registry.import')
    expect(imports).toMatchObject([{ who: 'somsak', how: 'cli', target: 'registry', detail: { counts: { devices: { added: 21 } } } }])
    expect(JSON.stringify(await r.audit.list())).not.toMatch(/scrypt\$|hmac-sha256\$/)

    const latest = await r.audit.latestId()
    const again = await runCliInProcess(['import', '--lang', 'en'], at.env)
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('nothing to import') })
    expect(await r.audit.latestId()).toBe(latest)
    expect({ accounts: await sha(join(at.dataDir, 'accounts.json')), contacts: await sha(join(at.dataDir, 'contacts.json')) }).toEqual(before)
  })

  it('brings in what changed in the files since, and keeps what was edited in the registry meanwhile', async () => {
    const at = await stores.fresh(dialect)
    await withFiles(at)
    expect((await runCliInProcess(['import'], at.env)).code).toBe(0)
    const r = await stores.open(at)
    await r.farms.update('ranong-01', { nameEn: 'Uncle Somchai', equipment: { pvArrayWp: 600 } }, { who: 'somsak', how: 'cli' })
    await writeAccountsJson(at.dataDir, { devices: [{ farm: 'ranong-03', kind: 'soil', device: 'ranong-03-soil-9' }] })
    const th = await runCliInProcess(['import'], { ...at.env, LANG: 'th_TH.UTF-8' })
    expect(th.stdout).toContain('นำเข้าทะเบียนแล้ว')
    expect(th.stdout).toMatch(/อุปกรณ์: เพิ่ม 1, แก้ไข 0, เหมือนเดิม 21/)
    expect(await r.farms.get('ranong-01')).toMatchObject({ nameTh: 'สวนลุงสมชาย', nameEn: 'Uncle Somchai', equipment: { pvArrayWp: 600 } })
    await expectNothingLost(r, at.dataDir)
  })

  it('refuses files that disagree with themselves, naming both places, and imports nothing', async () => {
    const at = await stores.fresh(dialect)
    await withFiles(at)
    const contacts = contactsJson() as { farms: Record<string, { contacts: Array<Record<string, unknown>> }> }
    const somsak = contacts.farms['ranong-02']?.contacts[1]
    if (somsak) somsak.phone = '0800000000'
    await writeFile(join(at.dataDir, 'contacts.json'), JSON.stringify(contacts))
    const refused = await runCliInProcess(['import', '--lang', 'en'], at.env)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('person "somsak": phone is "+66898765432" in contacts.json farms.ranong-01.contacts[1] but "0800000000" in contacts.json farms.ranong-02.contacts[1]')
    const r = await stores.open(at)
    expect(await r.farms.list()).toEqual([])
    expect(await r.audit.latestId()).toBe(0)
  })
})
