/**
 * The technician API under /alerts/api (Bearer ALERTS_API_TOKEN): list and read alerts,
 * acknowledge, resolve with a maintenance note, log maintenance, send a pump command and see
 * its cmd/ack, issue a LINE link code, inspect the outbox (delivery results).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import { ID_PATTERN } from '../contracts/names.js'
import { HttpError, readBody, sendJson } from '../runtime/http.js'
import { safeEqual } from '../runtime/secrets.js'
import { PUMP_COMMANDS, type MqttLink } from './commands.js'
import type { AlertEngine, Effects } from './engine.js'
import { issueLinkCode } from './link-codes.js'
import { recordMaintenance } from './notices.js'
import type { MaintenanceRecord } from './state.js'
import type { AlertRecord } from './types.js'

export const API_PREFIX = '/alerts/api/'

export interface ApiDeps {
  token?: string
  engine: AlertEngine
  link: MqttLink
  cmdTimeoutMs: number
  /** LINE_LINK_CODE_TTL_MS */
  linkCodeTtlMs: number
  now(): number
  /** Saves, writes history, sends: after every change. */
  commit(effects: Effects, maintenance?: MaintenanceRecord): Promise<void>
}

const Who = z.object({ by: z.string().min(1).max(64) })
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

export function apiHandler(deps: ApiDeps) {
  const { engine } = deps
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (!deps.token) throw new HttpError(503, 'technician API disabled: set ALERTS_API_TOKEN')
    const auth = req.headers.authorization ?? ''
    if (!auth.startsWith('Bearer ') || !safeEqual(auth.slice(7), deps.token)) throw new HttpError(401, 'bad or missing bearer token')
    const parts = url.pathname.slice(API_PREFIX.length).split('/').map(decodeSegment)
    const route = `${req.method ?? 'GET'} ${parts[0] ?? ''}${parts.length > 1 ? '/:id' : ''}${parts[2] ? `/${parts[2]}` : ''}`
    const id = parts[1] ?? ''
    const now = deps.now()
    switch (route) {
      case 'GET alerts': {
        const status = url.searchParams.get('status') ?? 'open'
        const farm = url.searchParams.get('farm')
        const pool = status === 'open' ? Object.values(engine.state.alerts) : status === 'resolved' ? engine.state.recent : [...Object.values(engine.state.alerts), ...engine.state.recent]
        return sendJson(res, 200, { alerts: pool.filter((a) => !farm || a.farm === farm).map(brief) })
      }
      case 'GET alerts/:id': {
        const alert = engine.find(id)
        if (!alert) throw new HttpError(404, 'no such alert')
        return sendJson(res, 200, { alert })
      }
      case 'POST alerts/:id/ack': {
        const body = await json(req, Who)
        const { change, effects } = engine.acknowledge(id, { by: body.by, via: 'api', atMs: now })
        if (!change.ok) throw new HttpError(change.alert ? 409 : 404, change.reason)
        await deps.commit(effects)
        return sendJson(res, 200, { alert: brief(change.alert) })
      }
      case 'POST alerts/:id/resolve': {
        const body = await json(req, ResolveBody)
        const { change, effects } = engine.resolve(id, { by: body.by, via: 'api', atMs: now }, body.note)
        if (!change.ok) throw new HttpError(change.alert ? 409 : 404, change.reason)
        const a = change.alert
        const record: MaintenanceRecord | undefined = body.note
          ? { farm: a.farm, device: a.device, type: 'repair', note: body.note, by: body.by, atMs: now, alertId: a.id }
          : undefined
        if (record) {
          const more = recordMaintenance(engine, record)
          effects.events.push(...more.events)
          effects.queued.push(...more.queued)
          effects.cancelled.push(...more.cancelled)
        }
        await deps.commit(effects, record)
        return sendJson(res, 200, { alert: brief(a) })
      }
      case 'POST maintenance': {
        const body = await json(req, MaintenanceBody)
        const track = engine.tracks[`${body.farm}/${body.device}`]
        const runS = track?.samples[track.samples.length - 1]?.p.run_s_total
        const record: MaintenanceRecord = { ...body, atMs: now, ...(typeof runS === 'number' ? { runS } : {}) }
        await deps.commit(recordMaintenance(engine, record), record)
        return sendJson(res, 201, { maintenance: record })
      }
      case 'POST commands': {
        const body = await json(req, CommandBody)
        const sent = await deps.link.send({ farm: body.farm, kind: 'pump', device: body.device }, body.cmd, body.by)
        const record = body.wait ? await deps.link.waitAck(sent.id, deps.cmdTimeoutMs) : sent
        return sendJson(res, record?.ack ? 200 : 202, { command: record })
      }
      case 'GET commands/:id': {
        const record = deps.link.get(id)
        if (!record) throw new HttpError(404, 'no such command')
        return sendJson(res, 200, { command: record })
      }
      case 'POST contacts/:id/link-code': {
        if (!engine.ctx().farms.everyContact().some((c) => c.contact.id === id)) throw new HttpError(404, 'no such contact')
        const code = issueLinkCode(engine.state, id, now, deps.linkCodeTtlMs)
        engine.markDirty()
        await deps.commit({ events: [], queued: [], cancelled: [] })
        return sendJson(res, 201, { contact: id, code: code.code, expiresAt: new Date(code.expiresMs).toISOString() })
      }
      case 'GET outbox': {
        const alertId = url.searchParams.get('alert')
        const items = Object.values(engine.state.outbox).filter((i) => !alertId || i.alertId === alertId)
        return sendJson(res, 200, { items: items.map(({ line: _line, ...rest }) => rest) })
      }
      default:
        throw new HttpError(404, `no route ${route}`)
    }
  }
}
