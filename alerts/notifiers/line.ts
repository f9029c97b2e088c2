/**
 * LINE Messaging API client over fetch (the official SDK needs Node 22; notifications.md 1.11):
 * push with a persisted X-Line-Retry-Key (1.4), reply (free, no retry key), and the decision
 * table for each answer (1.7): 409 with an accepted request id is success, 500/timeout/network
 * are retried with the same key, 429 "monthly limit" falls back to SMS, other 4xx give up.
 */
import type { OutboxItem, SendResult } from '../outbox.js'

export interface LineOptions {
  baseUrl: string
  channelAccessToken: string
  timeoutMs: number
}

export interface LineAnswer {
  status: number
  headers: Headers
  body: string
}

/** The decision for one push answer. Pure: table-tested. */
export function classifyPush(answer: LineAnswer): SendResult {
  const { status, headers, body } = answer
  const requestId = headers.get('x-line-request-id') ?? undefined
  if (status >= 200 && status < 300) return { outcome: 'sent', httpStatus: status, providerId: firstMessageId(body) ?? requestId }
  if (status === 409) {
    const accepted = headers.get('x-line-accepted-request-id')
    // Another request with this retry key was accepted: it was delivered once, by that request.
    if (accepted) return { outcome: 'sent', httpStatus: status, providerId: firstMessageId(body) ?? accepted }
    return { outcome: 'failed', httpStatus: status, reason: errorMessage(body) }
  }
  if (status === 429) {
    const message = errorMessage(body)
    return /monthly limit/i.test(message)
      ? { outcome: 'quota', httpStatus: status, reason: message }
      : { outcome: 'retry', httpStatus: status, reason: message }
  }
  if (status >= 500) return { outcome: 'retry', httpStatus: status, reason: errorMessage(body) }
  return { outcome: 'failed', httpStatus: status, reason: errorMessage(body) }
}

function parse(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body)
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function firstMessageId(body: string): string | undefined {
  const sent = parse(body)?.sentMessages
  const first = Array.isArray(sent) ? (sent[0] as { id?: unknown } | undefined) : undefined
  return typeof first?.id === 'string' ? first.id : undefined
}

function errorMessage(body: string): string {
  const m = parse(body)?.message
  return typeof m === 'string' ? m : body.slice(0, 200) || 'no body'
}

export class LineClient {
  constructor(private readonly opts: LineOptions) {}

  private async post(path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<LineAnswer> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs)
    const res = await fetch(new URL(path, this.opts.baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${this.opts.channelAccessToken}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
    })
    return { status: res.status, headers: res.headers, body: await res.text() }
  }

  /** Pushes an outbox item; the same item always sends the same body and retry key. */
  async push(item: OutboxItem, signal?: AbortSignal): Promise<SendResult> {
    try {
      const answer = await this.post('/v2/bot/message/push', { to: item.to, messages: item.line }, { 'x-line-retry-key': item.retryKey }, signal)
      return classifyPush(answer)
    } catch (err) {
      // A timeout or a dropped connection: the retry key makes a resend safe.
      return { outcome: 'retry', reason: `network: ${(err as Error).message}` }
    }
  }

  /** Replies to a webhook event (free; a reply token is single-use, so no retry). */
  async reply(replyToken: string, messages: unknown[]): Promise<{ ok: boolean; status?: number }> {
    try {
      const answer = await this.post('/v2/bot/message/reply', { replyToken, messages })
      return { ok: answer.status === 200, status: answer.status }
    } catch {
      return { ok: false }
    }
  }
}
