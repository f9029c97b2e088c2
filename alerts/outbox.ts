/**
 * The notification outbox: every message is an item with an idempotency key, written to disk
 * before the first attempt (with its LINE retry key), so a restart resends it under the same
 * key and LINE answers 409 instead of delivering twice (notifications.md 1.4). Pure decisions.
 */
import type { ChannelName } from './routing.js'

/** `sign-in`: a one-time sign-in link the person asked for (alerts/sign-in.ts); its text is a credential. `work-order`: a work order assigned to the person (alerts/work-orders.ts). */
export type Purpose = 'fire' | 'escalate' | 'resolve' | 'flapping' | 'digest' | 'reminder' | 'sign-in' | 'work-order'

/** `refused`: the last-step check (alerts/guard.ts) found the recipient may not receive it; never sent. */
export type OutboxStatus = 'queued' | 'in_flight' | 'sent' | 'failed' | 'uncertain' | 'cancelled' | 'fallback' | 'refused'

export interface OutboxItem {
  /** `${subject}/${purpose}/${contactId}[/sms]`: one message per recipient and purpose, ever. */
  key: string
  alertId?: string
  farm: string
  purpose: Purpose
  contactId: string
  channel: ChannelName
  to: string
  /** LINE message objects: stored so every retry sends the identical body. */
  line?: unknown[]
  /** The SMS text (fits three segments), also the console line. */
  sms: string
  /** UUID sent as X-Line-Retry-Key on every attempt. */
  retryKey: string
  status: OutboxStatus
  attempts: number
  notBeforeMs: number
  createdMs: number
  doneMs?: number
  result?: { providerId?: string; httpStatus?: number; error?: string; segments?: number; refused?: string }
}

export const DONE: ReadonlySet<OutboxStatus> = new Set(['sent', 'failed', 'uncertain', 'cancelled', 'fallback', 'refused'])

/** What a notifier reports for one attempt. */
export type SendResult =
  | { outcome: 'sent'; providerId?: string; httpStatus?: number; segments?: number }
  /** Safe to try again with the same key (5xx, network error before sending, rate limit). */
  | { outcome: 'retry'; reason: string; httpStatus?: number }
  /** Will never work as is (4xx): give up and record why. */
  | { outcome: 'failed'; reason: string; httpStatus?: number }
  /** LINE's monthly quota is spent: send by SMS instead. */
  | { outcome: 'quota'; reason: string; httpStatus?: number }
  /** May or may not have been delivered (SMS timeout after sending): never resent, escalation covers it. */
  | { outcome: 'uncertain'; reason: string }

export interface RetryPolicy {
  baseMs: number
  maxMs: number
  maxAttempts: number
}

/** Exponential backoff: base, 2 base, 4 base... capped (LINE recommends backoff between retries). */
export function backoffMs(attempts: number, policy: RetryPolicy): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempts - 1))
}

/**
 * The item after one attempt's result. A quota result marks it `fallback`: the caller queues the
 * SMS. A finished item drops its LINE body (the state file is rewritten on every change).
 */
export function afterAttempt(item: OutboxItem, result: SendResult, nowMs: number, policy: RetryPolicy): OutboxItem {
  const next = attempt(item, result, nowMs, policy)
  if (!DONE.has(next.status)) return next
  const { line: _line, ...rest } = next
  return rest
}

function attempt(item: OutboxItem, result: SendResult, nowMs: number, policy: RetryPolicy): OutboxItem {
  const attempts = item.attempts + 1
  switch (result.outcome) {
    case 'sent':
      return {
        ...item,
        attempts,
        status: 'sent',
        doneMs: nowMs,
        result: { providerId: result.providerId, httpStatus: result.httpStatus, segments: result.segments },
      }
    case 'retry':
      if (attempts >= policy.maxAttempts) {
        return { ...item, attempts, status: 'failed', doneMs: nowMs, result: { httpStatus: result.httpStatus, error: result.reason } }
      }
      return {
        ...item,
        attempts,
        status: 'queued',
        notBeforeMs: nowMs + backoffMs(attempts, policy),
        result: { httpStatus: result.httpStatus, error: result.reason },
      }
    case 'quota':
      return { ...item, attempts, status: 'fallback', doneMs: nowMs, result: { httpStatus: result.httpStatus, error: result.reason } }
    case 'failed':
      return { ...item, attempts, status: 'failed', doneMs: nowMs, result: { httpStatus: result.httpStatus, error: result.reason } }
    case 'uncertain':
      return { ...item, attempts, status: 'uncertain', doneMs: nowMs, result: { error: result.reason } }
  }
}

/**
 * After a restart: a LINE item caught in flight is resent (its retry key makes that safe); an
 * SMS caught in flight may have gone out and has no idempotency key, so it is marked uncertain.
 */
export function recoverInFlight(item: OutboxItem, nowMs: number): OutboxItem {
  if (item.status !== 'in_flight') return item
  if (item.channel === 'sms') return { ...item, status: 'uncertain', doneMs: nowMs, result: { error: 'process stopped while sending' } }
  return { ...item, status: 'queued' }
}

/** Items ready to send now, oldest first. */
export function dueItems(items: Iterable<OutboxItem>, nowMs: number): OutboxItem[] {
  return [...items].filter((i) => i.status === 'queued' && i.notBeforeMs <= nowMs).sort((a, b) => a.createdMs - b.createdMs)
}

/** Drops finished items once `keepMs(item)` has passed since they finished. */
export function pruneDone(items: Record<string, OutboxItem>, nowMs: number, keepMs: (item: OutboxItem) => number): void {
  for (const [key, item] of Object.entries(items)) {
    if (DONE.has(item.status) && (item.doneMs ?? item.createdMs) < nowMs - keepMs(item)) delete items[key]
  }
}
