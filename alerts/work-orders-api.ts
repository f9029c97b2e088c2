/**
 * The work-order routes of the technician API (issue 17), under /alerts/api/ next to the alert
 * routes (api.ts hands these paths here):
 *   GET  work-orders?farm=F&status=active|open|assigned|closed|all   the orders of farms one may read
 *   GET  work-orders/:id                      the order and its visits
 *   POST work-orders {farm, device?, title, kind?, assignee?, by?}   open one without an alert
 *   POST work-orders/:id/assign {assignee, by?}
 *   POST work-orders/:id/visits {findings?, parts?: [{name, qty}], costThb?, note?, visitedAt?, by?}
 *   POST work-orders/:id/close {note?, runHours?, by?}   409 with the reason (Thai and English)
 *        while the alert's data still shows the fault or cannot tell
 *   GET  schedules?farm=F ; POST schedules {id, farm, device?, task, everyDays?, everyRunHours?, by?}
 * Access (registry/access.ts): reading needs `read` on the farm (farmers read their own farm's
 * orders), everything else `maintain` (technicians, leads, admins of the farm's cooperative). An
 * order of a farm one may not read is "not found" (404), whether or not it exists.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import { ID_PATTERN } from '../contracts/names.js'
import type { Principal } from '../registry/access.js'
import type { Actor, Failure, Registry, WorkOrder } from '../registry/index.js'
import { WORK_ORDER_KINDS, WORK_ORDER_STATUSES } from '../registry/repos/work-orders.js'
import type { Authenticator } from '../runtime/auth.js'
import { HttpError, readBody, sendJson } from '../runtime/http.js'
import type { AlertEngine } from './engine.js'
import { defaultAssignee, type WorkOrderDesk } from './work-orders.js'

export const WORK_ORDER_ROOTS: ReadonlySet<string> = new Set(['work-orders', 'schedules'])

export interface WorkOrderApiDeps {
  auth: Authenticator
  registry: Registry
  engine: AlertEngine
  desk: WorkOrderDesk
  now(): number
}

const Who = z.object({ by: z.string().min(1).max(64).optional() })
const FarmId = z.string().regex(ID_PATTERN)
const OpenBody = Who.extend({
  farm: FarmId,
  device: FarmId.optional(),
  title: z.string().trim().min(1).max(200),
  kind: z.enum(WORK_ORDER_KINDS).default('visit'),
  /** A person id; omitted: the ladder's first technician; null: nobody yet. */
  assignee: FarmId.nullable().optional(),
})
const AssignBody = Who.extend({ assignee: FarmId })
const VisitBody = Who.extend({
  visitedAt: z.string().optional(),
  findings: z.string().max(2000).optional(),
  parts: z.array(z.object({ name: z.string(), qty: z.number() })).max(50).optional(),
  costThb: z.number().nullable().optional(),
  note: z.string().max(2000).optional(),
})
const CloseBody = Who.extend({ note: z.string().max(2000).default(''), runHours: z.number().min(0).nullable().optional() })
const ScheduleBody = Who.extend({
  id: FarmId,
  farm: FarmId,
  device: FarmId.nullable().optional(),
  task: z.string(),
  everyDays: z.number().nullable().optional(),
  everyRunHours: z.number().nullable().optional(),
  lastDoneAt: z.string().nullable().optional(),
})

async function body<T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<z.output<T>> {
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

/** Who did it: a person is who they signed in as; the installation token names its `by` (`token:<by>`). */
function actorOf(principal: Principal, by: string | undefined): { by: string; actor: Actor } {
  if (principal.kind === 'person') return { by: principal.id, actor: { who: principal.id, how: 'api' } }
  if (!by) throw new HttpError(400, 'by: required with the installation token (who is acting, for the record)')
  return { by, actor: { who: `token:${by}`, how: 'api' } }
}

/** A registry refusal as the answer: 404 when the thing is missing, else 400, with each field's Thai and English. */
function sendRefusal(res: ServerResponse, failure: Failure): void {
  const status = failure.reason === 'not_found' ? 404 : failure.reason === 'exists' ? 409 : 400
  sendJson(res, status, { error: failure.issues.map((i) => `${i.field}: ${i.en}`).join('; '), reason: failure.reason, issues: failure.issues })
}

export function workOrderRoutes(deps: WorkOrderApiDeps) {
  const { auth, registry, desk } = deps
  const wo = registry.workOrders
  return async (req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal, parts: readonly string[]): Promise<void> => {
    const [root, id = '', sub = ''] = parts
    const method = req.method ?? 'GET'
    const route = `${method} ${root ?? ''}${parts.length > 1 ? '/:id' : ''}${sub ? `/${sub}` : ''}`
    /** The order, if the caller may read its farm (else 404), and may `maintain` it when asked. */
    const orderFor = async (maintain: boolean): Promise<WorkOrder> => {
      const order = await wo.get(id)
      if (!order || !auth.decide(principal, 'read', order.farmId).ok) throw new HttpError(404, 'no such work order')
      if (maintain) auth.assert(principal, 'maintain', order.farmId)
      return order
    }
    /** The farm must be one the caller may read (404) and maintain (403). */
    const maintainFarm = (farm: string) => {
      auth.assert(principal, 'read', farm)
      auth.assert(principal, 'maintain', farm)
    }
    switch (route) {
      case 'GET work-orders': {
        const farm = url.searchParams.get('farm')
        const status = url.searchParams.get('status') ?? 'active'
        if (status !== 'all' && status !== 'active' && !(WORK_ORDER_STATUSES as readonly string[]).includes(status)) throw new HttpError(400, 'status: active, open, assigned, closed or all')
        const readable = auth.farmIds(principal, 'read')
        const farmIds = farm ? readable.filter((f) => f === farm) : readable
        const orders = await wo.list({ farmIds, ...(status !== 'all' && { status: status as 'active' }) })
        return sendJson(res, 200, { workOrders: orders })
      }
      case 'GET work-orders/:id': {
        const order = await orderFor(false)
        return sendJson(res, 200, { workOrder: order, visits: await wo.visits(order.id) })
      }
      case 'POST work-orders': {
        const b = await body(req, OpenBody)
        maintainFarm(b.farm)
        const who = actorOf(principal, b.by)
        const assignee = b.assignee === undefined ? (defaultAssignee(deps.engine.ctx().farms.get(b.farm))?.id ?? null) : b.assignee
        const opened = await wo.open({ farmId: b.farm, deviceId: b.device ?? null, title: b.title, kind: b.kind, assigneeId: assignee }, who.actor)
        if (!opened.ok) return sendRefusal(res, opened)
        await desk.notify(opened.value)
        return sendJson(res, 201, { workOrder: opened.value })
      }
      case 'POST work-orders/:id/assign': {
        const b = await body(req, AssignBody)
        const order = await orderFor(true)
        const who = actorOf(principal, b.by)
        // The assignee must serve this farm (hold a role over it): the message must reach them.
        if (!deps.engine.ctx().farms.get(order.farmId).contacts.some((c) => c.id === b.assignee)) {
          return sendJson(res, 400, { error: `assignee: ${b.assignee} holds no role over farm ${order.farmId}`, issues: [{ field: 'assignee', th: `${b.assignee} ไม่ได้ดูแลสวนนี้`, en: `${b.assignee} holds no role over farm ${order.farmId}` }] })
        }
        const assigned = await wo.assign(order.id, b.assignee, who.actor)
        if (!assigned.ok) return sendRefusal(res, assigned)
        if (assigned.changed) await desk.notify(assigned.value)
        return sendJson(res, 200, { workOrder: assigned.value })
      }
      case 'POST work-orders/:id/visits': {
        const { by, ...visit } = await body(req, VisitBody)
        const order = await orderFor(true)
        const who = actorOf(principal, by)
        const logged = await wo.logVisit(order.id, visit, who.actor)
        if (!logged.ok) return sendRefusal(res, logged)
        return sendJson(res, 201, { visit: logged.value })
      }
      case 'POST work-orders/:id/close': {
        const b = await body(req, CloseBody)
        const order = await orderFor(true)
        const who = actorOf(principal, b.by)
        const closed = await desk.close(order, { note: b.note, runHours: b.runHours }, who)
        if (!closed.ok) {
          if (closed.reason === 'refused') return sendJson(res, 409, { error: closed.en, reason: closed.reason, th: closed.th, en: closed.en, issues: closed.issues })
          return sendJson(res, 409, { error: closed.en, reason: closed.reason, th: closed.th, en: closed.en })
        }
        return sendJson(res, 200, { workOrder: closed.order, ...(closed.resolved && { resolvedAlert: closed.resolved }) })
      }
      case 'GET schedules': {
        const farm = url.searchParams.get('farm')
        const readable = auth.farmIds(principal, 'read')
        return sendJson(res, 200, { schedules: await wo.schedules({ farmIds: farm ? readable.filter((f) => f === farm) : readable }) })
      }
      case 'POST schedules': {
        const b = await body(req, ScheduleBody)
        maintainFarm(b.farm)
        const who = actorOf(principal, b.by)
        const added = await wo.addSchedule(
          { id: b.id, farmId: b.farm, deviceId: b.device ?? null, task: b.task, everyDays: b.everyDays ?? null, everyRunHours: b.everyRunHours ?? null, lastDoneAt: b.lastDoneAt ?? null },
          who.actor,
        )
        if (!added.ok) return sendRefusal(res, added)
        return sendJson(res, 201, { schedule: added.value })
      }
      default:
        throw new HttpError(404, `no route ${route}`)
    }
  }
}
