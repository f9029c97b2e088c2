import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import { FAULT_CODES } from '../contracts/names.js'
import { bangkok, inWindow, windowEnd } from './clock.js'
import { Farms, FarmsFile } from './contacts.js'
import { channelFor, CONSOLE_CONTACT, deliverAfter, escalationSteps, msisdn } from './routing.js'
import { checkOverrides, DEFAULT_RULES, resolveRule, RULES_BY_ID } from './rules.js'
import { testFarms } from './testing/farms.js'
import { FAULT_RULE } from './types.js'

const T = FIXTURE_TS // 10:00 Bangkok
const HOUR = 3_600_000

describe('clock', () => {
  it('Bangkok is UTC+7 with windows that wrap midnight', () => {
    expect(bangkok(T)).toMatchObject({ day: '2026-03-01', hour: 10, minute: 0 })
    expect(inWindow(22 * 60, 21 * 60, 6 * 60)).toBe(true)
    expect(inWindow(5 * 60, 21 * 60, 6 * 60)).toBe(true)
    expect(inWindow(12 * 60, 21 * 60, 6 * 60)).toBe(false)
    expect(windowEnd(T + 12 * HOUR, 21 * 60, 6 * 60)).toBe(T + 20 * HOUR) // 22:00 -> 06:00
    expect(windowEnd(T + 18 * HOUR, 21 * 60, 6 * 60)).toBe(T + 20 * HOUR) // 04:00 -> 06:00
    expect(windowEnd(T, 21 * 60, 6 * 60)).toBe(T)
  })
})

describe('routing', () => {
  const farms = testFarms()

  it('ladder: farmer, technician, trainer; technician-audience starts at the technician', () => {
    const farm = farms.get('ranong-01')
    expect(escalationSteps(farm, 'farmer').map((s) => s.map((c) => c.id))).toEqual([['somchai'], ['somsak'], ['kru-ann']])
    expect(escalationSteps(farm, 'technician').map((s) => s.map((c) => c.id))).toEqual([['somsak'], ['kru-ann']])
  })

  it('a training farm reaches only trainers; a farm with nobody reaches the console', () => {
    expect(escalationSteps(testFarms({ training: true }).get('ranong-01'), 'farmer')).toEqual([[expect.objectContaining({ id: 'kru-ann' })]])
    expect(escalationSteps(farms.get('unknown-farm'), 'farmer')).toEqual([[CONSOLE_CONTACT]])
  })

  it('shared contacts join the farms they serve', () => {
    const file = FarmsFile.parse({ version: 1, shared: [{ id: 'coop-tech', name: 'Coop', role: 'technician', farms: '*' }] })
    expect(new Farms(file, true).get('any').contacts.map((c) => c.id)).toEqual(['coop-tech'])
  })

  it('quiet hours hold all but critical', () => {
    const farm = farms.get('ranong-01')
    const c = farm.contacts[0] ?? CONSOLE_CONTACT
    const night = T + 13 * HOUR // 23:00
    expect(deliverAfter(c, farm, 'critical', night)).toBe(night)
    expect(deliverAfter(c, farm, 'warning', night)).toBe(T + 20 * HOUR)
    expect(deliverAfter(c, farm, 'info', T)).toBe(T)
  })

  it('channel: LINE, else SMS, else console', () => {
    const c = { ...CONSOLE_CONTACT, phone: '0812345678' }
    expect(channelFor(c, 'Uabc', { line: true, sms: true })).toEqual({ channel: 'line', to: 'Uabc' })
    expect(channelFor(c, 'Uabc', { line: false, sms: true })).toEqual({ channel: 'sms', to: '0812345678' })
    expect(channelFor(c, undefined, { line: true, sms: false })).toEqual({ channel: 'console', to: 'console' })
    expect(msisdn('0812345678')).toBe('66812345678')
    expect(msisdn('+66812345678')).toBe('66812345678')
  })
})

describe('rules as data', () => {
  it('every threshold names parameters of its rule, and every fault code has a rule watching it', () => {
    for (const r of DEFAULT_RULES) for (const th of r.thresholds) expect(Object.keys(r.params)).toEqual(expect.arrayContaining([th.trip, th.reset]))
    for (const code of FAULT_CODES) expect(RULES_BY_ID[FAULT_RULE[code]].fault).toBe(code)
  })

  it('device overrides win over farm overrides, which win over defaults', () => {
    const r = resolveRule(RULES_BY_ID.soil_dry, { soil_dry: { pendingMin: 120, params: { dryPct: 12 } } }, { soil_dry: { params: { dryPct: 10 } } })
    expect(r.pendingMs).toBe(120 * 60_000)
    expect(r.params).toMatchObject({ dryPct: 10, wetPct: 15 })
  })

  it('an unknown rule or parameter is refused', () => {
    expect(checkOverrides({ soil_dry: { params: { dryPercent: 1 } }, nope: {} })).toEqual([
      'rule "soil_dry" has no parameter "dryPercent"',
      'unknown rule "nope"',
    ])
    expect(FarmsFile.safeParse({ version: 1, farms: { f: { name: 'f', rules: { nope: {} } } } }).success).toBe(false)
  })
})
