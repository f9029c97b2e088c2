/**
 * Administration without JSON (issue 14): the console's HTTP API for admins and cooperative
 * leads, under /console/api/admin/. What `suanyang farm|person|device` do on the command line,
 * for a signed-in person and only over what they may manage:
 *
 *   GET    overview                      what the caller manages: cooperatives, farms, devices, people (their roles in scope), overrides
 *   POST   cooperatives                  a cooperative (admins only)
 *   PATCH  cooperatives/:id              its names (its lead, admins)
 *   POST   farms                         a farm in a cooperative the caller leads (without one: admins only)
 *   PATCH  farms/:id                     names, cooperative, training flag, location, quiet hours, equipment...
 *   PUT    farms/:id/overrides           a rule override of the farm or one of its devices
 *   DELETE farms/:id/overrides           {rule, deviceId?}: back to the rule's defaults
 *   POST   devices                       registers a device; the answer carries its MQTT password, once (stored as a hash)
 *   DELETE devices/:id                   removes it (the broker drops it within a second)
 *   POST   people                        a person with a role over a farm or cooperative, and a one-time sign-in link (the invite)
 *   PATCH  people/:id                    name, locale, LINE id, phone, quiet hours
 *   POST   people/:id/roles              gives a role (to someone the caller may edit);  DELETE people/:id/roles: takes it away
 *   POST   people/:id/link               a new one-time sign-in link
 *
 * Access is registry/access.ts's, on the farm as the registry has it now (read per request, so a
 * farm added a moment ago counts): `manage` on the farm, `canManageCooperative` for a cooperative,
 * `isAdmin` for cooperatives, every-farm roles and the admin role. A person is edited (or sent a
 * link) only by someone who could give every role they hold: a lead of A cannot redirect B's
 * phone or sign in as B's technician. 404 where the caller may not read the farm (they are not
 * told it exists), 403 where they may read it but not manage it. Bad input: the registry's
 * field-level issues in Thai and English, 400 (409 for an id that exists, a record in use), and
 * nothing written. The audit actor is `{ who: person, how: 'console' }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { KINDS } from '../contracts/names.js'
import { type Action, type FarmRef, type Principal, canManageCooperative, decide, isAdmin } from '../registry/access.js'
import type { Actor, Device, Failure, Farm, FieldIssue, Membership, Person, Registry, Repositories, Result } from '../registry/index.js'
import { issue, refusal } from '../registry/messages.js'
import { HttpError, readBody, sendJson } from '../runtime/http.js'
import type { Authenticator } from '../runtime/auth.js'
import { hashSecret, newSecret } from '../runtime/secrets.js'

export const ADMIN_BASE = '/console/api/admin/'

export interface AdminDeps {
  auth: Authenticator
  registry: Registry
  /** The process's broker accounts: read again after a device is added or removed (the broker polls too). */
  accounts: { reload(force?: boolean): Promise<void> }
  /** How long an invite's sign-in link may wait (SIGN_IN_LINK_TTL_HOURS). */
  linkTtlMs: number
}

type Body = Record<string, unknown>
type Handler = (who: Principal, parts: string[], body: Body, req: IncomingMessage) => Promise<{ status: number; body: unknown }>

const t = (th: string, en: string) => ({ th, en })
const UNKNOWN_FIELD = t('ไม่รู้จักช่องนี้', 'unknown field')
const REQUIRED = t('ต้องระบุ', 'required')
const NEED_COOPERATIVE = t('เลือกสหกรณ์ที่คุณดูแล', 'choose a cooperative you lead')

/** A refusal with field-level issues: the status by the registry's reason. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly issues: FieldIssue[],
  ) {
    super(reason)
  }
}
const STATUS: Record<Failure['reason'], number> = { invalid: 400, not_found: 404, exists: 409, in_use: 409 }
const refused = (f: Failure): Refusal => new Refusal(STATUS[f.reason], f.reason, f.issues)
const invalid = (issues: FieldIssue[]): Refusal => new Refusal(400, 'invalid', issues)
function orRefuse<T>(r: Result<T>): { value: T; changed: boolean } {
  if (!r.ok) throw refused(r)
  return r
}

/** Fields the body may carry; anything else is an issue of its own (a typo never vanishes). */
function onlyFields(body: Body, allowed: readonly string[]): FieldIssue[] {
  return Object.keys(body)
    .filter((k) => !allowed.includes(k))
    .map((k) => issue(k, UNKNOWN_FIELD))
}
const pick = (body: Body, keys: readonly string[]): Body => Object.fromEntries(Object.entries(body).filter(([k]) => keys.includes(k)))
const omit = (body: Body, keys: readonly string[]): Body => Object.fromEntries(Object.entries(body).filter(([k]) => !keys.includes(k)))
const leadsAny = (who: Principal) => who.grants.some((g) => (g.role === 'lead' || g.role === 'admin') && g.farmId === null)
const idOf = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null)

const FARM_FIELDS = ['id', 'cooperativeId', 'nameTh', 'nameEn', 'latDeg', 'lonDeg', 'training', 'timeZone', 'escalateAfterMin', 'quietHours', 'maintenance', 'equipment'] as const
const DEVICE_FIELDS = ['id', 'farmId', 'kind', 'name', 'calibration', 'commissionedOn'] as const
const PERSON_FIELDS = ['id', 'name', 'locale', 'lineUserId', 'phone', 'quietHours'] as const
const ROLE_FIELDS = ['role', 'farmId', 'cooperativeId'] as const
const OVERRIDE_FIELDS = ['deviceId', 'rule', 'enabled', 'severity', 'pendingMin', 'clearMin', 'params'] as const

/** A device as the page sees it: never its hash. */
const shown = ({ credentialsHash, ...d }: Device) => ({ ...d, provisioned: credentialsHash !== null })

export function adminRoutes(deps: AdminDeps) {
  const { registry } = deps
  const actorOf = (who: Principal): Actor => ({ who: who.id, how: 'console' })
  const ref = (f: Farm): FarmRef => ({ id: f.id, cooperativeId: f.cooperativeId, training: f.training })

  /** The farm, if `who` may `action` it: 404 when they may not even read it (or it does not exist), 403 when only reading. */
  async function farmFor(who: Principal, farmId: unknown, action: Action = 'manage', field = 'farmId'): Promise<Farm> {
    const id = idOf(farmId)
    const farm = id === null ? undefined : await registry.farms.get(id)
    const hidden = () => new Refusal(404, 'not_found', [issue(field, refusal('notFound', { entity: 'farm', id: String(farmId ?? '') }))])
    if (!farm || !decide(who, 'read', ref(farm)).ok) throw id === null ? invalid([issue(field, REQUIRED)]) : hidden()
    const d = decide(who, action, ref(farm))
    if (!d.ok) throw new HttpError(403, d.reason)
    return farm
  }

  /** May `who` give (or take away) this role at this scope? */
  async function checkGrant(who: Principal, m: { role?: unknown; farmId?: unknown; cooperativeId?: unknown }): Promise<void> {
    if (m.role === 'admin' && !isAdmin(who)) throw new HttpError(403, `${who.id} may not give or take the admin role`)
    const farmId = idOf(m.farmId)
    const cooperativeId = idOf(m.cooperativeId)
    if (farmId !== null) await farmFor(who, farmId)
    else if (cooperativeId !== null) {
      if (!canManageCooperative(who, cooperativeId)) throw new HttpError(403, `${who.id} may not manage cooperative ${cooperativeId}`)
    } else if (!isAdmin(who)) throw new HttpError(403, `${who.id} may not give roles over every farm`)
  }

  /** A person `who` may edit: someone who could give every role they hold (admins: anyone). */
  async function personFor(who: Principal, id: string): Promise<{ person: Person; roles: Membership[] }> {
    const person = await registry.people.get(id)
    if (!person) throw new Refusal(404, 'not_found', [issue('id', refusal('notFound', { entity: 'person', id }))])
    const roles = await registry.memberships.list({ personId: id })
    if (isAdmin(who)) return { person, roles }
    if (roles.length === 0) throw new HttpError(403, `${who.id} may not edit ${id}: they hold no role you manage`)
    for (const m of roles) await checkGrant(who, m).catch(() => {
      throw new HttpError(403, `${who.id} may not edit ${id}: they hold roles beyond what you manage`)
    })
    return { person, roles }
  }

  /** Whether a membership lies within what `who` manages (for the overview: no throwing, no lookups). */
  const inScope = (who: Principal, m: Membership, managed: Map<string, Farm>): boolean =>
    m.role === 'admin' ? isAdmin(who) : m.farmId !== null ? managed.has(m.farmId) : m.cooperativeId !== null ? canManageCooperative(who, m.cooperativeId) : isAdmin(who)

  async function link(r: Repositories, who: Principal, personId: string, req: IncomingMessage) {
    const made = orRefuse(await r.sessions.createLink(personId, deps.linkTtlMs, actorOf(who))).value
    const path = `/console/#signin=${made.token}`
    const host = req.headers.host
    return { path, url: host ? `http://${host}${path}` : path, expiresAt: made.expiresAt }
  }

  /** Runs `work` as one transaction; a refusal inside rolls everything back and is re-thrown with its issues. */
  async function atomically<T>(work: (r: Repositories) => Promise<T>): Promise<T> {
    let thrown: unknown
    const result = await registry.atomically(async (r): Promise<Result<T>> => {
      try {
        return { ok: true, value: await work(r), changed: true }
      } catch (err) {
        thrown = err
        return { ok: false, reason: 'invalid', issues: [] }
      }
    })
    if (thrown !== undefined) throw thrown
    return (result as { value: T }).value
  }

  const routes: Record<string, Handler> = {
    async 'GET overview'(who) {
      const farms = (await registry.farms.list()).filter((f) => decide(who, 'manage', ref(f)).ok)
      const managed = new Map(farms.map((f) => [f.id, f]))
      const cooperatives = (await registry.cooperatives.list()).filter((c) => canManageCooperative(who, c.id))
      const devices = (await registry.devices.list()).filter((d) => managed.has(d.farmId)).map(shown)
      const memberships = await registry.memberships.list()
      const people = (await registry.people.list()).flatMap((p) => {
        const all = memberships.filter((m) => m.personId === p.id)
        const roles = all.filter((m) => inScope(who, m, managed))
        if (roles.length === 0 && !(isAdmin(who) && all.length === 0)) return []
        return [{ ...p, roles, editable: isAdmin(who) || (all.length > 0 && roles.length === all.length) }]
      })
      const overrides = (await registry.overrides.list()).filter((o) => managed.has(o.farmId))
      return {
        status: 200,
        body: { me: { id: who.id, kind: who.kind, admin: isAdmin(who) }, kinds: KINDS, cooperatives, farms, devices, people, overrides },
      }
    },

    async 'POST cooperatives'(who, _parts, body) {
      if (!isAdmin(who)) throw new HttpError(403, `${who.id} may not create cooperatives`)
      return { status: 201, body: { cooperative: orRefuse(await registry.cooperatives.add(body, actorOf(who))).value } }
    },

    async 'PATCH cooperatives/:id'(who, [id], body) {
      if (!canManageCooperative(who, id ?? '')) throw new HttpError(403, `${who.id} may not manage cooperative ${id ?? ''}`)
      const extra = onlyFields(body, ['nameTh', 'nameEn'])
      if (extra.length > 0) throw invalid(extra)
      const r = orRefuse(await registry.cooperatives.update(id ?? '', body, actorOf(who)))
      return { status: 200, body: { cooperative: r.value, changed: r.changed } }
    },

    async 'POST farms'(who, _parts, body) {
      const extra = onlyFields(body, FARM_FIELDS)
      if (extra.length > 0) throw invalid(extra)
      const cooperativeId = idOf(body.cooperativeId)
      if (cooperativeId === null && !isAdmin(who)) {
        // A lead is told to pick their cooperative; someone who leads none may not add farms at all.
        if (!leadsAny(who)) throw new HttpError(403, `${who.id} may not add farms`)
        throw invalid([issue('cooperativeId', NEED_COOPERATIVE)])
      }
      if (cooperativeId !== null && !canManageCooperative(who, cooperativeId)) throw new HttpError(403, `${who.id} may not add farms to cooperative ${cooperativeId}`)
      return { status: 201, body: { farm: orRefuse(await registry.farms.add(body, actorOf(who))).value } }
    },

    async 'PATCH farms/:id'(who, [id], body) {
      const farm = await farmFor(who, id, 'manage', 'id')
      const extra = onlyFields(body, FARM_FIELDS)
      if (extra.length > 0) throw invalid(extra)
      if ('cooperativeId' in body && body.cooperativeId !== farm.cooperativeId) {
        const to = idOf(body.cooperativeId)
        // Moving a farm needs the right over both ends: out of one's own cooperative, into another one leads.
        if (!canManageCooperative(who, farm.cooperativeId ?? '') && !isAdmin(who)) throw new HttpError(403, `${who.id} may not move farm ${farm.id}`)
        if (to === null ? !isAdmin(who) : !canManageCooperative(who, to)) throw new HttpError(403, `${who.id} may not move farm ${farm.id} there`)
      }
      const r = orRefuse(await registry.farms.update(farm.id, body, actorOf(who)))
      return { status: 200, body: { farm: r.value, changed: r.changed } }
    },

    async 'PUT farms/:id/overrides'(who, [id], body) {
      const farm = await farmFor(who, id, 'manage', 'id')
      const extra = onlyFields(body, OVERRIDE_FIELDS)
      if (extra.length > 0) throw invalid(extra)
      const r = orRefuse(await registry.overrides.set({ ...body, farmId: farm.id }, actorOf(who)))
      return { status: 200, body: { override: r.value, changed: r.changed } }
    },

    async 'DELETE farms/:id/overrides'(who, [id], body) {
      const farm = await farmFor(who, id, 'manage', 'id')
      const rule = typeof body.rule === 'string' ? body.rule : ''
      const r = orRefuse(await registry.overrides.remove({ farmId: farm.id, deviceId: idOf(body.deviceId), rule }, actorOf(who)))
      return { status: 200, body: { removed: r.value } }
    },

    async 'POST devices'(who, _parts, body) {
      const extra = onlyFields(body, DEVICE_FIELDS)
      if (extra.length > 0) throw invalid(extra)
      const farm = await farmFor(who, body.farmId)
      if (body.kind === undefined || body.kind === null || body.kind === '') throw invalid([issue('kind', REQUIRED)])
      // The password exists only in this answer; the registry keeps its hash.
      const password = newSecret()
      const added = orRefuse(await registry.devices.add({ ...body, farmId: farm.id, credentialsHash: hashSecret(password) }, actorOf(who))).value
      await deps.accounts.reload()
      const base = `farm/${farm.id}/${added.kind ?? ''}/${added.id}`
      return { status: 201, body: { device: shown(added), mqtt: { username: added.id, password, publish: `${base}/{telemetry,status,event,cmd/ack}`, commands: `${base}/cmd` } } }
    },

    async 'DELETE devices/:id'(who, [id]) {
      const device = await registry.devices.get(id ?? '')
      if (!device) throw new Refusal(404, 'not_found', [issue('id', refusal('notFound', { entity: 'device', id: id ?? '' }))])
      await farmFor(who, device.farmId).catch((err: unknown) => {
        // A device on a farm one may not read does not exist, for them.
        throw err instanceof Refusal ? new Refusal(404, 'not_found', [issue('id', refusal('notFound', { entity: 'device', id: device.id }))]) : err
      })
      const removed = orRefuse(await registry.devices.remove(device.id, actorOf(who))).value
      await deps.accounts.reload()
      return { status: 200, body: { removed: shown(removed) } }
    },

    async 'POST people'(who, _parts, body, req) {
      const extra = onlyFields(body, [...PERSON_FIELDS, ...ROLE_FIELDS])
      if (extra.length > 0) throw invalid(extra)
      const role = pick(body, ROLE_FIELDS)
      if (role.role === undefined) throw invalid([issue('role', REQUIRED)])
      await checkGrant(who, role)
      return {
        status: 201,
        body: await atomically(async (r) => {
          const person = orRefuse(await r.people.add(omit(body, ROLE_FIELDS), actorOf(who))).value
          const membership = orRefuse(await r.memberships.add({ personId: person.id, ...role }, actorOf(who))).value
          return { person: { ...person, roles: [membership] }, link: await link(r, who, person.id, req) }
        }),
      }
    },

    async 'PATCH people/:id'(who, [id], body) {
      const { person } = await personFor(who, id ?? '')
      const extra = onlyFields(body, PERSON_FIELDS)
      if (extra.length > 0) throw invalid(extra)
      const r = orRefuse(await registry.people.update(person.id, body, actorOf(who)))
      return { status: 200, body: { person: r.value, changed: r.changed } }
    },

    async 'POST people/:id/roles'(who, [id], body) {
      const extra = onlyFields(body, ROLE_FIELDS)
      if (extra.length > 0) throw invalid(extra)
      if (body.role === undefined) throw invalid([issue('role', REQUIRED)])
      // Only to someone the caller fully manages: a role on A's farm for B's technician would let
      // A's lead reach them (edit, sign-in link, LINE link code), and through them B's alerts.
      await personFor(who, id ?? '')
      await checkGrant(who, body)
      const r = orRefuse(await registry.memberships.add({ ...body, personId: id }, actorOf(who)))
      return { status: r.changed ? 201 : 200, body: { role: r.value, changed: r.changed } }
    },

    async 'DELETE people/:id/roles'(who, [id], body) {
      const extra = onlyFields(body, ROLE_FIELDS)
      if (extra.length > 0) throw invalid(extra)
      await checkGrant(who, body)
      const r = orRefuse(await registry.memberships.remove({ ...body, personId: id }, actorOf(who)))
      return { status: 200, body: { removed: r.value } }
    },

    async 'POST people/:id/link'(who, [id], _body, req) {
      const { person } = await personFor(who, id ?? '')
      return { status: 201, body: { link: await atomically((r) => link(r, who, person.id, req)) } }
    },
  }

  /** `farms/ranong-01/overrides` -> the route `farms/:id/overrides` and ['ranong-01']. */
  function match(method: string, path: string): { handler: Handler; params: string[] } | undefined {
    let parts: string[]
    try {
      parts = path.split('/').filter(Boolean).map(decodeURIComponent)
    } catch {
      return undefined // a malformed %-escape names no route
    }
    for (const [key, handler] of Object.entries(routes)) {
      const [m, pattern = ''] = key.split(' ')
      const want = pattern.split('/')
      if (m !== method || want.length !== parts.length) continue
      const params: string[] = []
      if (want.every((w, i) => (w.startsWith(':') ? (params.push(parts[i] ?? ''), true) : w === parts[i]))) return { handler, params }
    }
    return undefined
  }

  async function bodyOf(req: IncomingMessage): Promise<Body> {
    const raw = (await readBody(req, 16 * 1024)).toString('utf8')
    if (raw.trim() === '') return {}
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      throw invalid([issue('', t('ข้อมูลที่ส่งมาไม่ใช่ JSON', 'the body is not JSON'))])
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid([issue('', t('ข้อมูลที่ส่งมาต้องเป็นชุดข้อมูล', 'the body must be an object'))])
    return value as Body
  }

  /** The one handler of /console/api/admin/*. */
  return async function admin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    res.setHeader('cache-control', 'no-store')
    const c = await deps.auth.caller(req)
    if (!c.ok) return sendJson(res, c.status, { error: c.reason })
    const found = match(req.method ?? 'GET', url.pathname.slice(ADMIN_BASE.length))
    if (!found) return sendJson(res, 404, { error: 'not found' })
    try {
      const body = req.method === 'GET' ? {} : await bodyOf(req)
      const out = await found.handler(c.principal, found.params, body, req)
      sendJson(res, out.status, out.body)
    } catch (err) {
      if (err instanceof Refusal) return sendJson(res, err.status, { error: err.reason, issues: err.issues })
      throw err
    }
  }
}
