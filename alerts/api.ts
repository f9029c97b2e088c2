/**
 * The technician API under /alerts/api: list and read alerts, acknowledge, resolve with a
 * maintenance note, log maintenance, send a pump command and see its cmd/ack, issue a LINE link
 * code, inspect the outbox (delivery results). Every call names its caller (runtime/auth.ts: a
 * person's session, or the installation token) and every action is checked against the role
 * matrix (registry/access.ts) for the farm it touches: lists show only the farms the caller may
 * read, an alert of another farm is "not found", an action beyond the caller's role is 403.
 * Every action is written to the registry's audit log with the person's id.
 *
 * `by` in a body is the caller's name for the record when the installation token is used
 * (automation, the one-laptop default: audited as `token:<by>`); a person is who they signed in as.
 * Work orders and maintenance schedules: work-orders-api.ts, reached through `workOrders`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import { ID_PATTERN } from '../contracts/names.js'
import { HttpError, readBody, sendJson } from '../runtime/http.js'
import type { Authenticator } from '../runtime/auth.js'
import { isAdmin, type Principal } from '../registry/access.js'
import type { Actor } from '../registry/index.js'
import { PUMP_COMMANDS, type MqttLink } from './commands.js'
import type { AlertEngine, Effects } from './engine.js'
import { issueLinkCode } from './link-codes.js'
import { recordMaintenance } from './notices.js'
import type { MaintenanceRecord } from './state.js'
import type { AlertRecord } from './types.js'

export const API_PREFIX = '/alerts/api/'

export interface ApiDeps {
  auth: Authenticator
  /** Writes one audit row in the registry (logged, not thrown, when the registry is down: the action stands). */
  audit(actor: Actor, action: string, target: string, detail: Record<string, unknown>): Promise<void>
  engine: AlertEngine
  link: MqttLink
  cmdTimeoutMs: number
  /** LINE_LINK_CODE_TTL_MS */
  linkCodeTtlMs: number
  now(): number
  /** Saves, writes history, sends: after every change. */
  commit(effects: Effects, maintenance?: MaintenanceRecord): Promise<void>
  /** The work-order routes (work-orders-api.ts), for the paths it names. */
  workOrders?: { roots: ReadonlySet<string>; handle(req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal, parts: readonly string[]): Promise<void> }
}

const Who = z.object({ by: z.string().min(1).max(64).optional() })
const ResolveBody = Who.extend({ note: z.string().max(500).optional() })
const MaintenanceBody = Who.extend({
  farm: z.string().regex(ID_PATTERN),
  device: z.string().regex(ID_PATTERN),
  type: z.string().regex(/^[a-z][a-z_]{1,31}$/),
  note: z.string().max(500).default(''),
})
const CommandBody = Who.extend({
  farm: z.string().regex(ID_PATTERN),
  device: z.string().regex(ID_PATTERN),
  cmd: z.enum(PUMP_COMMANDS),
  wait: z.boolean().default(true),
})

async function json<T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<z.output<T>> {
  const raw = await readBody(req, 64 * 1024)
  let value: unknown
  try {
    value = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'))
  } catch {
    throw new HttpError(400, 'body is not JSON')
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '))
  return parsed.data
}

/** A malformed escape (`%E0%A4%A`) makes decodeURIComponent throw: the client's mistake, 400 (issue 13). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new HttpError(400, 'bad percent-encoding in the path')
  }
}

/** Lists leave the reading snapshot out: it is in the single-alert view. */
const brief = ({ snapshot: _s, ...rest }: AlertRecord) => rest

/** Who did it, for the engine's record (`by`) and the audit row. */
function actorOf(principal: Principal & { name: string }, by: string | undefined): { by: string; actor: Actor } {
  if (principal.kind === 'person') return { by: principal.id, actor: { who: principal.id, how: 'api' } }
  if (!by) throw new HttpError(400, 'by: required with the installation token (who is acting, for the record)')
  return { by, actor: { who: `token:${by}`, how: 'api' } }
}

export function apiHandler(deps: ApiDeps) {
  const { engine, auth } = deps
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const { principal } = await auth.require(req)
    const parts = url.pathname.slice(API_PREFIX.length).split('/').map(decodeSegment)
    const route = `${req.method ?? 'GET'} ${parts[0] ?? ''}${parts.length > 1 ? '/:id' : ''}${parts[2] ? `/${parts[2]}` : ''}`
    if (deps.workOrders?.roots.has(parts[0] ?? '')) return deps.workOrders.handle(req, res, url, principal, parts)
    const id = parts[1] ?? ''
    const now = deps.now()
    const readable = (farm: string) => auth.decide(principal, 'read', farm).ok
    /** The alert, if the caller may read its farm (else: not found, whether or not it exists). */
    const alertFor = (alertId: string) => {
      const alert = engine.find(alertId)
      if (!alert || !readable(alert.farm)) throw new HttpError(404, 'no such alert')
      return alert
    }
    switch (route) {
      case 'GET alerts': {
        const status = url.searchParams.get('status') ?? 'open'
        const farm = url.searchParams.get('farm')
        const pool = status === 'open' ? Object.values(engine.state.alerts) : status === 'resolved' ? engine.state.recent : [...Object.values(engine.state.alerts), ...engine.state.recent]
        return sendJson(res, 200, { alerts: pool.filter((a) => (!farm || a.farm === farm) && readable(a.farm)).map(brief) })
      }
      case 'GET alerts/:id':
        return sendJson(res, 200, { alert: alertFor(id) })
      case 'POST alerts/:id/ack': {
        const body = await json(req, Who)
        auth.assert(principal, 'ack', alertFor(id).farm)
        const who = actorOf(principal, body.by)
        const { change, effects } = engine.acknowledge(id, { by: who.by, via: 'api', atMs: now })
        if (!change.ok) throw new HttpError(change.alert ? 409 : 404, change.reason)
        await deps.commit(effects)
        await deps.audit(who.actor, 'alert.ack', `alert:${id}`, { farm: change.alert.farm, device: change.alert.device, rule: change.alert.rule })
        return sendJson(res, 200, { alert: brief(change.alert) })
      }
      case 'POST alerts/:id/resolve': {
        const body = await json(req, ResolveBody)
        auth.assert(principal, 'resolve', alertFor(id).farm)
        const who = actorOf(principal, body.by)
        const { change, effects } = engine.resolve(id, { by: who.by, via: 'api', atMs: now }, body.note)
        if (!change.ok) throw new HttpError(change.alert ? 409 : 404, change.reason)
        const a = change.alert
        const record: MaintenanceRecord | undefined = body.note
          ? { farm: a.farm, device: a.device, type: 'repair', note: body.note, by: who.by, atMs: now, alertId: a.id }
          : undefined
        if (record) {
          const more = recordMaintenance(engine, record)
          effects.events.push(...more.events)
          effects.queued.push(...more.queued)
          effects.cancelled.push(...more.cancelled)
        }
        await deps.commit(effects, record)
        await deps.audit(who.actor, 'alert.resolve', `alert:${id}`, { farm: a.farm, device: a.device, rule: a.rule, ...(body.note ? { note: body.note } : {}) })
        return sendJson(res, 200, { alert: brief(a) })
      }
      case 'POST maintenance': {
        const body = await json(req, MaintenanceBody)
        auth.assert(principal, 'maintain', body.farm)
        const who = actorOf(principal, body.by)
        const track = engine.tracks[`${body.farm}/${body.device}`]
        const runS = track?.samples[track.samples.length - 1]?.p.run_s_total
        const record: MaintenanceRecord = { farm: body.farm, device: body.device, type: body.type, note: body.note, by: who.by, atMs: now, ...(typeof runS === 'number' ? { runS } : {}) }
        await deps.commit(recordMaintenance(engine, record), record)
        await deps.audit(who.actor, 'maintenance.add', `device:${body.device}`, { farm: body.farm, type: body.type, note: body.note })
        return sendJson(res, 201, { maintenance: record })
      }
      case 'POST commands': {
        const body = await json(req, CommandBody)
        auth.assert(principal, 'command', body.farm)
        const who = actorOf(principal, body.by)
        const sent = await deps.link.send({ farm: body.farm, kind: 'pump', device: body.device }, body.cmd, who.by)
        await deps.audit(who.actor, 'command.send', `device:${body.device}`, { farm: body.farm, cmd: body.cmd, id: sent.id })
        const record = body.wait ? await deps.link.waitAck(sent.id, deps.cmdTimeoutMs) : sent
        return sendJson(res, record?.ack ? 200 : 202, { command: record })
      }
      case 'GET commands/:id': {
        const record = deps.link.get(id)
        if (!record || !readable(record.farm)) throw new HttpError(404, 'no such command')
        return sendJson(res, 200, { command: record })
      }
      case 'POST contacts/:id/link-code': {
        // One entry per farm the person serves: all of them count.
        const entries = engine.ctx().farms.everyContact().filter((c) => c.contact.id === id)
        if (entries.length === 0) throw new HttpError(404, 'no such contact')
        const contact = { farms: entries.some((e) => e.farms === '*') ? ('*' as const) : entries.flatMap((e) => (e.farms === '*' ? [] : e.farms)) }
        // Oneself, or someone who manages every farm the person serves (their lead, an admin): a
        // code links the LINE account that types it, so one farm in common must not be enough
        // (a lead of A would take over the alerts of a technician who also serves B).
        const self = principal.kind === 'person' && principal.id === id
        const manages = contact.farms === '*' ? isAdmin(principal) : contact.farms.every((f) => auth.decide(principal, 'manage', f).ok)
        if (!self && !manages) {
          throw new HttpError(403, `${principal.id} may not link LINE for ${id}`)
        }
        const code = issueLinkCode(engine.state, id, now, deps.linkCodeTtlMs)
        engine.markDirty()
        await deps.commit({ events: [], queued: [], cancelled: [] })
        await deps.audit(principal.kind === 'person' ? { who: principal.id, how: 'api' } : { who: 'token', how: 'api' }, 'line.link-code', `person:${id}`, {})
        return sendJson(res, 201, { contact: id, code: code.code, expiresAt: new Date(code.expiresMs).toISOString() })
      }
      case 'GET outbox': {
        // Delivery results name phone numbers: for those who maintain the farm.
        const alertId = url.searchParams.get('alert')
        const items = Object.values(engine.state.outbox).filter((i) => (!alertId || i.alertId === alertId) && auth.decide(principal, 'maintain', i.farm).ok)
        // A sign-in link is a credential: its words are nobody else's to read.
        return sendJson(res, 200, { items: items.map(({ line: _line, ...rest }) => (rest.purpose === 'sign-in' ? { ...rest, sms: '(sign-in link)' } : rest)) })
      }
      default:
        throw new HttpError(404, `no route ${route}`)
    }
  }
}
