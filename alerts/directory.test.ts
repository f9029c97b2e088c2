import { describe, expect, it } from 'vitest'
import type { Farm, Membership, Person } from '../registry/index.js'
import { farmsFromRows } from './directory.js'
import { checkRecipient } from './guard.js'
import type { OutboxItem } from './outbox.js'
import { escalationSteps } from './routing.js'
import { emptyState } from './state.js'

const STAMP = { createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' }
const farm = (id: string, over: Partial<Farm> = {}): Farm => ({
  id, cooperativeId: 'coop-a', nameTh: null, nameEn: id, latDeg: null, lonDeg: null, training: false, timeZone: 'Asia/Bangkok',
  escalateAfterMin: 15, quietHours: { start: '21:00', end: '06:00' }, maintenance: { panelCleaningDays: 14, filterRunHours: 200 },
  equipment: { pvArrayWp: null, pumpModel: null, pumpHeadM: null, tankCapacityL: null, bankAreaM2: null, bankDepthCm: null, levelSensorCm: null, soilFieldCapacityPct: null, soilWiltingPointPct: null },
  ...STAMP, ...over,
})
const person = (id: string, line: string): Person => ({ id, name: id, locale: 'th', lineUserId: `U${line.repeat(32)}`, phone: null, quietHours: null, ...STAMP })
const role = (personId: string, r: Membership['role'], at: { farmId?: string; cooperativeId?: string } = {}): Membership => ({
  personId, role: r, farmId: at.farmId ?? null, cooperativeId: at.cooperativeId ?? null, createdAt: STAMP.createdAt,
})

/** A workshop farm and a real one in one cooperative: a farmer who is also a trainer, a coop technician-trainer, an admin. */
const { farms } = farmsFromRows({
  farms: [farm('workshop', { training: true }), farm('real')],
  people: [person('farmer', 'a'), person('tech', 'b'), person('trainer', 'c'), person('boss', 'd'), person('both', 'e')],
  memberships: [
    role('farmer', 'farmer', { farmId: 'workshop' }),
    role('farmer', 'farmer', { farmId: 'real' }),
    role('both', 'farmer', { farmId: 'workshop' }),
    role('both', 'trainer'),
    role('tech', 'technician', { cooperativeId: 'coop-a' }),
    role('tech', 'trainer', { farmId: 'workshop' }),
    role('trainer', 'trainer', { cooperativeId: 'coop-a' }),
    role('boss', 'admin'),
  ],
  devices: [],
  overrides: [],
})
const ids = (steps: Array<Array<{ id: string }>>) => steps.map((s) => s.map((c) => c.id).sort())

describe('contacts from the registry', () => {
  it('a farm\'s people reach it directly, by cooperative, or as every-farm roles; an admin is nobody\'s contact', () => {
    expect(ids(escalationSteps(farms.get('real'), 'farmer'))).toEqual([['farmer'], ['tech'], ['both', 'trainer']])
    expect(farms.get('real').contacts.map((c) => c.id)).not.toContain('boss')
  })

  it('a training farm reaches its trainers and never a farmer of it, even one who is also a trainer', () => {
    expect(ids(escalationSteps(farms.get('workshop'), 'farmer'))).toEqual([['tech', 'trainer']])
    expect(ids(escalationSteps(farms.get('workshop'), 'technician'))).toEqual([['tech', 'trainer']])
  })
})

describe('rule overrides from the registry', () => {
  it('are laid on the farm and its devices; one the rules refuse is skipped with its reason, the rest still apply', () => {
    const o = (rule: string, deviceId: string | null, params: Record<string, number | null>) => ({ farmId: 'real', deviceId, rule, enabled: null, severity: null, pendingMin: 5, clearMin: null, params, updatedAt: STAMP.updatedAt })
    const { farms: withRules, skipped } = farmsFromRows({
      farms: [farm('real')], people: [], memberships: [], devices: [{ id: 'pump-1', farmId: 'real', kind: 'pump', name: 'ปั๊ม 1', credentialsHash: null, calibration: {}, commissionedOn: null, ...STAMP }],
      overrides: [o('pv_low', 'pump-1', { arrayWp: 1100 }), o('soil_dry', null, {}), o('no_such_rule', null, {})],
    })
    expect(withRules.file.farms.real?.rules).toEqual({ soil_dry: { pendingMin: 5 } })
    expect(withRules.file.farms.real?.devices['pump-1']).toEqual({ name: 'ปั๊ม 1', rules: { pv_low: { pendingMin: 5, params: { arrayWp: 1100 } } } })
    expect(skipped).toEqual([expect.stringContaining('no_such_rule')])
  })
})

describe('the last-step check', () => {
  const item = (contactId: string, to: string, farmId = 'workshop'): OutboxItem => ({
    key: `a/fire/${contactId}`, farm: farmId, purpose: 'fire', contactId, channel: 'line', to, sms: 'x', retryKey: 'k', status: 'queued', attempts: 0, notBeforeMs: 0, createdMs: 0,
  })
  const state = emptyState()

  it('refuses a farmer of a training farm, a forged address, and someone who does not serve the farm', () => {
    expect(checkRecipient(farms, state, item('trainer', `U${'c'.repeat(32)}`))).toEqual({ ok: true })
    expect(checkRecipient(farms, state, item('farmer', `U${'a'.repeat(32)}`))).toMatchObject({ ok: false, reason: 'training_farm_not_trainer' })
    expect(checkRecipient(farms, state, item('both', `U${'e'.repeat(32)}`))).toMatchObject({ ok: false, reason: 'training_farm_not_trainer' })
    expect(checkRecipient(farms, state, item('trainer', `U${'a'.repeat(32)}`))).toMatchObject({ ok: false, reason: 'address_mismatch' })
    expect(checkRecipient(farms, state, item('boss', `U${'d'.repeat(32)}`, 'real'))).toMatchObject({ ok: false, reason: 'not_serving_farm' })
    expect(checkRecipient(farms, state, item('farmer', `U${'a'.repeat(32)}`, 'real'))).toEqual({ ok: true })
  })

  it('a LINE id linked by code is the person\'s address', () => {
    const linked = { ...emptyState(), links: { trainer: `U${'f'.repeat(32)}` } }
    expect(checkRecipient(farms, linked, item('trainer', `U${'f'.repeat(32)}`))).toEqual({ ok: true })
  })
})
