/**
 * Queues the scheduled notices: the daily digest (LINE only: an SMS digest would cost every
 * farmer every day) and maintenance reminders, to the first rung of each farm's ladder (a
 * training farm's trainers). Keys make a repeated run of the same schedule send nothing new.
 */
import { bangkok } from './clock.js'
import type { AlertEngine, Effects } from './engine.js'
import { digestText, dueReminders } from './digest.js'
import { renderText } from './messages.js'
import { lineIdOf, queueMessage } from './notify.js'
import { channelFor, escalationSteps } from './routing.js'
import type { MaintenanceRecord } from './state.js'

const farmsWithDevices = (engine: AlertEngine) => [...new Set(Object.values(engine.tracks).map((t) => t.farm))].sort()

export function queueDigests(engine: AlertEngine, nowMs: number): Effects {
  const ctx = engine.ctx()
  const effects: Effects = { events: [], queued: [], cancelled: [] }
  const day = bangkok(nowMs).day
  for (const id of farmsWithDevices(engine)) {
    const farm = ctx.farms.get(id)
    for (const contact of escalationSteps(farm, 'farmer')[0] ?? []) {
      if (channelFor(contact, lineIdOf(ctx.state, contact), ctx.available).channel === 'sms') continue
      const text = digestText(farm, ctx.farms, engine.tracks, ctx.state, nowMs, contact.locale)
      if (!text) continue
      const item = queueMessage(ctx, {
        key: `digest:${id}:${day}/digest/${contact.id}`,
        farm,
        contact,
        purpose: 'digest',
        severity: 'info',
        render: () => renderText(text),
        nowMs,
      })
      if (item) effects.queued.push(item)
    }
  }
  if (effects.queued.length > 0) engine.markDirty()
  return effects
}

export function queueReminders(engine: AlertEngine, nowMs: number): Effects {
  const ctx = engine.ctx()
  const effects: Effects = { events: [], queued: [], cancelled: [] }
  for (const id of farmsWithDevices(engine)) {
    const farm = ctx.farms.get(id)
    for (const reminder of dueReminders(farm, ctx.farms, engine.tracks, ctx.state, nowMs)) {
      for (const contact of escalationSteps(farm, 'farmer')[0] ?? []) {
        const item = queueMessage(ctx, {
          key: `${reminder.key}/reminder/${contact.id}`,
          farm,
          contact,
          purpose: 'reminder',
          severity: 'info',
          render: (locale) => renderText(reminder.text[locale]),
          nowMs,
        })
        if (item) effects.queued.push(item)
      }
    }
  }
  if (effects.queued.length > 0) engine.markDirty()
  return effects
}

/**
 * Records maintenance: the latest per device and type restarts its reminder cycle, and the
 * device's references it changes are learned again (engine.maintenance: their open alerts resolve).
 */
export function recordMaintenance(engine: AlertEngine, record: MaintenanceRecord): Effects {
  return engine.maintenance(record)
}
