/**
 * Sends the outbox: every due item once at a time, state saved before an SMS leaves (an SMS
 * has no idempotency key) and after every result; retries on the backoff the item carries; a
 * LINE monthly-quota refusal becomes an SMS to the same person. One timer for the next due item;
 * the sweep kicks it too, so a missed timer only delays, never loses, a message.
 */
import type { Logger } from '../runtime/logger.js'
import type { Farms } from './contacts.js'
import type { LineClient } from './notifiers/line.js'
import type { ConsoleNotifier } from './notifiers/console.js'
import type { SmsProvider } from './notifiers/sms.js'
import { checkRecipient, type GuardDecision } from './guard.js'
import { afterAttempt, DONE, dueItems, type OutboxItem, type RetryPolicy, type SendResult } from './outbox.js'
import type { EngineState } from './state.js'

export interface DispatcherDeps {
  state: EngineState
  farms(): Farms
  line?: LineClient
  sms?: SmsProvider
  console: ConsoleNotifier
  save(): Promise<void>
  now(): number
  uuid(): string
  policy: RetryPolicy
  log: Logger
  /** A message reached a final state (history, metrics). */
  onDone(item: OutboxItem): void
  /** The last-step check refused a message (metric); it is already marked refused and logged. */
  onRefused?(item: OutboxItem, decision: Exclude<GuardDecision, { ok: true }>): void
}

const MAX_TIMER_MS = 60_000

export class Dispatcher {
  private readonly inflight = new Map<string, Promise<void>>()
  /** Items known to be on disk: only those may leave (a message must never outrun its record). */
  private readonly persisted = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private closed = false
  /** Aborts sends in progress at shutdown: LINE resends under its retry key, an SMS turns uncertain. */
  private readonly stopping = new AbortController()

  constructor(private readonly deps: DispatcherDeps) {
    for (const key of Object.keys(deps.state.outbox)) this.persisted.add(key)
  }

  /**
   * Sends everything due now and arms the timer for the next item. `saved` names items the
   * caller has just written to disk. Never throws.
   */
  kick(saved: Iterable<string> = []): void {
    if (this.closed) return
    for (const key of saved) this.persisted.add(key)
    const now = this.deps.now()
    for (const item of dueItems(Object.values(this.deps.state.outbox), now)) {
      if (this.inflight.has(item.key)) continue
      const run = this.dispatch(item.key)
        .catch((err: unknown) => this.deps.log.error({ err, key: item.key }, 'dispatch failed'))
        .finally(() => {
          this.inflight.delete(item.key)
          this.arm()
        })
      this.inflight.set(item.key, run)
    }
    this.arm()
  }

  private arm(): void {
    if (this.closed) return
    clearTimeout(this.timer)
    let next = Infinity
    for (const item of Object.values(this.deps.state.outbox)) {
      if (item.status === 'queued' && !this.inflight.has(item.key)) next = Math.min(next, item.notBeforeMs)
    }
    if (next === Infinity) return
    const delay = Math.min(Math.max(0, next - this.deps.now()), MAX_TIMER_MS)
    this.timer = setTimeout(() => this.kick(), delay)
    this.timer.unref()
  }

  /** Resolves when every send in progress has finished (for close and tests). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight.values())
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    this.stopping.abort()
    await this.idle()
  }

  private async dispatch(key: string): Promise<void> {
    const { state } = this.deps
    if (!this.persisted.has(key)) {
      await this.deps.save()
      this.persisted.add(key)
    }
    const item = state.outbox[key]
    if (!item || item.status !== 'queued') return
    // The second lock (issue 14): the recipient checked again against the registry right before sending.
    const allowed = checkRecipient(this.deps.farms(), state, item)
    if (!allowed.ok) {
      const refused: OutboxItem = { ...item, status: 'refused', doneMs: this.deps.now(), result: { refused: allowed.reason, error: allowed.detail } }
      state.outbox[key] = refused
      this.deps.log.warn({ key, farm: item.farm, contact: item.contactId, channel: item.channel, reason: allowed.reason, detail: allowed.detail }, 'message refused at the last step')
      this.deps.onRefused?.(refused, allowed)
      await this.deps.save()
      this.deps.onDone(refused)
      return
    }
    // In flight: a resolve arriving meanwhile must not cancel a card that may already be on its way.
    state.outbox[key] = { ...item, status: 'in_flight' }
    // An SMS has no idempotency key: on disk as in flight first, so a crash never sends it twice.
    if (item.channel === 'sms') await this.deps.save()
    const result = await this.send(item)
    const next = afterAttempt(item, result, this.deps.now(), this.deps.policy)
    state.outbox[key] = next
    if (next.status === 'fallback') this.fallbackToSms(next)
    if (result.outcome !== 'sent') this.deps.log.warn({ key, channel: item.channel, result }, 'message not delivered yet')
    await this.deps.save()
    if (DONE.has(next.status)) this.deps.onDone(next)
  }

  private send(item: OutboxItem): Promise<SendResult> {
    const { line, sms } = this.deps
    if (item.channel === 'line' && line) return line.push(item, this.stopping.signal)
    if (item.channel === 'sms' && sms) return sms.send(item.to, item.sms, this.stopping.signal)
    return this.deps.console.send(item)
  }

  /** LINE's monthly quota is spent (notifications.md 1.6): the same words go by SMS, if the person has a phone. */
  private fallbackToSms(item: OutboxItem): void {
    const contact = this.deps.farms().get(item.farm).contacts.find((c) => c.id === item.contactId)
    const key = `${item.key}/sms`
    if (!contact?.phone || !this.deps.sms || this.deps.state.outbox[key]) {
      this.deps.log.error({ key: item.key }, 'LINE quota spent and no SMS route for this contact')
      return
    }
    const now = this.deps.now()
    const { line: _line, doneMs: _doneMs, result: _result, ...rest } = item
    // Saved with the quota result, in dispatch(), before the next kick can send it.
    this.persisted.add(key)
    this.deps.state.outbox[key] = {
      ...rest,
      key,
      channel: 'sms',
      to: contact.phone,
      retryKey: this.deps.uuid(),
      status: 'queued',
      attempts: 0,
      notBeforeMs: now,
      createdMs: now,
    }
  }
}
