/**
 * Work orders in the alert service (issue 17): from an alert to a repaired pump. The records
 * live in the registry (registry/repos/work-orders.ts, audited); this is what ties them to the
 * engine:
 * - an alert that fires opens one work order for its incident (one per alert id; a fault that
 *   fires again while its order is still open joins that order), assigned to the ladder's first
 *   technician (a training farm: its first trainer), who is told through the outbox;
 * - closing an order with an alert asks the data first (`closeCheck`): the alert's rule on the
 *   device's latest reading must say clear, and then the close resolves the alert (with a repair
 *   record, as a resolve with a note does). Active: refused, the data still shows the fault.
 *   Cannot tell (night, a stopped pump, no recent reading): refused, with what it waits for. A
 *   long-term rule (efficiency, judged against a learned reference) is ended by the logged repair
 *   itself, as `POST maintenance` does: a visit must have been logged;
 * - maintenance schedules that came due open their orders (`dueSchedules`, pure): every N days
 *   since last done, or every N pumped hours from the pump's run-hour counter (`run_s_total` of
 *   its latest reading in memory; the first sighting is the baseline).
 */
import type { Logger } from '../runtime/logger.js'
import type { Actor as RegistryActor, MaintenanceSchedule, Registry, WorkOrder } from '../registry/index.js'
import { WORK_ORDER_TEXT } from '../registry/repos/work-orders.js'
import { type Contact, type FarmSettings, rolesOf } from './contacts.js'
import type { AlertEngine, Effects } from './engine.js'
import { renderText } from './messages.js'
import { queueMessage } from './notify.js'
import { recordMaintenance } from './notices.js'
import { trainingRecipient } from './routing.js'
import type { MaintenanceRecord } from './state.js'
import { RULE_TEXT } from './texts.js'
import type { AlertEvent, AlertRecord } from './types.js'

const SYSTEM: RegistryActor = { who: 'system', how: 'system' }
const DAY_MS = 86_400_000

const none = (): Effects => ({ events: [], queued: [], cancelled: [] })

/** Task names as people know them; any other task is shown as written. */
export const TASK_TEXT: Record<string, { th: string; en: string }> = {
  panel_cleaning: { th: 'ล้างแผงโซลาร์', en: 'Clean the solar panels' },
  filter: { th: 'ล้างไส้กรองและตะแกรงหัวดูด', en: 'Clean the filter and intake screen' },
  inspection: { th: 'ตรวจสภาพระบบ', en: 'Inspect the system' },
}

/**
 * Who gets a new order: the first technician on the farm's ladder (contacts in ladder order); on
 * a training farm, its first trainer (a technician is never told about a workshop's fault).
 */
export function defaultAssignee(farm: FarmSettings): Contact | undefined {
  if (farm.training) return farm.contacts.find(trainingRecipient)
  return farm.contacts.find((c) => rolesOf(c).includes('technician'))
}

export type CloseCheck =
  | { ok: true; alert?: AlertRecord; byRepair?: boolean }
  | { ok: false; reason: 'still_faulty' | 'cannot_tell' | 'no_visit'; th: string; en: string }

/** Whether the data lets this order close, and which open alert the close resolves. Pure over the engine's state. */
export function closeCheck(engine: AlertEngine, order: WorkOrder, visits: number, nowMs: number): CloseCheck {
  if (order.alertId === null) return { ok: true }
  const byId = engine.find(order.alertId)
  const open = (order.alertKey !== null ? engine.state.alerts[order.alertKey] : undefined) ?? (byId?.status === 'resolved' ? undefined : byId)
  if (!open) return { ok: true } // resolved by the data already (or by someone else)
  const title = { th: RULE_TEXT.th[open.rule].title, en: RULE_TEXT.en[open.rule].title }
  if (open.status === 'pending') {
    return { ok: false, reason: 'still_faulty', th: `ข้อมูลยังแสดงว่ามีปัญหา: ${title.th} (เพิ่งเกิดอีกครั้ง)`, en: `the data still shows the fault: ${title.en} (seen again just now)` }
  }
  const rule = engine.rulesFor(open.farm, open.device).find((r) => r.id === open.rule)
  if (rule?.reference !== undefined) {
    // A long-term rule needs days of evidence: the logged repair ends it and re-learns (references.ts).
    if (visits > 0) return { ok: true, alert: open, byRepair: true }
    return { ok: false, reason: 'no_visit', th: 'บันทึกการเข้าซ่อมก่อนปิดใบสั่งงาน (ปัญหานี้ดูจากน้ำที่ได้หลายวัน)', en: 'log the repair visit first: this fault is judged on days of pumping, the logged repair ends it' }
  }
  const says = open.clearSinceMs !== undefined ? 'clear' : engine.dataSays(open, nowMs)
  if (says === 'clear') return { ok: true, alert: open }
  if (says === 'active') {
    return { ok: false, reason: 'still_faulty', th: `ข้อมูลยังแสดงว่ามีปัญหา: ${title.th}`, en: `the data still shows the fault: ${title.en}` }
  }
  return {
    ok: false,
    reason: 'cannot_tell',
    th: `ข้อมูลยังบอกไม่ได้ว่าหายแล้ว (${title.th}): รอให้อุปกรณ์ส่งค่าที่แสดงว่าปกติ เช่น ปั๊มทำงานตอนมีแดด`,
    en: `the data cannot tell yet that it is fixed (${title.en}): wait for a reading that shows it working, e.g. the pump running in sun`,
  }
}

/** The pump's run-hour counter from its latest reading in memory, if it reports one. */
export function runHoursOf(engine: AlertEngine, farm: string, device: string | null): number | undefined {
  if (device === null) return undefined
  const track = engine.tracks[`${farm}/${device}`]
  const runS = track?.samples[track.samples.length - 1]?.p.run_s_total
  return typeof runS === 'number' ? runS / 3600 : undefined
}

export type ScheduleDue = { schedule: MaintenanceSchedule; why: 'days' | 'run_hours'; detail: string } | { schedule: MaintenanceSchedule; baseline: number }

/**
 * Schedules that are due now (pure): days since last done (or since the schedule was made), or
 * pumped hours since the last done's counter. A schedule by pumped hours whose pump has never
 * been seen cannot be due; one without a baseline gets the current counter as its baseline.
 */
export function dueSchedules(schedules: readonly MaintenanceSchedule[], runHours: (s: MaintenanceSchedule) => number | undefined, nowMs: number): ScheduleDue[] {
  const out: ScheduleDue[] = []
  for (const s of schedules) {
    if (!s.enabled) continue
    const since = Date.parse(s.lastDoneAt ?? s.createdAt)
    if (s.everyDays !== null && nowMs - since >= s.everyDays * DAY_MS) {
      out.push({ schedule: s, why: 'days', detail: `${Math.floor((nowMs - since) / DAY_MS)} วัน` })
      continue
    }
    if (s.everyRunHours === null) continue
    const hours = runHours(s)
    if (hours === undefined) continue
    if (s.lastRunHours === null) out.push({ schedule: s, baseline: hours })
    else if (hours - s.lastRunHours >= s.everyRunHours) out.push({ schedule: s, why: 'run_hours', detail: `${Math.round(hours - s.lastRunHours)} ชั่วโมงที่ปั๊มทำงาน` })
  }
  return out
}

export interface DeskOptions {
  registry: Registry
  engine: AlertEngine
  log: Logger
  now(): number
  /** The service's commit: saves the state and sends what was queued. */
  commit(effects: Effects, maintenance?: MaintenanceRecord): Promise<void>
}

export class WorkOrderDesk {
  /** Alert ids known to have their order: no query per sweep for them. */
  private readonly known = new Set<string>()

  constructor(private readonly opts: DeskOptions) {}

  private farm(id: string): FarmSettings {
    return this.opts.engine.ctx().farms.get(id)
  }

  /** Tells the assignee (if they are a contact of the farm), through the outbox. */
  tell(order: WorkOrder, nowMs: number, severity: AlertRecord['severity'] = 'info'): Effects {
    const effects = none()
    if (order.assigneeId === null) return effects
    const farm = this.farm(order.farmId)
    const contact = farm.contacts.find((c) => c.id === order.assigneeId)
    if (!contact) return effects
    const ctx = this.opts.engine.ctx()
    const device = order.deviceId === null ? '' : ctx.farms.deviceName(order.farmId, order.deviceId)
    const item = queueMessage(ctx, {
      key: `${order.id}/work-order/${contact.id}`,
      farm,
      contact,
      purpose: 'work-order',
      ...(order.alertId !== null && { alertId: order.alertId }),
      severity,
      render: (locale) =>
        renderText(
          locale === 'th'
            ? `🔧 ใบสั่งงาน ${order.id} มอบหมายให้คุณ\n${order.title}\nสวน: ${farm.name}${device ? `\nอุปกรณ์: ${device}` : ''}\nบันทึกการเข้าซ่อมและปิดงานได้ที่หน้าคอนโซล หรือ suanyang workorder`
            : `🔧 Work order ${order.id} is assigned to you\n${order.title}\nFarm: ${farm.name}${device ? `\nDevice: ${device}` : ''}\nLog the visit and close it on the console or with suanyang workorder`,
        ),
      nowMs,
    })
    if (item) {
      this.opts.engine.markDirty()
      effects.queued.push(item)
    }
    return effects
  }

  /** Tells the order's assignee now and sends it. */
  async notify(order: WorkOrder): Promise<void> {
    await this.opts.commit(this.tell(order, this.opts.now()))
  }

  /** Opens the incident's order unless it has one (or its fault's earlier order is still open). */
  async forAlert(alert: AlertRecord, nowMs: number): Promise<WorkOrder | undefined> {
    if (this.known.has(alert.id)) return undefined
    const wo = this.opts.registry.workOrders
    const existing = (await wo.forAlert(alert.id)) ?? (await wo.activeForKey(alert.key))
    if (existing) {
      this.known.add(alert.id)
      return undefined
    }
    if (!(await this.opts.registry.farms.get(alert.farm))) return undefined // a farm the registry does not know: no order can point at it
    const farm = this.farm(alert.farm)
    const assignee = defaultAssignee(farm)
    const device = this.opts.engine.ctx().farms.deviceName(alert.farm, alert.device)
    const opened = await wo.open(
      { farmId: alert.farm, deviceId: alert.device, alertId: alert.id, alertKey: alert.key, title: `${RULE_TEXT.th[alert.rule].title} (${device})`, kind: 'repair', assigneeId: assignee?.id ?? null },
      SYSTEM,
    )
    if (!opened.ok) {
      // Another process or a retry got there first: that order stands.
      if (opened.reason !== 'exists') this.opts.log.warn({ alert: alert.id, issues: opened.issues }, 'work order not opened for the alert')
      else this.known.add(alert.id)
      return undefined
    }
    this.known.add(alert.id)
    this.opts.log.info({ workOrder: opened.value.id, alert: alert.id, assignee: assignee?.id }, 'work order opened for the alert')
    await this.opts.commit(this.tell(opened.value, nowMs, alert.severity))
    return opened.value
  }

  /** After the service's commit: every alert that fired gets its order. */
  async afterEvents(events: readonly AlertEvent[]): Promise<void> {
    for (const e of events) {
      if (e.type !== 'fire') continue
      try {
        await this.forAlert(e.alert, this.opts.now())
      } catch (err) {
        this.opts.log.error({ err, alert: e.alert.id }, 'work order not opened for the alert: the next round tries again')
      }
    }
  }

  /**
   * The periodic round: open alerts that have no order yet (a registry that was down, a restart)
   * get one, and schedules that came due open theirs.
   */
  async round(): Promise<void> {
    const nowMs = this.opts.now()
    const open = new Set(Object.values(this.opts.engine.state.alerts).map((a) => a.id))
    for (const id of this.known) if (!open.has(id)) this.known.delete(id)
    for (const alert of Object.values(this.opts.engine.state.alerts)) {
      if (alert.status === 'firing' || alert.status === 'acknowledged') await this.forAlert(alert, nowMs)
    }
    await this.openDue(nowMs)
  }

  /** Opens the order of each due schedule that has none open. */
  async openDue(nowMs: number): Promise<WorkOrder[]> {
    const wo = this.opts.registry.workOrders
    const schedules = await wo.schedules()
    const active = new Set((await wo.list({ status: 'active', limit: 10_000 })).map((o) => o.scheduleId).filter((id) => id !== null))
    const due = dueSchedules(schedules.filter((s) => !active.has(s.id)), (s) => runHoursOf(this.opts.engine, s.farmId, s.deviceId), nowMs)
    const opened: WorkOrder[] = []
    for (const d of due) {
      const s = d.schedule
      if ('baseline' in d) {
        await wo.setScheduleBaseline(s.id, d.baseline, SYSTEM)
        continue
      }
      const farm = this.farm(s.farmId)
      const task = TASK_TEXT[s.task]?.th ?? s.task
      const device = s.deviceId === null ? '' : ` (${this.opts.engine.ctx().farms.deviceName(s.farmId, s.deviceId)})`
      const r = await wo.open(
        { farmId: s.farmId, deviceId: s.deviceId, scheduleId: s.id, title: `${task}${device}: ครบกำหนด ${d.detail}`, kind: 'scheduled', assigneeId: defaultAssignee(farm)?.id ?? null },
        SYSTEM,
      )
      if (!r.ok) {
        this.opts.log.warn({ schedule: s.id, issues: r.issues }, 'scheduled work order not opened')
        continue
      }
      this.opts.log.info({ workOrder: r.value.id, schedule: s.id, why: d.why }, 'scheduled work order opened')
      opened.push(r.value)
      await this.opts.commit(this.tell(r.value, nowMs))
    }
    return opened
  }

  /**
   * Closes an order the caller may close: refused with the reason while its alert's data still
   * shows the fault (or cannot tell); else closed, and its open alert resolved by this person.
   */
  async close(order: WorkOrder, input: { note: string; runHours?: number | null | undefined }, who: { by: string; actor: RegistryActor }): Promise<{ ok: true; order: WorkOrder; resolved?: string } | Exclude<CloseCheck, { ok: true }> | { ok: false; reason: 'closed'; th: string; en: string } | { ok: false; reason: 'refused'; th: string; en: string; issues: unknown[] }> {
    const { engine, registry } = this.opts
    const nowMs = this.opts.now()
    if (order.status === 'closed') return { ok: false, reason: 'closed', ...WORK_ORDER_TEXT.closed }
    const visits = (await registry.workOrders.visits(order.id)).length
    const check = closeCheck(engine, order, visits, nowMs)
    if (!check.ok) return check
    const runHours = input.runHours ?? runHoursOf(engine, order.farmId, order.deviceId) ?? null
    const closed = await registry.workOrders.close(order.id, { note: input.note, runHours }, who.actor)
    if (!closed.ok) return { ok: false, reason: 'refused', th: closed.issues.map((i) => i.th).join('; '), en: closed.issues.map((i) => i.en).join('; '), issues: closed.issues }
    if (!check.alert) return { ok: true, order: closed.value }
    const note = `ใบสั่งงาน ${order.id}${input.note ? `: ${input.note}` : ''}`
    const { change, effects } = engine.resolve(check.alert.id, { by: who.by, via: 'api', atMs: nowMs }, note)
    if (!change.ok) return { ok: true, order: closed.value }
    const a = change.alert
    const record: MaintenanceRecord = { farm: a.farm, device: a.device, type: 'repair', note, by: who.by, atMs: nowMs, alertId: a.id }
    const more = recordMaintenance(engine, record)
    effects.events.push(...more.events)
    effects.queued.push(...more.queued)
    effects.cancelled.push(...more.cancelled)
    await this.opts.commit(effects, record)
    await registry.audit
      .record(who.actor, 'alert.resolve', `alert:${a.id}`, { farm: a.farm, device: a.device, rule: a.rule, workOrder: order.id, byRepair: check.byRepair === true })
      .catch((err: unknown) => this.opts.log.error({ err, alert: a.id }, 'audit row not written: the resolve stands'))
    return { ok: true, order: closed.value, resolved: a.id }
  }
}
