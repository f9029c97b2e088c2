/**
 * LINE webhook (notifications.md 1.8-1.10): the signature is HMAC-SHA256 of the raw body with the
 * channel secret; an event is handled once (its webhookEventId, or a hash of the fields a
 * redelivery repeats) and only while fresh (its `timestamp` within LINE_WEBHOOK_MAX_AGE_MS of our
 * clock: a signed body replayed later is refused); a postback acknowledges an alert if the LINE
 * user is a contact of its farm; a follow is greeted and a 6-digit one-time code typed in the chat
 * links the LINE user to a contact (link-codes.ts). Replies are free.
 * `handleEvents` is pure over the engine; the HTTP shell lives in service wiring.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import type { Contact, Farms, Locale } from './contacts.js'
import type { AlertEngine, Effects } from './engine.js'
import { isLinkCodeText, type LinkAttempt, tryLinkCode } from './link-codes.js'
import { parsePostback } from './messages.js'
import { lineIdOf } from './notify.js'
import { onlyTrainee } from './routing.js'
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
  /** When the event happened, epoch ms (LINE's clock). */
  timestamp: z.number().optional(),
  mode: z.string().optional(),
  replyToken: z.string().optional(),
  deliveryContext: z.looseObject({ isRedelivery: z.boolean().optional() }).optional(),
  source: z.looseObject({ type: z.string(), userId: z.string().optional(), groupId: z.string().optional(), roomId: z.string().optional() }).optional(),
  postback: z.looseObject({ data: z.string() }).optional(),
  message: z.looseObject({ type: z.string(), id: z.string().optional(), text: z.string().optional() }).optional(),
})
export const WebhookBody = z.looseObject({ destination: z.string().optional(), events: z.array(LineEvent) })
export type LineEvent = z.infer<typeof LineEvent>

export interface Reply {
  replyToken: string
  messages: unknown[]
}

export type Refusal = 'duplicate' | 'too_old' | 'future' | 'no_timestamp'

export interface RefusedEvent {
  reason: Refusal
  key: string
  /** Our clock minus the event's timestamp. */
  ageMs?: number
  redelivery: boolean
}

export interface WebhookOutcome {
  replies: Reply[]
  effects: Effects
  /** Durable state changed (seen ids, links, link-code guesses, acknowledgements): save before answering. */
  changed: boolean
  /** Events not handled, and why: the shell counts and logs them. */
  refused: RefusedEvent[]
  /** Every 6-digit code typed: the shell counts and logs them. */
  linkAttempts: Array<LinkAttempt & { userId: string }>
  /** Acknowledgements made by LINE, by whom: the shell writes them to the registry's audit log. */
  acks: Array<{ alertId: string; personId: string; farm: string }>
}

export interface WebhookOptions {
  /** LINE_WEBHOOK_MAX_AGE_MS: an event further than this from our clock is refused. */
  maxEventAgeMs: number
}

export const DEFAULT_MAX_EVENT_AGE_MS = 5 * 60_000

/** What a redelivery repeats: LINE's webhookEventId, else a hash of the event's own fields. */
export function eventKey(ev: LineEvent): string {
  if (ev.webhookEventId) return ev.webhookEventId
  const s = ev.source
  const stable = [ev.type, s?.type, s?.userId, s?.groupId, s?.roomId, ev.timestamp, ev.message?.id, ev.postback?.data]
  return `sha256:${createHash('sha256').update(JSON.stringify(stable)).digest('base64url')}`
}

/** Whether to handle an event: fresh and not seen before (records it as seen when it is). */
export function screenEvent(ev: LineEvent, seen: EngineState['webhookSeen'], nowMs: number, maxAgeMs: number): { ok: true } | ({ ok: false } & RefusedEvent) {
  const key = eventKey(ev)
  const redelivery = ev.deliveryContext?.isRedelivery === true
  if (ev.timestamp === undefined) return { ok: false, reason: 'no_timestamp', key, redelivery }
  const ageMs = nowMs - ev.timestamp
  if (ageMs > maxAgeMs) return { ok: false, reason: 'too_old', key, ageMs, redelivery }
  if (-ageMs > maxAgeMs) return { ok: false, reason: 'future', key, ageMs, redelivery }
  if (seen[key] !== undefined) return { ok: false, reason: 'duplicate', key, ageMs, redelivery }
  seen[key] = nowMs
  return { ok: true }
}

/** Contacts whose LINE id (from the file, or linked) is this user, with the farms they serve. */
function whoIs(farms: Farms, state: EngineState, userId: string): Array<{ farms: '*' | string[]; contact: Contact }> {
  return farms.everyContact().filter(({ contact }) => lineIdOf(state, contact) === userId)
}

const text = (t: string) => ({ type: 'text', text: t })

export function handleEvents(
  events: readonly LineEvent[],
  engine: AlertEngine,
  farms: Farms,
  nowMs: number,
  opts: WebhookOptions = { maxEventAgeMs: DEFAULT_MAX_EVENT_AGE_MS },
): WebhookOutcome {
  const { state } = engine
  const out: WebhookOutcome = { replies: [], effects: { events: [], queued: [], cancelled: [] }, changed: false, refused: [], linkAttempts: [], acks: [] }
  for (const ev of events) {
    const screened = screenEvent(ev, state.webhookSeen, nowMs, opts.maxEventAgeMs)
    if (!screened.ok) {
      out.refused.push(screened)
      continue
    }
    out.changed = true // seen now; whatever follows is saved with it
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
    } else if (ev.type === 'message' && userId && ev.message?.type === 'text') {
      const typed = (ev.message.text ?? '').trim()
      if (!isLinkCodeText(typed)) continue
      const attempt = tryLinkCode(state, userId, typed, nowMs)
      out.linkAttempts.push({ ...attempt, userId })
      if (attempt.ok) {
        const name = farms.everyContact().find((c) => c.contact.id === attempt.contactId)?.contact
        reply(phrase(name?.locale ?? locale, 'linked', { name: name?.name ?? attempt.contactId }))
      } else if (attempt.reason === 'rate_limited') reply(phrase(locale, 'codeWait', { min: String(Math.ceil(attempt.retryInMs / 60_000)) }))
      else reply(phrase(locale, 'badCode'))
    } else if (ev.type === 'postback' && ev.postback) {
      const action = parsePostback(ev.postback.data)
      if (action?.action !== 'ack') continue
      const alert = engine.find(action.id)
      // A trainee is heard for training farms only (their role reaches no real farm's alerts).
      const person =
        alert && people.find((p) => (p.farms === '*' || p.farms.includes(alert.farm)) && (!onlyTrainee(p.contact) || farms.get(alert.farm).training))
      if (!alert || !person) {
        reply(phrase(locale, alert ? 'notAllowed' : 'closed'))
        continue
      }
      const { change, effects } = engine.acknowledge(alert.id, { by: person.contact.name, via: 'line', atMs: nowMs })
      const l = person.contact.locale
      if (change.ok) {
        out.effects.events.push(...effects.events)
        out.acks.push({ alertId: alert.id, personId: person.contact.id, farm: alert.farm })
        reply(`✅ ${phrase(l, 'ackReply', { by: person.contact.name, time: hhmm(nowMs) })}`)
      } else if (change.alert?.status === 'acknowledged') reply(phrase(l, 'alreadyAcked', { by: change.alert.ack?.by ?? '' }))
      else reply(phrase(l, 'closed'))
    }
  }
  return out
}
