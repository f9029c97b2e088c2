/**
 * A sign-in link by LINE or SMS (issue 14): a person who has no password, or lost their phone's
 * session, types their sign-in id on the console and gets a one-time link on the channel the
 * alerts would use for them. The answer never says whether the id exists (202 either way), at
 * most three links per person an hour leave, and the link is built from CONSOLE_PUBLIC_URL, never
 * from the request's Host header (an attacker's Host would otherwise put a live token in a link
 * to their own server). The message goes through the outbox like any other, past the last-step
 * check, so a farmer of a training farm is not reached through it either.
 */
import type { Registry } from '../registry/index.js'
import type { AlertEngine, Effects } from './engine.js'
import { renderText } from './messages.js'
import { lineIdOf, queueMessage } from './notify.js'
import { channelFor } from './routing.js'

const PER_HOUR = 3
const HOUR_MS = 3_600_000

export interface SignInLinkOptions {
  engine: AlertEngine
  registry: Registry
  /** Where the console is, as people's phones reach it: `https://farm.example/console/`. */
  consoleUrl: string
  ttlMs: number
}

export type SendOutcome = 'queued' | 'unknown' | 'no_channel' | 'limited'

export class SignInLinks {
  private readonly sent = new Map<string, number[]>()

  constructor(private readonly opts: SignInLinkOptions) {}

  private limited(person: string, nowMs: number): boolean {
    const recent = (this.sent.get(person) ?? []).filter((t) => nowMs - t < HOUR_MS)
    this.sent.set(person, recent)
    return recent.length >= PER_HOUR
  }

  /** Queues a link for `personId` when they can be reached; the outcome is for the log, not the caller. */
  async send(personId: string, nowMs: number): Promise<{ outcome: SendOutcome; effects: Effects }> {
    const none = { events: [], queued: [], cancelled: [] }
    const { engine } = this.opts
    const ctx = engine.ctx()
    const served = ctx.farms.everyContact().filter((c) => c.contact.id === personId)
    if (served.length === 0) return { outcome: 'unknown', effects: none }
    if (this.limited(personId, nowMs)) return { outcome: 'limited', effects: none }
    // A farm the person serves, for the outbox and the last-step check: a real farm first.
    const farmIds = served.flatMap((c) => (c.farms === '*' ? Object.keys(engine.tracks).map((k) => k.split('/')[0] ?? '') : c.farms))
    const farms = [...new Set(farmIds)].map((id) => ctx.farms.get(id)).filter((f) => f.contacts.some((c) => c.id === personId))
    const farm = farms.find((f) => !f.training) ?? farms[0]
    const contact = farm?.contacts.find((c) => c.id === personId)
    if (!farm || !contact) return { outcome: 'no_channel', effects: none }
    // Never to the console channel: that is the process log, and a live link must not sit in a log.
    if (channelFor(contact, lineIdOf(ctx.state, contact), ctx.available).channel === 'console') return { outcome: 'no_channel', effects: none }
    const link = await this.opts.registry.sessions.createLink(personId, this.opts.ttlMs, { who: personId, how: contact.line ? 'line' : 'api' })
    if (!link.ok) return { outcome: 'unknown', effects: none }
    this.sent.get(personId)?.push(nowMs)
    const url = `${this.opts.consoleUrl}#signin=${link.value.token}`
    const until = new Date(link.value.expiresAt).toLocaleString(contact.locale === 'th' ? 'th-TH' : 'en-GB', { timeZone: 'Asia/Bangkok', dateStyle: 'short', timeStyle: 'short' })
    const item = queueMessage(ctx, {
      key: `sign-in:${personId}:${nowMs}/sign-in/${personId}`,
      farm,
      contact,
      purpose: 'sign-in',
      // Asked for now, by the person: it does not wait out their quiet hours.
      severity: 'critical',
      render: (locale) =>
        renderText(
          locale === 'th'
            ? `ลิงก์เข้าสู่ระบบสวนยาง (ใช้ได้ครั้งเดียว ถึง ${until}): ${url}\nถ้าคุณไม่ได้ขอ ไม่ต้องทำอะไร`
            : `Your suanyang sign-in link (one use, until ${until}): ${url}\nIf you did not ask for it, do nothing.`,
        ),
      nowMs,
    })
    if (!item) return { outcome: 'limited', effects: none }
    engine.markDirty()
    return { outcome: 'queued', effects: { events: [], queued: [item], cancelled: [] } }
  }
}
