import { describe, expect, it } from 'vitest'
import { type Action, can, canManageCooperative, decide, farmsFor, type Grant, isAdmin, type Principal } from './access.js'

const realA = { id: 'a-01', cooperativeId: 'coop-a', training: false }
const realA2 = { id: 'a-02', cooperativeId: 'coop-a', training: false }
const realB = { id: 'b-01', cooperativeId: 'coop-b', training: false }
const trainA = { id: 'demo-a', cooperativeId: 'coop-a', training: true }
const loose = { id: 'solo-01', cooperativeId: null, training: false }
const FARMS = [realA, realA2, realB, trainA, loose]

const person = (id: string, ...grants: Grant[]): Principal => ({ kind: 'person', id, grants })
const onFarm = (role: Grant['role'], farmId: string): Grant => ({ role, farmId, cooperativeId: null })
const onCoop = (role: Grant['role'], cooperativeId: string): Grant => ({ role, farmId: null, cooperativeId })
const everywhere = (role: Grant['role']): Grant => ({ role, farmId: null, cooperativeId: null })

const allowedOn = (who: Principal, action: Action) => farmsFor(who, action, FARMS).map((f) => f.id)

describe('the role matrix', () => {
  it('a farmer reads and acknowledges their own farm only', () => {
    const somchai = person('somchai', onFarm('farmer', 'a-01'))
    expect(allowedOn(somchai, 'read')).toEqual(['a-01'])
    expect(allowedOn(somchai, 'ack')).toEqual(['a-01'])
    for (const a of ['resolve', 'maintain', 'command', 'train', 'manage'] as const) expect(allowedOn(somchai, a)).toEqual([])
  })

  it("a cooperative's technician reaches its farms, never another cooperative's or a loose farm", () => {
    const tech = person('tech-a', onCoop('technician', 'coop-a'))
    for (const a of ['read', 'ack', 'resolve', 'maintain', 'command'] as const) expect(allowedOn(tech, a)).toEqual(['a-01', 'a-02', 'demo-a'])
    expect(allowedOn(tech, 'train')).toEqual([])
    expect(allowedOn(tech, 'manage')).toEqual([])
    expect(decide(tech, 'command', realB)).toEqual({ ok: false, reason: 'tech-a may not command farm b-01' })
  })

  it('a trainer reads and acknowledges real farms in scope (they are on the escalation ladder) but acts only on training farms', () => {
    const kru = person('kru', onCoop('trainer', 'coop-a'))
    expect(allowedOn(kru, 'read')).toEqual(['a-01', 'a-02', 'demo-a'])
    expect(allowedOn(kru, 'ack')).toEqual(['a-01', 'a-02', 'demo-a'])
    for (const a of ['resolve', 'command', 'train'] as const) expect(allowedOn(kru, a)).toEqual(['demo-a'])
  })

  it('a trainee sees and acknowledges the training farm only', () => {
    const student = person('nong', onFarm('trainee', 'demo-a'), onFarm('trainee', 'a-01'))
    expect(allowedOn(student, 'read')).toEqual(['demo-a'])
    expect(allowedOn(student, 'ack')).toEqual(['demo-a'])
  })

  it("a lead manages the cooperative's farms and people, not another's", () => {
    const lead = person('lead-a', onCoop('lead', 'coop-a'))
    expect(allowedOn(lead, 'manage')).toEqual(['a-01', 'a-02', 'demo-a'])
    expect(canManageCooperative(lead, 'coop-a')).toBe(true)
    expect(canManageCooperative(lead, 'coop-b')).toBe(false)
    expect(isAdmin(lead)).toBe(false)
  })

  it('an every-farm admin does everything, but the simulator only on training farms', () => {
    const admin = person('root', everywhere('admin'))
    expect(allowedOn(admin, 'manage')).toEqual(FARMS.map((f) => f.id))
    expect(allowedOn(admin, 'train')).toEqual(['demo-a'])
    expect(isAdmin(admin)).toBe(true)
    expect(canManageCooperative(person('farm-admin', onFarm('admin', 'a-01')), 'coop-a')).toBe(false)
  })

  it('the service token acts everywhere except the simulator on a real farm', () => {
    const svc: Principal = { kind: 'service', id: 'api-token', grants: [] }
    expect(can(svc, 'command', realB)).toBe(true)
    expect(decide(svc, 'train', realA)).toEqual({ ok: false, reason: 'farm a-01 is not a training farm' })
    expect(can(svc, 'train', trainA)).toBe(true)
  })

  it('nobody with no grants may do anything', () => {
    const nobody = person('gone')
    for (const a of ['read', 'ack', 'resolve', 'maintain', 'command', 'train', 'manage'] as const) expect(allowedOn(nobody, a)).toEqual([])
  })
})
