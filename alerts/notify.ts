/**
 * Turns lifecycle steps into outbox items: the first step's recipients on firing, the next
 * step's on escalation, everyone told on resolving (and nobody, when their card never left:
 * a problem that went away inside quiet hours or a late-data hold wakes no one). Reminders come
 * only by escalation (issue 6), never as a repeat.
 */
import type { Contact, Farms, FarmSettings } from './contacts.js'
import { renderAlert, type Rendered } from './messages.js'
import type { OutboxItem, Purpose } from './outbox.js'
import { type Available, channelFor, CONSOLE_CONTACT, deliverAfter, escalateAfterMs, escalationSteps } from './routing.js'
import type { EngineState } from './state.js'
import type { AlertRecord, Severity } from './types.js'

export interface NotifyContext {
  state: EngineState
  farms: Farms
  available: Available
  uuid(): string
}

export const lineIdOf = (state: EngineState, contact: Contact): string | undefined => state.links[contact.id] ?? contact.line

export interface MessageSpec {
  key: string
  farm: FarmSettings
  contact: Contact
  purpose: Purpose
  alertId?: string
  severity: Severity
  render(locale: Contact['locale']): Rendered
  nowMs: number
  notBeforeMs?: number
}

/** Queues one message unless its key was queued before (idempotent by key). */
export function queueMessage(ctx: NotifyContext, spec: MessageSpec): OutboxItem | undefined {
  if (ctx.state.outbox[spec.key]) return undefined
  const { channel, to } = channelFor(spec.contact, lineIdOf(ctx.state, spec.contact), ctx.available)
  const rendered = spec.render(spec.contact.locale)
  const item: OutboxItem = {
    key: spec.key,
    ...(spec.alertId ? { alertId: spec.alertId } : {}),
    farm: spec.farm.id,
    purpose: spec.purpose,
    contactId: spec.contact.id,
    channel,
    to,
    ...(channel === 'line' ? { line: rendered.line } : {}),
    sms: rendered.sms,
    retryKey: ctx.uuid(),
    status: 'queued',
    attempts: 0,
    notBeforeMs: Math.max(spec.notBeforeMs ?? 0, deliverAfter(spec.contact, spec.farm, spec.severity, spec.nowMs)),
    createdMs: spec.nowMs,
  }
  ctx.state.outbox[spec.key] = item
  return item
}

const alertKey = (alert: AlertRecord, purpose: Purpose, contactId: string) => `${alert.id}/${purpose}/${contactId}`

function alertSpec(ctx: NotifyContext, alert: AlertRecord, farm: FarmSettings, contact: Contact, purpose: Purpose, nowMs: number): MessageSpec {
  const deviceName = ctx.farms.deviceName(alert.farm, alert.device)
  // A resolve note is news, not an emergency: it waits out quiet hours whatever the severity.
  const severity = purpose === 'resolve' ? 'info' : alert.severity
  return {
    key: alertKey(alert, purpose, contact.id),
    farm,
    contact,
    purpose,
    alertId: alert.id,
    severity,
    render: (locale) => renderAlert({ alert, purpose, locale, farmName: farm.name, deviceName }),
    nowMs,
  }
}

/**
 * Notifies escalation step `step` (mutates the stored alert: notified, escalation). Contacts
 * already told are skipped; the next step is due escalateAfterMin after this step's messages go out.
 */
export function notifyStep(
  ctx: NotifyContext,
  alert: AlertRecord,
  step: number,
  purpose: Purpose,
  nowMs: number,
  holdUntilMs = 0,
): OutboxItem[] {
  const farm = ctx.farms.get(alert.farm)
  const steps = escalationSteps(farm, alert.audience)
  const queued: OutboxItem[] = []
  let deliveredFrom = Math.max(nowMs, holdUntilMs)
  for (const contact of steps[step] ?? []) {
    if (alert.notified.includes(contact.id)) continue
    const item = queueMessage(ctx, { ...alertSpec(ctx, alert, farm, contact, purpose, nowMs), notBeforeMs: holdUntilMs })
    alert.notified.push(contact.id)
    if (!item) continue
    queued.push(item)
    deliveredFrom = Math.max(deliveredFrom, item.notBeforeMs)
  }
  alert.escalation = step + 1 < steps.length ? { step, nextAtMs: deliveredFrom + escalateAfterMs(farm) } : { step }
  return queued
}

const CARD_PURPOSES: readonly Purpose[] = ['fire', 'escalate', 'flapping']

/** Resolve messages to everyone told; a card that never left is cancelled instead, and its recipient skipped. */
export function notifyResolve(ctx: NotifyContext, alert: AlertRecord, nowMs: number): { queued: OutboxItem[]; cancelled: OutboxItem[] } {
  const farm = ctx.farms.get(alert.farm)
  const queued: OutboxItem[] = []
  const cancelled: OutboxItem[] = []
  for (const contactId of alert.notified) {
    const cards = CARD_PURPOSES.map((p) => ctx.state.outbox[alertKey(alert, p, contactId)]).filter((i) => i !== undefined)
    const unsent = cards.filter((i) => i.status === 'queued' && i.attempts === 0)
    for (const item of unsent) {
      const done = { ...item, status: 'cancelled' as const, doneMs: nowMs }
      ctx.state.outbox[item.key] = done
      cancelled.push(done)
    }
    if (cards.length > 0 && unsent.length === cards.length) continue
    const contact = contactId === CONSOLE_CONTACT.id ? CONSOLE_CONTACT : farm.contacts.find((c) => c.id === contactId)
    if (!contact) continue
    const item = queueMessage(ctx, alertSpec(ctx, alert, farm, contact, 'resolve', nowMs))
    if (item) queued.push(item)
  }
  return { queued, cancelled }
}
