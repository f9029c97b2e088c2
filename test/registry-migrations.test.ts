/**
 * The registry's migrations on both databases (issue 14 "migrations from an empty database and
 * from the previous version both work"): from empty; from every earlier version with data in it,
 * which must come through intact; an edited shipped step, a newer database and a failing step
 * are refused without changing anything; concurrent starters apply each step once.
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { Queryable } from '../registry/db.js'
import { openDatabase, openRegistry } from '../registry/index.js'
import { type Migration, MigrationError, migrate } from '../registry/migrate.js'
import { MIGRATIONS } from '../registry/migrations/index.js'
import { DIALECTS, registryStores, type StoreLocation } from './helpers/registry.js'

const stores = registryStores()
afterAll(() => stores.close())

const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U'
const AT = '2026-01-15T03:00:00.000Z'

/**
 * Rows as each schema version held them, written in that version's SQL (never through today's
 * repositories, whose SQL follows the newest schema). A new migration adds its own entry.
 */
const SEEDS: Record<number, (q: Queryable) => Promise<void>> = {
  1: async (q) => {
    await q.run('INSERT INTO cooperatives (id, name_th, name_en, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)', ['coop-ranong', 'สหกรณ์ระนอง', 'Ranong co-op', AT])
    await q.run(
      `INSERT INTO farms (id, cooperative_id, name_th, training, escalate_after_min, quiet_start, quiet_end, pv_array_wp, pump_model, soil_field_capacity_pct, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
      ['ranong-01', 'coop-ranong', 'สวนลุงสมชาย', false, 20, '20:30', '06:30', 600, 'PS-600', 20, AT],
    )
    await q.run('INSERT INTO farms (id, training, created_at, updated_at) VALUES ($1, $2, $3, $3)', ['training-01', true, AT])
    await q.run('INSERT INTO people (id, name, locale, phone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)', ['somchai', 'สมชาย', 'th', '0812345678', AT])
    await q.run('INSERT INTO memberships (person_id, role, farm_id, created_at) VALUES ($1, $2, $3, $4)', ['somchai', 'farmer', 'ranong-01', AT])
    await q.run('INSERT INTO memberships (person_id, role, cooperative_id, created_at) VALUES ($1, $2, $3, $4)', ['somchai', 'lead', 'coop-ranong', AT])
    await q.run('INSERT INTO audit_log (at, who, how, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)', [AT, 'somsak', 'cli', 'farm.add', 'farm:ranong-01', '{"after":{}}'])
  },
  2: async (q) => {
    await q.run('INSERT INTO devices (id, farm_id, kind, credentials_hash, calibration, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)', [
      'ranong-01-pump', 'ranong-01', 'pump', HASH, '{"flowPulsesPerL":450}', AT,
    ])
    await q.run('INSERT INTO rule_overrides (farm_id, device_id, rule, enabled, params, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', ['ranong-01', 'ranong-01-pump', 'pv_low', true, '{"arrayWp":1100}', AT])
    await q.run('INSERT INTO service_accounts (username, role, farms, credentials_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)', ['console-viewer', 'viewer', '["ranong-01"]', HASH, AT])
  },
  3: async (q) => {
    await q.run('UPDATE people SET password_hash = $1 WHERE id = $2', [HASH, 'somchai'])
    await q.run('INSERT INTO sessions (token_hash, person_id, how, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', ['c2Vzc2lvbi1oYXNo', 'somchai', 'password', AT, '2999-01-01T00:00:00.000Z'])
    await q.run('INSERT INTO service_accounts (username, role, farms, credentials_hash, created_at, updated_at, session_hash) VALUES ($1, $2, $3, $4, $5, $5, $6)', [
      'web-0123456789abcdef', 'viewer', '["ranong-01"]', HASH, AT, 'c2Vzc2lvbi1oYXNo',
    ])
  },
  4: async (q) => {
    await q.run('INSERT INTO maintenance_schedules (id, farm_id, device_id, task, every_days, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)', [
      'ranong-01-panels', 'ranong-01', 'ranong-01-pump', 'panel_cleaning', 14, true, AT,
    ])
    await q.run(
      `INSERT INTO work_orders (id, farm_id, device_id, alert_id, alert_key, schedule_id, title, kind, status, assignee_id, opened_by, opened_at, assigned_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12, $12)`,
      ['wo-seed-0001', 'ranong-01', 'ranong-01-pump', 'ranong-01.ranong-01-pump.dry_run.x', 'ranong-01/ranong-01-pump/dry_run', null, 'ปั๊มเดินแห้ง', 'repair', 'assigned', 'somchai', 'system', AT],
    )
    await q.run('INSERT INTO work_order_visits (work_order_id, visited_at, who, findings, parts, cost_thb, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $2)', [
      'wo-seed-0001', AT, 'somchai', 'ท่อดูดรั่ว', '[{"name":"ข้อต่อ PVC","qty":2}]', 150, 'เปลี่ยนข้อต่อ',
    ])
  },
}

/** What the seeds of versions 1..v must read as, through today's repositories. */
async function expectSeeded(at: StoreLocation, v: number): Promise<void> {
  const r = await stores.open(at)
  expect(await r.cooperatives.get('coop-ranong')).toMatchObject({ nameTh: 'สหกรณ์ระนอง', nameEn: 'Ranong co-op', createdAt: AT })
  expect(await r.farms.get('ranong-01')).toMatchObject({
    cooperativeId: 'coop-ranong', nameTh: 'สวนลุงสมชาย', training: false, escalateAfterMin: 20, quietHours: { start: '20:30', end: '06:30' },
    equipment: { pvArrayWp: 600, pumpModel: 'PS-600', soilFieldCapacityPct: 20, pumpHeadM: null }, timeZone: 'Asia/Bangkok', createdAt: AT,
  })
  expect(await r.farms.get('training-01')).toMatchObject({ training: true })
  expect(await r.people.get('somchai')).toMatchObject({ name: 'สมชาย', phone: '0812345678', quietHours: null })
  expect((await r.people.forFarm('ranong-01')).map((c) => c.roles)).toEqual([['farmer', 'lead']])
  expect(await r.audit.list()).toMatchObject([{ who: 'somsak', action: 'farm.add', at: AT }])
  if (v >= 2) {
    expect(await r.devices.get('ranong-01-pump')).toMatchObject({ farmId: 'ranong-01', kind: 'pump', credentialsHash: HASH, calibration: { flowPulsesPerL: 450 } })
    expect(await r.overrides.list()).toMatchObject([{ deviceId: 'ranong-01-pump', rule: 'pv_low', enabled: true, params: { arrayWp: 1100 } }])
    expect(await r.accounts.get('console-viewer')).toMatchObject({ role: 'viewer', farms: ['ranong-01'] })
  }
  if (v >= 3) {
    expect(await r.sessions.account('c2Vzc2lvbi1oYXNo')).toEqual({ username: 'web-0123456789abcdef', role: 'viewer', farms: ['ranong-01'] })
  }
  if (v >= 4) {
    expect(await r.workOrders.get('wo-seed-0001')).toMatchObject({ farmId: 'ranong-01', status: 'assigned', assigneeId: 'somchai', title: 'ปั๊มเดินแห้ง', openedAt: AT })
    expect(await r.workOrders.visits('wo-seed-0001')).toMatchObject([{ findings: 'ท่อดูดรั่ว', parts: [{ name: 'ข้อต่อ PVC', qty: 2 }], costThb: 150 }])
    expect(await r.workOrders.schedules()).toMatchObject([{ id: 'ranong-01-panels', everyDays: 14, everyRunHours: null, enabled: true }])
  }
  // Work orders (version 4) on whatever came before: they point at the old farms and people.
  const opened = await r.workOrders.open({ farmId: 'ranong-01', title: 'ล้างแผงโซลาร์', kind: 'visit', assigneeId: 'somchai' }, { who: 'test', how: 'system' })
  expect(opened).toMatchObject({ ok: true, value: { status: 'assigned', assigneeId: 'somchai' } })
  expect((await r.audit.list({ target: `work-order:${opened.ok ? opened.value.id : ''}` })).map((e) => e.action)).toEqual(['work-order.open'])
  // Whatever version it came from, its people can sign in, with the roles they held.
  expect(await r.sessions.setPassword('somchai', 'correct horse battery', { who: 'test', how: 'system' })).toMatchObject({ ok: true })
  const started = await r.sessions.signInWithPassword('somchai', 'correct horse battery', 60_000, 'console')
  expect((await r.sessions.principal(started?.token ?? ''))?.grants).toEqual(
    expect.arrayContaining([{ role: 'farmer', farmId: 'ranong-01', cooperativeId: null }, { role: 'lead', farmId: null, cooperativeId: 'coop-ranong' }]),
  )
  // The upgraded registry takes new records that point at the old ones.
  expect(await r.devices.add({ id: 'ranong-01-bank', farmId: 'ranong-01', kind: 'waterbank' }, { who: 'test', how: 'system' })).toMatchObject({ ok: true })
  await r.close()
}

const tableNames = async (q: Queryable) =>
  (q.dialect === 'sqlite'
    ? await q.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    : await q.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name")
  ).map((t) => t.name)

describe.each(DIALECTS)('registry migrations on %s', (dialect) => {
  it('builds the whole schema from an empty database, and a second start applies nothing', async () => {
    const at = await stores.fresh(dialect)
    const db = await openDatabase(at)
    try {
      expect(await migrate(db, MIGRATIONS)).toEqual({ version: MIGRATIONS.length, applied: MIGRATIONS.map((m) => m.version) })
      expect(await migrate(db, MIGRATIONS)).toEqual({ version: MIGRATIONS.length, applied: [] })
      expect(await tableNames(db)).toEqual(['audit_log', 'cooperatives', 'devices', 'farms', 'maintenance_schedules', 'memberships', 'people', 'rule_overrides', 'schema_migrations', 'service_accounts', 'sessions', 'sign_in_links', 'work_order_visits', 'work_orders'])
      expect(await db.all('SELECT version, name FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })))
    } finally {
      await db.close()
    }
    expect((await stores.open(at)).schemaVersion).toBe(MIGRATIONS.length)
  })

  it.each(MIGRATIONS.slice(0, -1).map((m) => m.version))('upgrades a registry of version %i with data in it, losing nothing', async (from) => {
    const at = await stores.fresh(dialect)
    const old = await openRegistry({ ...at, migrations: MIGRATIONS.slice(0, from) })
    expect(old.schemaVersion).toBe(from)
    await old.close()
    const db = await openDatabase(at)
    try {
      await db.transaction(async (q) => {
        for (let v = 1; v <= from; v++) await SEEDS[v]?.(q)
      })
      expect((await migrate(db, MIGRATIONS)).applied).toEqual(MIGRATIONS.slice(from).map((m) => m.version))
    } finally {
      await db.close()
    }
    await expectSeeded(at, from)
  })

  it('refuses to start on an edited shipped migration, or on a database newer than the code', async () => {
    const at = await stores.fresh(dialect)
    await (await openRegistry(at)).close()
    const edited: Migration[] = MIGRATIONS.map((m) => (m.version === 1 ? { ...m, sql: (t) => `${m.sql(t)}\nCREATE INDEX people_name ON people (name);` } : m))
    await expect(openRegistry({ ...at, migrations: edited })).rejects.toThrow(/migration 1 \(directory\) differs.*never be edited/)
    await expect(openRegistry({ ...at, migrations: MIGRATIONS.slice(0, 1) })).rejects.toThrow(MigrationError)
    await expect(openRegistry({ ...at, migrations: MIGRATIONS.slice(0, 1) })).rejects.toThrow(/schema is version 2, newer than this suanyang knows \(1\)/)
    expect((await stores.open(at)).schemaVersion).toBe(MIGRATIONS.length)
  })

  it('rolls a failing step back whole: the database stays at the version before it', async () => {
    const at = await stores.fresh(dialect)
    const broken: Migration = { version: MIGRATIONS.length + 1, name: 'broken', sql: () => 'CREATE TABLE half_done (id TEXT PRIMARY KEY);\nALTER TABLE no_such_table ADD COLUMN x TEXT;' }
    await expect(openRegistry({ ...at, migrations: [...MIGRATIONS, broken] })).rejects.toThrow(/no_such_table/)
    const db = await openDatabase(at)
    try {
      // The earlier steps ran in the same transaction as the broken one: nothing is left.
      expect(await tableNames(db)).toEqual([])
    } finally {
      await db.close()
    }
    await (await openRegistry(at)).close()
    await expect(openRegistry({ ...at, migrations: [...MIGRATIONS, broken] })).rejects.toThrow(/no_such_table/)
    const r = await stores.open(at)
    expect(r.schemaVersion).toBe(MIGRATIONS.length)
  })

  it('lets several starters migrate one empty database at once: each step applied once', async () => {
    const at = await stores.fresh(dialect)
    const opened = await Promise.all([1, 2, 3, 4].map(() => stores.open(at)))
    expect(opened.map((r) => r.schemaVersion)).toEqual(opened.map(() => MIGRATIONS.length))
    const db = await openDatabase(at)
    try {
      expect(await db.all('SELECT version FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version })))
    } finally {
      await db.close()
    }
  })
})
