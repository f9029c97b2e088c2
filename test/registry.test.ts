/**
 * The registry's contract (issue 14), one suite run against both databases: embedded SQLite and
 * a real PostgreSQL server. Every change is validated with field-level issues in Thai and English,
 * written with its audit row in one transaction, and a refusal leaves nothing behind.
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { Actor, Registry } from '../registry/index.js'
import { hashSecret, newSecret } from '../runtime/secrets.js'
import { DIALECTS, registryStores } from './helpers/registry.js'

const stores = registryStores()
afterAll(() => stores.close())

const somsak: Actor = { who: 'somsak', how: 'cli' }
const HASH = hashSecret(newSecret())

const fields = (r: { ok: boolean; issues?: Array<{ field: string }> }) => (r.ok ? [] : (r.issues ?? []).map((i) => i.field))

describe.each(DIALECTS)('registry on %s', (dialect) => {
  const fresh = (now?: () => number) => stores.registry(dialect, now ? { now } : {})

  it('adds a farm with its defaults and reads it back exactly, Thai names included', async () => {
    const r = await fresh(() => Date.UTC(2026, 2, 1, 8))
    expect(r.dialect).toBe(dialect)
    const added = await r.farms.add(
      { id: 'ranong-01', nameTh: 'สวนลุงสมชาย', nameEn: 'Uncle Somchai', latDeg: 9.962, lonDeg: 98.638, equipment: { pvArrayWp: 600, pumpModel: 'PS-600 48V', pumpHeadM: 31.5, bankDepthCm: 200, levelSensorCm: 232, soilFieldCapacityPct: 20, soilWiltingPointPct: 9 } },
      somsak,
    )
    expect(added).toMatchObject({ ok: true, changed: true })
    const farm = await r.farms.get('ranong-01')
    expect(farm).toEqual({
      id: 'ranong-01',
      cooperativeId: null,
      nameTh: 'สวนลุงสมชาย',
      nameEn: 'Uncle Somchai',
      latDeg: 9.962,
      lonDeg: 98.638,
      training: false,
      timeZone: 'Asia/Bangkok',
      escalateAfterMin: 15,
      quietHours: { start: '21:00', end: '06:00' },
      maintenance: { panelCleaningDays: 14, filterRunHours: 200 },
      equipment: { pvArrayWp: 600, pumpModel: 'PS-600 48V', pumpHeadM: 31.5, tankCapacityL: null, bankAreaM2: null, bankDepthCm: 200, levelSensorCm: 232, soilFieldCapacityPct: 20, soilWiltingPointPct: 9 },
      createdAt: '2026-03-01T08:00:00.000Z',
      updatedAt: '2026-03-01T08:00:00.000Z',
    })
    await r.farms.add({ id: 'training-01', training: true }, somsak)
    expect((await r.farms.list()).map((f) => f.id)).toEqual(['ranong-01', 'training-01'])
    expect((await r.farms.list({ training: true })).map((f) => f.id)).toEqual(['training-01'])
    expect(await r.farms.add({ id: 'ranong-01' }, somsak)).toMatchObject({ ok: false, reason: 'exists', issues: [{ field: 'id' }] })
  })

  it('refuses bad input field by field, in Thai and English, and saves nothing', async () => {
    const r = await fresh()
    const refused = await r.farms.add(
      { id: 'Ranong 01', nameTh: '', latDeg: 123, timeZone: 'Asia/Ranong-Town', escalateAfterMin: 'soon', quietHours: { start: '25:00', end: '06:00' }, equipment: { pvArrayWp: -600, soilFieldCapacityPct: 20, soilWiltingPointPct: 25 }, colour: 'green' },
      somsak,
    )
    expect(refused.ok).toBe(false)
    expect(fields(refused).sort()).toEqual(
      ['colour', 'equipment.pvArrayWp', 'equipment.soilWiltingPointPct', 'escalateAfterMin', 'id', 'latDeg', 'nameTh', 'quietHours.start', 'timeZone'].sort(),
    )
    const byField = Object.fromEntries((refused.ok ? [] : refused.issues).map((i) => [i.field, i]))
    expect(byField['equipment.pvArrayWp']).toMatchObject({ th: 'ต้องมากกว่า 0', en: 'must be greater than 0' })
    expect(byField['equipment.soilWiltingPointPct']).toMatchObject({ en: 'must be below the soil field capacity' })
    expect(byField.escalateAfterMin).toMatchObject({ th: 'ต้องเป็นตัวเลข', en: 'must be a number' })
    expect(byField.colour).toMatchObject({ en: 'unknown field' })
    expect(byField.id?.th).toContain('a-z')
    expect(await r.farms.list()).toEqual([])
    expect(await r.audit.list()).toEqual([])
    expect(await r.farms.add({}, somsak)).toMatchObject({ ok: false, issues: [{ field: 'id', th: 'ต้องระบุ', en: 'required' }] })
  })

  it('edits by overlaying the stored record: nested fields merge, cross-field rules hold, a no-op writes nothing', async () => {
    let t = Date.UTC(2026, 2, 1)
    const r = await fresh(() => t)
    await r.farms.add({ id: 'ranong-02', equipment: { pvArrayWp: 600, soilFieldCapacityPct: 20 } }, somsak)
    t += 60_000
    const edited = await r.farms.update('ranong-02', { nameTh: 'สวนป้าแดง', equipment: { pumpHeadM: 28 } }, somsak)
    expect(edited).toMatchObject({ ok: true, changed: true, value: { nameTh: 'สวนป้าแดง', equipment: { pvArrayWp: 600, pumpHeadM: 28, soilFieldCapacityPct: 20 }, updatedAt: new Date(t).toISOString() } })
    expect(edited.ok && edited.value.createdAt).toBe(new Date(Date.UTC(2026, 2, 1)).toISOString())
    const audit = await r.audit.list({ target: 'farm:ranong-02' })
    expect(audit.map((a) => a.action)).toEqual(['farm.add', 'farm.update'])
    expect(audit[1]).toMatchObject({ who: 'somsak', how: 'cli', detail: { changes: { nameTh: [null, 'สวนป้าแดง'], 'equipment.pumpHeadM': [null, 28] } } })

    expect(await r.farms.update('ranong-02', { nameTh: 'สวนป้าแดง' }, somsak)).toMatchObject({ ok: true, changed: false })
    expect(await r.audit.list()).toHaveLength(2)
    // The edit is checked against the whole record: wilting point 25 above the stored field capacity 20.
    expect(await r.farms.update('ranong-02', { equipment: { soilWiltingPointPct: 25 } }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'equipment.soilWiltingPointPct' }] })
    expect(await r.farms.update('ranong-02', { id: 'ranong-03' }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'id' }] })
    expect(await r.farms.update('nowhere', { training: true }, somsak)).toMatchObject({ ok: false, reason: 'not_found' })
    expect((await r.farms.get('ranong-02'))?.equipment.soilWiltingPointPct).toBeNull()
  })

  it('keeps people, their roles per farm, cooperative or every farm, and who serves a farm', async () => {
    const r = await fresh()
    await r.cooperatives.add({ id: 'coop-ranong', nameTh: 'สหกรณ์สวนยางระนอง' }, somsak)
    await r.farms.add({ id: 'ranong-01', cooperativeId: 'coop-ranong' }, somsak)
    await r.farms.add({ id: 'ranong-02' }, somsak)
    const line = `U${'a'.repeat(32)}`
    expect(await r.people.add({ id: 'somchai', name: 'สมชาย', lineUserId: line, phone: '0812345678' }, somsak)).toMatchObject({ ok: true })
    await r.people.add({ id: 'somsak', name: 'Somsak', locale: 'en', quietHours: { start: '22:00', end: '05:30' } }, somsak)
    await r.people.add({ id: 'kru-ann', name: 'ครูแอน' }, somsak)
    await r.memberships.add({ personId: 'somchai', role: 'farmer', farmId: 'ranong-01' }, somsak)
    await r.memberships.add({ personId: 'somsak', role: 'technician', cooperativeId: 'coop-ranong' }, somsak)
    await r.memberships.add({ personId: 'kru-ann', role: 'trainer' }, somsak)
    expect(await r.memberships.add({ personId: 'kru-ann', role: 'trainer' }, somsak)).toMatchObject({ ok: true, changed: false })

    const serving = (farm: string) => r.people.forFarm(farm).then((list) => list.map((c) => `${c.person.id}:${c.roles.join('+')}`))
    expect(await serving('ranong-01')).toEqual(['kru-ann:trainer', 'somchai:farmer', 'somsak:technician'])
    expect(await serving('ranong-02')).toEqual(['kru-ann:trainer'])
    expect(await r.people.get('somsak')).toMatchObject({ locale: 'en', quietHours: { start: '22:00', end: '05:30' }, lineUserId: null })

    expect(await r.people.add({ id: 'imposter', name: 'x', lineUserId: line }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'lineUserId' }] })
    expect(fields(await r.people.add({ id: 'p', name: 'p', phone: '12345', quietHours: { start: '9:00', end: '06:00' } }, somsak)).sort()).toEqual(['phone', 'quietHours.start'])
    expect(await r.memberships.add({ personId: 'somchai', role: 'farmer', farmId: 'ranong-09' }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'farmId' }] })
    expect(await r.memberships.add({ personId: 'somchai', role: 'boss' }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'role' }] })
    expect(await r.memberships.add({ personId: 'somchai', role: 'lead', farmId: 'ranong-01', cooperativeId: 'coop-ranong' }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'cooperativeId' }] })

    // Removing a person takes their roles along; a cooperative with farms stays.
    expect(await r.people.remove('somchai', somsak)).toMatchObject({ ok: true })
    expect(await r.memberships.list({ personId: 'somchai' })).toEqual([])
    expect((await r.audit.list({ target: 'person:somchai' })).at(-1)).toMatchObject({ action: 'person.remove', detail: { cascaded: { memberships: 1 } } })
    expect(await r.cooperatives.remove('coop-ranong', somsak)).toMatchObject({ ok: false, reason: 'in_use' })
  })

  it('keeps devices with their credentials hash out of the audit log, and one login name space with service accounts', async () => {
    const r = await fresh()
    await r.farms.add({ id: 'ranong-01' }, somsak)
    await r.farms.add({ id: 'ranong-02' }, somsak)
    expect(await r.devices.add({ id: 'ranong-01-pump', farmId: 'ranong-01', kind: 'pump', credentialsHash: HASH, calibration: { flowPulsesPerL: 450 }, commissionedOn: '2026-02-14' }, somsak)).toMatchObject({ ok: true })
    expect(await r.devices.get('ranong-01-pump')).toMatchObject({ kind: 'pump', credentialsHash: HASH, calibration: { flowPulsesPerL: 450 }, commissionedOn: '2026-02-14' })
    expect(JSON.stringify(await r.audit.list())).not.toContain(HASH)

    const bad = await r.devices.add({ id: 'probe-1', farmId: 'ranong-01', kind: 'soil', credentialsHash: 'plain-text', calibration: { rawDryAdc: 5000, flowPulsesPerL: 1 }, commissionedOn: '2026-02-30' }, somsak)
    expect(fields(bad).sort()).toEqual(['calibration.flowPulsesPerL', 'calibration.rawDryAdc', 'commissionedOn', 'credentialsHash'])
    expect(await r.devices.add({ id: 'probe-1', farmId: 'ranong-09', kind: 'soil' }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'farmId' }] })

    expect(await r.accounts.add({ username: 'ingest', role: 'service', credentialsHash: HASH }, somsak)).toMatchObject({ ok: true })
    expect(await r.accounts.add({ username: 'ranong-01-pump', role: 'viewer', credentialsHash: HASH }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'username' }] })
    expect(await r.devices.add({ id: 'ingest', farmId: 'ranong-01', kind: 'pump' }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'id' }] })

    // A farm with devices is not removed; a device's override follows it to another farm.
    expect(await r.overrides.set({ farmId: 'ranong-01', deviceId: 'ranong-01-pump', rule: 'pv_low', params: { arrayWp: 1100 } }, somsak)).toMatchObject({ ok: true })
    expect(await r.farms.remove('ranong-01', somsak)).toMatchObject({ ok: false, reason: 'in_use', issues: [{ field: 'id' }] })
    expect(await r.devices.update('ranong-01-pump', { farmId: 'ranong-02' }, somsak)).toMatchObject({ ok: true, value: { farmId: 'ranong-02', credentialsHash: HASH } })
    expect(await r.overrides.list({ deviceId: 'ranong-01-pump' })).toMatchObject([{ farmId: 'ranong-02', rule: 'pv_low', params: { arrayWp: 1100 } }])
    expect(await r.farms.remove('ranong-01', somsak)).toMatchObject({ ok: true })
  })

  it('sets rule overrides per farm and device; the alert rules check them when handed in', async () => {
    const checkOverrides = (o: Record<string, unknown>) => Object.keys(o).filter((rule) => rule !== 'soil_dry').map((rule) => `unknown rule "${rule}"`)
    const r = await stores.registry(dialect, { checkOverrides })
    await r.farms.add({ id: 'ranong-01' }, somsak)
    const set = await r.overrides.set({ farmId: 'ranong-01', rule: 'soil_dry', enabled: true, severity: 'warning', pendingMin: 240, params: { dryPct: 11, wetPct: null } }, somsak)
    expect(set).toMatchObject({ ok: true, changed: true })
    expect(await r.overrides.set({ farmId: 'ranong-01', rule: 'soil_dry', enabled: true, severity: 'warning', pendingMin: 240, params: { wetPct: null, dryPct: 11 } }, somsak)).toMatchObject({ ok: true, changed: false })
    expect(await r.overrides.set({ farmId: 'ranong-01', rule: 'no_such_rule' }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'rule', en: 'unknown rule "no_such_rule"' }] })
    expect(fields(await r.overrides.set({ farmId: 'ranong-01', rule: 'soil_dry', severity: 'loud', pendingMin: -1 }, somsak)).sort()).toEqual(['pendingMin', 'severity'])
    expect(await r.overrides.set({ farmId: 'ranong-01', deviceId: 'ghost', rule: 'soil_dry' }, somsak)).toMatchObject({ ok: false, issues: [{ field: 'deviceId' }] })
    expect(await r.overrides.list({ farmId: 'ranong-01' })).toMatchObject([{ rule: 'soil_dry', deviceId: null, enabled: true, severity: 'warning', pendingMin: 240, clearMin: null, params: { dryPct: 11, wetPct: null } }])
    expect(await r.overrides.remove({ farmId: 'ranong-01', rule: 'soil_dry' }, somsak)).toMatchObject({ ok: true })
    expect((await r.audit.list()).map((a) => a.action)).toEqual(['farm.add', 'override.set', 'override.remove'])
  })

  it('keeps all of several changes or none (atomically), and counts changes in the audit log', async () => {
    const r = await fresh()
    const before = await r.audit.latestId()
    const refused = await r.atomically(async (tx) => {
      const farm = await tx.farms.add({ id: 'ranong-05' }, somsak)
      if (!farm.ok) return farm
      return tx.people.add({ id: 'nobody', name: '' }, somsak)
    })
    expect(refused).toMatchObject({ ok: false, issues: [{ field: 'name' }] })
    expect(await r.farms.get('ranong-05')).toBeUndefined()
    expect(await r.audit.latestId()).toBe(before)

    const kept = await r.atomically(async (tx) => {
      await tx.farms.add({ id: 'ranong-05' }, somsak)
      return tx.people.add({ id: 'daeng', name: 'แดง' }, { who: 'daeng', how: 'line' })
    })
    expect(kept).toMatchObject({ ok: true })
    const entries = await r.audit.list({ sinceId: before })
    expect(entries.map((e) => [e.action, e.target, e.who, e.how])).toEqual([
      ['farm.add', 'farm:ranong-05', 'somsak', 'cli'],
      ['person.add', 'person:daeng', 'daeng', 'line'],
    ])
    expect(await r.audit.latestId()).toBe(entries.at(-1)?.id)
    await expect(r.farms.add({ id: 'x' }, { who: '', how: 'cli' })).rejects.toThrow(/invalid audit actor/)
  })

  it('fails at once, instead of waiting forever, when the registry itself is used inside atomically()', async () => {
    const r = await fresh()
    const misuse = r.atomically(async (tx) => {
      await tx.farms.add({ id: 'ranong-06' }, somsak)
      return r.farms.update('ranong-06', { training: true }, somsak) // r, not tx: would wait for this very transaction
    })
    await expect(misuse).rejects.toThrow(/used directly inside one of its own transactions/)
    expect(await r.farms.get('ranong-06')).toBeUndefined()
    expect(await r.farms.add({ id: 'ranong-06' }, somsak, { createdAt: 'yesterday' })).toMatchObject({ ok: false, issues: [{ field: 'createdAt' }] })
    expect(await r.farms.add({ id: 'ranong-06' }, somsak, { createdAt: '2025-12-01T00:00:00Z' })).toMatchObject({ ok: true, value: { createdAt: '2025-12-01T00:00:00.000Z' } })
  })

  it('answers concurrent adds of one farm with one farm and one refusal', async () => {
    const r = await fresh()
    const results = await Promise.all([1, 2, 3].map((n) => r.farms.add({ id: 'ranong-07', nameEn: `try ${n}` }, somsak)))
    expect(results.filter((x) => x.ok)).toHaveLength(1)
    expect(results.filter((x) => !x.ok).map((x) => !x.ok && x.reason)).toEqual(['exists', 'exists'])
    expect(await r.audit.list()).toHaveLength(1)
  })
})

describe('two processes on one registry', () => {
  it.each(DIALECTS)('%s: a change made through one connection is read by another at once', async (dialect) => {
    const at = await stores.fresh(dialect)
    const [a, b] = [await stores.open(at), await stores.open(at)] as [Registry, Registry]
    await a.farms.add({ id: 'ranong-08', training: true }, somsak)
    expect(await b.farms.get('ranong-08')).toMatchObject({ training: true })
    expect(await b.audit.latestId()).toBe(await a.audit.latestId())
  })
})
