/**
 * Who may do what over which farm (issue 14): the one role matrix every entry point asks, the
 * alerts API, the console's routes and pages, the CLI when it acts for a person, and the broker
 * when it issues a person's MQTT account. Pure: a `Principal` (the person's memberships, already
 * read from the registry) and a farm (its id, cooperative and training flag) in, a decision out.
 *
 * The matrix, per farm in the role's scope:
 * | action          | farmer | trainee | trainer | technician | lead | admin |
 * |-----------------|--------|---------|---------|------------|------|-------|
 * | read            | yes    | yes (1) | yes     | yes        | yes  | yes   |
 * | ack             | yes    | yes (1) | yes     | yes        | yes  | yes   |
 * | resolve         |        |         | yes (1) | yes        | yes  | yes   |
 * | maintain        |        |         |         | yes        | yes  | yes   |
 * | command         |        |         | yes (1) | yes        | yes  | yes   |
 * | train           |        |         | yes (1) |            |      | yes (1) |
 * | manage          |        |         |         |            | yes  | yes   |
 * (1) training farms only. `read` covers readings, alerts, the maintenance log and live data;
 * `command` a pump command; `train` the simulator's controls (inject, clear, speed, reset);
 * `manage` the farm's record, its devices, its people and their roles.
 *
 * Scopes: a membership names one farm, one cooperative (its farms, and the cooperative's own
 * record for `manage`) or neither (every farm). A farm without a cooperative is reached only by a
 * farm or every-farm membership.
 */
import type { PersonRole } from './schemas.js'

export const ACTIONS = ['read', 'ack', 'resolve', 'maintain', 'command', 'train', 'manage'] as const
export type Action = (typeof ACTIONS)[number]

export interface Grant {
  role: PersonRole
  farmId: string | null
  cooperativeId: string | null
}

/** Who is asking: a signed-in person, or a service/automation token that acts for everyone. */
export interface Principal {
  /** `person`: roles from the registry; `service`: the installation's own token (every farm, every action). */
  kind: 'person' | 'service'
  /** The person's id (audit `who`), or the service token's name. */
  id: string
  grants: readonly Grant[]
}

export interface FarmRef {
  id: string
  cooperativeId: string | null
  training: boolean
}

const ALLOWED: Record<PersonRole, readonly Action[]> = {
  farmer: ['read', 'ack'],
  trainee: ['read', 'ack'],
  trainer: ['read', 'ack', 'resolve', 'command', 'train'],
  technician: ['read', 'ack', 'resolve', 'maintain', 'command'],
  lead: ['read', 'ack', 'resolve', 'maintain', 'command', 'manage'],
  admin: ['read', 'ack', 'resolve', 'maintain', 'command', 'train', 'manage'],
}

/** Roles whose actions beyond reading reach training farms only. */
const TRAINING_ONLY: Partial<Record<PersonRole, readonly Action[]>> = {
  trainee: ['read', 'ack'],
  // A trainer is on the real farms' escalation ladder (alerts/routing.ts): told, they may acknowledge.
  trainer: ['resolve', 'command', 'train'],
  admin: ['train'],
}

export function covers(grant: Grant, farm: FarmRef): boolean {
  if (grant.farmId !== null) return grant.farmId === farm.id
  if (grant.cooperativeId !== null) return farm.cooperativeId !== null && grant.cooperativeId === farm.cooperativeId
  return true
}

function grantAllows(grant: Grant, action: Action, farm: FarmRef): boolean {
  if (!ALLOWED[grant.role].includes(action)) return false
  if (!farm.training && TRAINING_ONLY[grant.role]?.includes(action)) return false
  return covers(grant, farm)
}

export type AccessDecision = { ok: true } | { ok: false; reason: string }

/** Whether `who` may do `action` on `farm`, with the reason when not (logged and sent as the 403's text). */
export function decide(who: Principal, action: Action, farm: FarmRef): AccessDecision {
  if (who.kind === 'service') {
    // The installation's own token: everything, except the simulator on a real farm.
    if (action === 'train' && !farm.training) return { ok: false, reason: `farm ${farm.id} is not a training farm` }
    return { ok: true }
  }
  if (who.grants.some((g) => grantAllows(g, action, farm))) return { ok: true }
  if (action === 'train' && !farm.training) return { ok: false, reason: `farm ${farm.id} is not a training farm` }
  return { ok: false, reason: `${who.id} may not ${action} farm ${farm.id}` }
}

export const can = (who: Principal, action: Action, farm: FarmRef): boolean => decide(who, action, farm).ok

/** The farms among `farms` that `who` may `action`: what a list shows, what an MQTT account is scoped to. */
export const farmsFor = <F extends FarmRef>(who: Principal, action: Action, farms: readonly F[]): F[] => farms.filter((f) => can(who, action, f))

/** Whether `who` may manage people and records of a cooperative (its lead, or an every-farm admin/lead). */
export function canManageCooperative(who: Principal, cooperativeId: string): boolean {
  if (who.kind === 'service') return true
  return who.grants.some((g) => (g.role === 'lead' || g.role === 'admin') && g.farmId === null && (g.cooperativeId === null || g.cooperativeId === cooperativeId))
}

/** Whether `who` holds an every-farm admin grant: the only one who may create cooperatives and admins. */
export const isAdmin = (who: Principal): boolean =>
  who.kind === 'service' || who.grants.some((g) => g.role === 'admin' && g.farmId === null && g.cooperativeId === null)
