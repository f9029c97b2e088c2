/**
 * Work orders, their visits, and maintenance schedules (issue 17: the loop from an alert to a
 * repaired pump). A work order is opened by an alert's incident (one per alert id: the column is
 * unique), by a person, or by a schedule that came due; it is assigned to a person, collects
 * visits (when, who, findings, parts, cost in THB, free text) and is closed. Each change is one
 * transaction with its audit row (`work-order:<id>`, `schedule:<id>`), as in every repository.
 *
 * What this does not decide: who may act (registry/access.ts, asked by the API) and whether an
 * alert's data allows a close (the alert engine's verdict, alerts/work-orders.ts). A refusal is a
 * value with field issues in Thai and English; nothing is written then.
 */
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { type Actor, checkActor, writeAudit } from '../audit.js'
import type { Queryable, Row, SqlValue } from '../db.js'
import { forUpdate, mutate, reader, type Scope } from '../entity.js'
import { issue, type Text } from '../messages.js'
import { done, invalid, refuse, type Result } from '../result.js'
import { bool, insertSql, json, num, str, text } from '../rows.js'
import { Id } from '../schemas.js'
import { mustExist } from './common.js'

export const WORK_ORDER_KINDS = ['repair', 'scheduled', 'visit'] as const
export type WorkOrderKind = (typeof WORK_ORDER_KINDS)[number]
export const WORK_ORDER_STATUSES = ['open', 'assigned', 'closed'] as const
export type WorkOrderStatus = (typeof WORK_ORDER_STATUSES)[number]

export interface WorkOrder {
  id: string
  farmId: string
  deviceId: string | null
  /** The incident that opened it (alerts' `AlertRecord.id`) and its `farm/device/rule` key. */
  alertId: string | null
  alertKey: string | null
  scheduleId: string | null
  title: string
  kind: WorkOrderKind
  status: WorkOrderStatus
  assigneeId: string | null
  openedBy: string
  openedAt: string
  assignedAt: string | null
  closedAt: string | null
  closedBy: string | null
  closeNote: string | null
  createdAt: string
  updatedAt: string
}

export interface Part {
  name: string
  qty: number
}

export interface Visit {
  id: number
  workOrderId: string
  visitedAt: string
  who: string
  findings: string
  parts: Part[]
  costThb: number | null
  note: string
  createdAt: string
}

export interface MaintenanceSchedule {
  id: string
  farmId: string
  deviceId: string | null
  task: string
  everyDays: number | null
  everyRunHours: number | null
  lastDoneAt: string | null
  lastRunHours: number | null
  enabled: boolean
  createdAt: string
  updatedAt: string
}

const FreeText = (max: number) => z.string().trim().max(max)
const Timestamp = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString())
const Task = z.string().regex(/^[a-z][a-z_]{1,31}$/)

export const OpenInput = z.strictObject({
  farmId: Id,
  deviceId: Id.nullable().default(null),
  alertId: z.string().min(1).max(160).nullable().default(null),
  alertKey: z.string().min(1).max(200).nullable().default(null),
  scheduleId: Id.nullable().default(null),
  title: FreeText(200).min(1),
  kind: z.enum(WORK_ORDER_KINDS).default('repair'),
  assigneeId: Id.nullable().default(null),
})

export const VisitInput = z.strictObject({
  visitedAt: Timestamp.optional(),
  findings: FreeText(2000).default(''),
  parts: z.array(z.strictObject({ name: FreeText(80).min(1), qty: z.number().positive().max(10_000) })).max(50).default([]),
  costThb: z.number().min(0).max(10_000_000).nullable().default(null),
  note: FreeText(2000).default(''),
})

export const CloseInput = z.strictObject({
  note: FreeText(2000).default(''),
  /** The pump's run-hour counter when the work was done (a schedule by pumped hours restarts from it). */
  runHours: z.number().min(0).nullable().default(null),
})

export const ScheduleInput = z
  .strictObject({
    id: Id,
    farmId: Id,
    deviceId: Id.nullable().default(null),
    task: Task,
    everyDays: z.number().positive().max(3650).nullable().default(null),
    everyRunHours: z.number().positive().max(100_000).nullable().default(null),
    lastDoneAt: Timestamp.nullable().default(null),
    lastRunHours: z.number().min(0).nullable().default(null),
    enabled: z.boolean().default(true),
  })
  .refine((s) => s.everyDays !== null || s.everyRunHours !== null, { path: ['everyDays'], message: 'everyDays or everyRunHours' })
  // Pumped hours are one pump's run-hour counter: a farm-wide schedule counts days only.
  .refine((s) => s.everyRunHours === null || s.deviceId !== null, { path: ['deviceId'], message: 'everyRunHours needs a device (the pump whose hours count)' })

const t = (th: string, en: string): Text => ({ th, en })
export const WORK_ORDER_TEXT = {
  notFound: t('ไม่พบใบสั่งงานนี้', 'no such work order'),
  closed: t('ใบสั่งงานนี้ปิดแล้ว', 'this work order is closed already'),
  scheduleNotFound: t('ไม่พบตารางบำรุงรักษานี้', 'no such maintenance schedule'),
  alertTaken: t('การแจ้งเตือนนี้มีใบสั่งงานแล้ว', 'this alert has a work order already'),
} as const

const orderFromRow = (r: Row): WorkOrder => ({
  id: str(r.id),
  farmId: str(r.farm_id),
  deviceId: text(r.device_id),
  alertId: text(r.alert_id),
  alertKey: text(r.alert_key),
  scheduleId: text(r.schedule_id),
  title: str(r.title),
  kind: str(r.kind) as WorkOrderKind,
  status: str(r.status) as WorkOrderStatus,
  assigneeId: text(r.assignee_id),
  openedBy: str(r.opened_by),
  openedAt: str(r.opened_at),
  assignedAt: text(r.assigned_at),
  closedAt: text(r.closed_at),
  closedBy: text(r.closed_by),
  closeNote: text(r.close_note),
  createdAt: str(r.created_at),
  updatedAt: str(r.updated_at),
})

const visitFromRow = (r: Row): Visit => ({
  id: num(r.id) ?? 0,
  workOrderId: str(r.work_order_id),
  visitedAt: str(r.visited_at),
  who: str(r.who),
  findings: str(r.findings),
  parts: json<Part[]>(r.parts),
  costThb: num(r.cost_thb),
  note: str(r.note),
  createdAt: str(r.created_at),
})

const scheduleFromRow = (r: Row): MaintenanceSchedule => ({
  id: str(r.id),
  farmId: str(r.farm_id),
  deviceId: text(r.device_id),
  task: str(r.task),
  everyDays: num(r.every_days),
  everyRunHours: num(r.every_run_hours),
  lastDoneAt: text(r.last_done_at),
  lastRunHours: num(r.last_run_hours),
  enabled: bool(r.enabled),
  createdAt: str(r.created_at),
  updatedAt: str(r.updated_at),
})

/** `wo-` and 12 characters: time (sortable) then randomness. */
export const newWorkOrderId = (nowMs: number): string => `wo-${nowMs.toString(36)}-${randomBytes(2).toString('hex')}`

const notFound = (field = 'id') => refuse('not_found', [issue(field, WORK_ORDER_TEXT.notFound)])

export interface WorkOrderFilter {
  farmIds?: readonly string[]
  status?: WorkOrderStatus | 'active'
  assigneeId?: string
  limit?: number
}

export class WorkOrders {
  constructor(private readonly scope: Scope) {}

  private iso(): string {
    return new Date(this.scope.now()).toISOString()
  }

  private async load(q: Queryable, id: string, lock = false): Promise<WorkOrder | undefined> {
    const row = await q.get<Row>(`SELECT * FROM work_orders WHERE id = $1${lock ? forUpdate(q) : ''}`, [id])
    return row && orderFromRow(row)
  }

  async get(id: string): Promise<WorkOrder | undefined> {
    return this.load(reader(this.scope), id)
  }

  /** The work order an alert's incident opened, if any. */
  async forAlert(alertId: string): Promise<WorkOrder | undefined> {
    const row = await reader(this.scope).get<Row>('SELECT * FROM work_orders WHERE alert_id = $1', [alertId])
    return row && orderFromRow(row)
  }

  /** A work order not closed yet for the same farm/device/rule: a fault that fires again joins it. */
  async activeForKey(alertKey: string): Promise<WorkOrder | undefined> {
    const row = await reader(this.scope).get<Row>("SELECT * FROM work_orders WHERE alert_key = $1 AND status <> 'closed' ORDER BY opened_at DESC LIMIT 1", [alertKey])
    return row && orderFromRow(row)
  }

  /** Newest first. `status: 'active'`: open or assigned. `farmIds` limits it (an empty list: none). */
  async list(filter: WorkOrderFilter = {}): Promise<WorkOrder[]> {
    if (filter.farmIds?.length === 0) return []
    const where: string[] = []
    const params: SqlValue[] = []
    if (filter.farmIds) where.push(`farm_id IN (${filter.farmIds.map((f) => `$${params.push(f)}`).join(', ')})`)
    if (filter.status === 'active') where.push("status <> 'closed'")
    else if (filter.status) where.push(`status = $${params.push(filter.status)}`)
    if (filter.assigneeId) where.push(`assignee_id = $${params.push(filter.assigneeId)}`)
    const rows = await reader(this.scope).all<Row>(
      `SELECT * FROM work_orders${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC, id DESC LIMIT $${params.push(filter.limit ?? 500)}`,
      params,
    )
    return rows.map(orderFromRow)
  }

  async visits(workOrderId: string): Promise<Visit[]> {
    const rows = await reader(this.scope).all<Row>('SELECT * FROM work_order_visits WHERE work_order_id = $1 ORDER BY visited_at, id', [workOrderId])
    return rows.map(visitFromRow)
  }

  /** Opens a work order (status `assigned` when an assignee is given). */
  async open(input: unknown, actor: Actor, options: { id?: string } = {}): Promise<Result<WorkOrder>> {
    checkActor(actor)
    const parsed = OpenInput.safeParse(input, { reportInput: true })
    if (!parsed.success) return invalid(parsed.error)
    const o = parsed.data
    const id = options.id ?? newWorkOrderId(this.scope.now())
    return mutate(this.scope, async (q) => {
      const problems = [
        ...(await mustExist(q, 'farmId', 'farm', o.farmId)),
        ...(await mustExist(q, 'assigneeId', 'person', o.assigneeId)),
      ]
      if (o.scheduleId !== null && !(await q.get('SELECT 1 AS x FROM maintenance_schedules WHERE id = $1', [o.scheduleId]))) problems.push(issue('scheduleId', WORK_ORDER_TEXT.scheduleNotFound))
      if (problems.length > 0) return refuse('invalid', problems)
      if (o.alertId !== null && (await q.get('SELECT 1 AS x FROM work_orders WHERE alert_id = $1', [o.alertId]))) return refuse('exists', [issue('alertId', WORK_ORDER_TEXT.alertTaken)])
      const now = this.iso()
      const { sql, params } = insertSql('work_orders', {
        id,
        farm_id: o.farmId,
        device_id: o.deviceId,
        alert_id: o.alertId,
        alert_key: o.alertKey,
        schedule_id: o.scheduleId,
        title: o.title,
        kind: o.kind,
        status: o.assigneeId === null ? 'open' : 'assigned',
        assignee_id: o.assigneeId,
        opened_by: actor.who,
        opened_at: now,
        assigned_at: o.assigneeId === null ? null : now,
        created_at: now,
        updated_at: now,
      })
      await q.run(sql, params)
      const stored = (await this.load(q, id)) as WorkOrder
      await writeAudit(q, this.scope.now(), actor, 'work-order.open', `work-order:${id}`, { after: stored })
      return done(stored)
    })
  }

  async assign(id: string, personId: string, actor: Actor): Promise<Result<WorkOrder>> {
    checkActor(actor)
    const person = Id.safeParse(personId)
    if (!person.success) return invalid(person.error)
    return mutate(this.scope, async (q) => {
      const current = await this.load(q, id, true)
      if (!current) return notFound()
      if (current.status === 'closed') return refuse('invalid', [issue('status', WORK_ORDER_TEXT.closed)])
      const problems = await mustExist(q, 'assigneeId', 'person', personId)
      if (problems.length > 0) return refuse('invalid', problems)
      if (current.assigneeId === personId) return done(current, false)
      const now = this.iso()
      await q.run("UPDATE work_orders SET assignee_id = $1, status = 'assigned', assigned_at = $2, updated_at = $2 WHERE id = $3", [personId, now, id])
      await writeAudit(q, this.scope.now(), actor, 'work-order.assign', `work-order:${id}`, { changes: { assigneeId: [current.assigneeId, personId] } })
      return done((await this.load(q, id)) as WorkOrder)
    })
  }

  /** A visit on an order not closed yet; `who` is the actor. */
  async logVisit(id: string, input: unknown, actor: Actor): Promise<Result<Visit>> {
    checkActor(actor)
    const parsed = VisitInput.safeParse(input, { reportInput: true })
    if (!parsed.success) return invalid(parsed.error)
    const v = parsed.data
    return mutate(this.scope, async (q) => {
      const current = await this.load(q, id, true)
      if (!current) return notFound()
      if (current.status === 'closed') return refuse('invalid', [issue('status', WORK_ORDER_TEXT.closed)])
      const now = this.iso()
      const { sql, params } = insertSql('work_order_visits', {
        work_order_id: id,
        visited_at: v.visitedAt ?? now,
        who: actor.who,
        findings: v.findings,
        parts: JSON.stringify(v.parts),
        cost_thb: v.costThb,
        note: v.note,
        created_at: now,
      })
      await q.run(sql, params)
      await q.run('UPDATE work_orders SET updated_at = $1 WHERE id = $2', [now, id])
      const row = await q.get<Row>('SELECT * FROM work_order_visits WHERE work_order_id = $1 ORDER BY id DESC LIMIT 1', [id])
      const visit = visitFromRow(row as Row)
      await writeAudit(q, this.scope.now(), actor, 'work-order.visit', `work-order:${id}`, { visit: { ...visit, id: undefined } })
      return done(visit)
    })
  }

  /**
   * Closes the order. Whether the data allows it (an alert's) is the caller's decision, made
   * before. A scheduled order's schedule counts as done now (and from `runHours`, when given).
   */
  async close(id: string, input: unknown, actor: Actor): Promise<Result<WorkOrder>> {
    checkActor(actor)
    const parsed = CloseInput.safeParse(input, { reportInput: true })
    if (!parsed.success) return invalid(parsed.error)
    const c = parsed.data
    return mutate(this.scope, async (q) => {
      const current = await this.load(q, id, true)
      if (!current) return notFound()
      if (current.status === 'closed') return refuse('invalid', [issue('status', WORK_ORDER_TEXT.closed)])
      const now = this.iso()
      await q.run("UPDATE work_orders SET status = 'closed', closed_at = $1, closed_by = $2, close_note = $3, updated_at = $1 WHERE id = $4", [now, actor.who, c.note, id])
      await writeAudit(q, this.scope.now(), actor, 'work-order.close', `work-order:${id}`, { note: c.note, alertId: current.alertId })
      if (current.scheduleId !== null) {
        await q.run('UPDATE maintenance_schedules SET last_done_at = $1, last_run_hours = COALESCE($2, last_run_hours), updated_at = $1 WHERE id = $3', [now, c.runHours, current.scheduleId])
        await writeAudit(q, this.scope.now(), actor, 'schedule.done', `schedule:${current.scheduleId}`, { workOrderId: id, runHours: c.runHours })
      }
      return done((await this.load(q, id)) as WorkOrder)
    })
  }

  // Maintenance schedules.

  async schedule(id: string): Promise<MaintenanceSchedule | undefined> {
    const row = await reader(this.scope).get<Row>('SELECT * FROM maintenance_schedules WHERE id = $1', [id])
    return row && scheduleFromRow(row)
  }

  async schedules(filter: { farmIds?: readonly string[] } = {}): Promise<MaintenanceSchedule[]> {
    if (filter.farmIds?.length === 0) return []
    const params: SqlValue[] = [...(filter.farmIds ?? [])]
    const where = filter.farmIds ? ` WHERE farm_id IN (${params.map((_, i) => `$${i + 1}`).join(', ')})` : ''
    const rows = await reader(this.scope).all<Row>(`SELECT * FROM maintenance_schedules${where} ORDER BY farm_id, id`, params)
    return rows.map(scheduleFromRow)
  }

  async addSchedule(input: unknown, actor: Actor): Promise<Result<MaintenanceSchedule>> {
    checkActor(actor)
    const parsed = ScheduleInput.safeParse(input, { reportInput: true })
    if (!parsed.success) return invalid(parsed.error)
    const s = parsed.data
    return mutate(this.scope, async (q) => {
      if (await q.get('SELECT 1 AS x FROM maintenance_schedules WHERE id = $1', [s.id])) return refuse('exists', [issue('id', { th: `มีตารางบำรุงรักษา "${s.id}" แล้ว`, en: `schedule "${s.id}" exists already` })])
      const problems = await mustExist(q, 'farmId', 'farm', s.farmId)
      if (problems.length > 0) return refuse('invalid', problems)
      const now = this.iso()
      const { sql, params } = insertSql('maintenance_schedules', {
        id: s.id,
        farm_id: s.farmId,
        device_id: s.deviceId,
        task: s.task,
        every_days: s.everyDays,
        every_run_hours: s.everyRunHours,
        last_done_at: s.lastDoneAt,
        last_run_hours: s.lastRunHours,
        enabled: s.enabled,
        created_at: now,
        updated_at: now,
      })
      await q.run(sql, params)
      const stored = scheduleFromRow((await q.get<Row>('SELECT * FROM maintenance_schedules WHERE id = $1', [s.id])) as Row)
      await writeAudit(q, this.scope.now(), actor, 'schedule.add', `schedule:${s.id}`, { after: stored })
      return done(stored)
    })
  }

  /** The pump's run hours at which a schedule by pumped hours starts counting (its first sighting). */
  async setScheduleBaseline(id: string, runHours: number, actor: Actor): Promise<Result<MaintenanceSchedule>> {
    checkActor(actor)
    return mutate(this.scope, async (q) => {
      const row = await q.get<Row>(`SELECT * FROM maintenance_schedules WHERE id = $1${forUpdate(q)}`, [id])
      if (!row) return refuse('not_found', [issue('id', WORK_ORDER_TEXT.scheduleNotFound)])
      const now = this.iso()
      await q.run('UPDATE maintenance_schedules SET last_run_hours = $1, updated_at = $2 WHERE id = $3', [runHours, now, id])
      await writeAudit(q, this.scope.now(), actor, 'schedule.baseline', `schedule:${id}`, { runHours })
      return done(scheduleFromRow((await q.get<Row>('SELECT * FROM maintenance_schedules WHERE id = $1', [id])) as Row))
    })
  }

  async removeSchedule(id: string, actor: Actor): Promise<Result<MaintenanceSchedule>> {
    checkActor(actor)
    return mutate(this.scope, async (q) => {
      const row = await q.get<Row>(`SELECT * FROM maintenance_schedules WHERE id = $1${forUpdate(q)}`, [id])
      if (!row) return refuse('not_found', [issue('id', WORK_ORDER_TEXT.scheduleNotFound)])
      await q.run('DELETE FROM maintenance_schedules WHERE id = $1', [id])
      const before = scheduleFromRow(row)
      await writeAudit(q, this.scope.now(), actor, 'schedule.remove', `schedule:${id}`, { before })
      return done(before)
    })
  }
}
