/**
 * LINE webhook (notifications.md 1.8-1.10): the signature is HMAC-SHA256 of the raw body with the
 * channel secret; events already seen (same webhookEventId: a redelivery) are skipped; a postback
 * acknowledges an alert if the LINE user is a contact of its farm; a follow is greeted and a
 * 6-digit one-time code typed in the chat links the LINE user to a contact. Replies are free.
 * `handleEvents` is pure over the engine; the HTTP shell lives in service wiring.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import type { Contact, Farms, Locale } from './contacts.js'
import type { AlertEngine, Effects } from './engine.js'
import { parsePostback } from './messages.js'
import { lineIdOf } from './notify.js'
import { hhmm } from './clock.js'
import type { EngineState } from './state.js'
import { phrase } from './texts.js'

export function verifySignature(rawBody: Buffer, channelSecret: string, signature: string | undefined): boolean {
  if (!signature) return false
  const expected = createHmac('sha256', channelSecret).update(rawBody).digest()
  const given = Buffer.from(signature, 'base64')
  return expected.length === given.length && timingSafeEqual(expected, given)
}

const LineEvent = z.looseObject({
  type: z.string(),
  webhookEventId: z.string().optional(),
  mode: z.string().optional(),
  replyToken: z.string().optional(),
  source: z.looseObject({ type: z.string(), userId: z.string().optional() }).optional(),
  postback: z.looseObject({ data: z.string() }).optional(),
  message: z.looseObject({ type: z.string(), text: z.string().optional() }).optional(),
})
export const WebhookBody = z.looseObject({ destination: z.string().optional(), events: z.array(LineEvent) })
export type LineEvent = z.infer<typeof LineEvent>

export interface Reply {
  replyToken: string
  messages: unknown[]
}

export interface WebhookOutcome {
  replies: Reply[]
  effects: Effects
  /** Durable state changed (seen ids, links, acknowledgements): save before answering. */
  changed: boolean
}

const LINK_CODE_TTL_MS = 24 * 3_600_000

/** A fresh 6-digit code for a contact, valid one day, single use. */
export function issueLinkCode(state: EngineState, contactId: string, nowMs: number): { code: string; expiresMs: number } {
  let code: string
  do code = String(randomInt(0, 1_000_000)).padStart(6, '0')
  while (state.linkCodes[code])
  const expiresMs = nowMs + LINK_CODE_TTL_MS
  state.linkCodes[code] = { contactId, expiresMs }
  return { code, expiresMs }
}

/** Contacts whose LINE id (from the file, or linked) is this user, with the farms they serve. */
function whoIs(farms: Farms, state: EngineState, userId: string): Array<{ farms: '*' | string[]; contact: Contact }> {
  return farms.everyContact().filter(({ contact }) => lineIdOf(state, contact) === userId)
}

const text = (t: string) => ({ type: 'text', text: t })

export function handleEvents(events: readonly LineEvent[], engine: AlertEngine, farms: Farms, nowMs: number): WebhookOutcome {
  const { state } = engine
  const out: WebhookOutcome = { replies: [], effects: { events: [], queued: [], cancelled: [] }, changed: false }
  for (const ev of events) {
    if (ev.webhookEventId) {
      if (state.webhookSeen[ev.webhookEventId] !== undefined) continue
      state.webhookSeen[ev.webhookEventId] = nowMs
      out.changed = true
    }
    // In standby another channel owns the chat: do nothing (notifications.md 1.9).
    if (ev.mode === 'standby') continue
    const userId = ev.source?.userId
    const people = userId ? whoIs(farms, state, userId) : []
    const locale: Locale = people[0]?.contact.locale ?? 'th'
    const reply = (t: string) => {
      if (ev.replyToken) out.replies.push({ replyToken: ev.replyToken, messages: [text(t)] })
    }
    if (ev.type === 'follow') reply(phrase(locale, 'welcome'))
    else if (ev.type === 'unfollow' && userId) {
      // Blocked: stop pushing to a linked id (a file-configured id stays until the file changes).
      for (const [contactId, linked] of Object.entries(state.links)) if (linked === userId) delete state.links[contactId]
      out.changed = true
    } else if (ev.type === 'message' && userId && ev.message?.type === 'text') {
      const typed = (ev.message.text ?? '').trim()
      if (!/^\d{6}$/.test(typed)) continue
      const code = state.linkCodes[typed]
      if (!code || code.expiresMs < nowMs) {
        reply(phrase(locale, 'badCode'))
        continue
      }
      delete state.linkCodes[typed]
      state.links[code.contactId] = userId
      out.changed = true
      const name = farms.everyContact().find((c) => c.contact.id === code.contactId)?.contact
      reply(phrase(name?.locale ?? locale, 'linked', { name: name?.name ?? code.contactId }))
    } else if (ev.type === 'postback' && ev.postback) {
      const action = parsePostback(ev.postback.data)
      if (action?.action !== 'ack') continue
      const alert = engine.find(action.id)
      const person = alert && people.find((p) => p.farms === '*' || p.farms.includes(alert.farm))
      if (!alert || !person) {
        reply(phrase(locale, alert ? 'notAllowed' : 'closed'))
        continue
      }
      const { change, effects } = engine.acknowledge(alert.id, { by: person.contact.name, via: 'line', atMs: nowMs })
      const l = person.contact.locale
      if (change.ok) {
        out.changed = true
        out.effects.events.push(...effects.events)
        reply(`✅ ${phrase(l, 'ackReply', { by: person.contact.name, time: hhmm(nowMs) })}`)
      } else if (change.alert?.status === 'acknowledged') reply(phrase(l, 'alreadyAcked', { by: change.alert.ack?.by ?? '' }))
      else reply(phrase(l, 'closed'))
    }
  }
  return out
}
