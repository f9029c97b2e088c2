/**
 * SMS providers behind one interface (notifications.md 2.7): ThaiBulkSMS v2 and Twilio, request
 * shapes from notifications.md 2.3-2.4. No Thai gateway takes an idempotency key, so an answer
 * that never came after the request went out is `uncertain` and never resent (escalation covers
 * it); a refused connection or a 5xx/429 answer is safe to retry.
 */
import type { SendResult } from '../outbox.js'
import { msisdn } from '../routing.js'
import { smsLength } from '../sms-text.js'

export interface SmsProvider {
  readonly name: string
  /** `signal` aborts a send in progress (shutdown): its outcome is then uncertain. */
  send(to: string, text: string, signal?: AbortSignal): Promise<SendResult>
}

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`

/** fetch failures: a connection never made is retryable; anything else may have been sent. */
function networkResult(err: unknown): SendResult {
  const cause = (err as { cause?: { code?: string } }).cause
  if (cause?.code === 'ECONNREFUSED' || cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN') {
    return { outcome: 'retry', reason: `network: ${cause.code}` }
  }
  return { outcome: 'uncertain', reason: `no answer: ${(err as Error).message}` }
}

async function postForm(
  url: URL,
  auth: string,
  form: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; json: unknown; text: string }> {
  const timeout = AbortSignal.timeout(timeoutMs)
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: auth, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
    signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, json, text }
}

const httpFailure = (status: number, reason: string): SendResult =>
  status === 429 || status >= 500 ? { outcome: 'retry', httpStatus: status, reason } : { outcome: 'failed', httpStatus: status, reason }

export interface ThaiBulkSmsOptions {
  baseUrl: string
  apiKey: string
  apiSecret: string
  sender: string
  /** `corporate` confirms delivery to the handset (notifications.md 2.4). */
  force: 'standard' | 'corporate'
  timeoutMs: number
}

interface TbsAnswer {
  phone_number_list?: Array<{ number?: string; message_id?: string }>
  bad_phone_number_list?: Array<{ number?: string; message?: string }>
  error?: { code?: unknown; name?: string; description?: string }
}

export class ThaiBulkSms implements SmsProvider {
  readonly name = 'thaibulksms'
  constructor(private readonly opts: ThaiBulkSmsOptions) {}

  async send(to: string, text: string, signal?: AbortSignal): Promise<SendResult> {
    const form = { msisdn: msisdn(to), message: text, sender: this.opts.sender, force: this.opts.force }
    let answer
    try {
      answer = await postForm(new URL('/sms', this.opts.baseUrl), basic(this.opts.apiKey, this.opts.apiSecret), form, this.opts.timeoutMs, signal)
    } catch (err) {
      return networkResult(err)
    }
    const body = (answer.json ?? {}) as TbsAnswer
    if (answer.status < 200 || answer.status >= 300) {
      return httpFailure(answer.status, body.error?.description ?? body.error?.name ?? answer.text.slice(0, 200))
    }
    // A 2xx may still list the number as bad: then nothing was sent.
    const sent = body.phone_number_list?.[0]
    if (!sent) return { outcome: 'failed', httpStatus: answer.status, reason: body.bad_phone_number_list?.[0]?.message ?? 'number refused' }
    return { outcome: 'sent', httpStatus: answer.status, providerId: sent.message_id, segments: smsLength(text).segments }
  }
}

export interface TwilioOptions {
  baseUrl: string
  accountSid: string
  authToken: string
  /** A registered alphanumeric sender or number; or a messaging service. */
  from?: string
  messagingServiceSid?: string
  timeoutMs: number
}

export class TwilioSms implements SmsProvider {
  readonly name = 'twilio'
  constructor(private readonly opts: TwilioOptions) {}

  async send(to: string, text: string, signal?: AbortSignal): Promise<SendResult> {
    const form: Record<string, string> = {
      To: `+${msisdn(to)}`,
      Body: text,
      // A stale "pump down" is worse than none: drop it after an hour (notifications.md 2.3).
      ValidityPeriod: '3600',
      ...(this.opts.messagingServiceSid ? { MessagingServiceSid: this.opts.messagingServiceSid } : { From: this.opts.from ?? '' }),
    }
    const url = new URL(`/2010-04-01/Accounts/${encodeURIComponent(this.opts.accountSid)}/Messages.json`, this.opts.baseUrl)
    let answer
    try {
      answer = await postForm(url, basic(this.opts.accountSid, this.opts.authToken), form, this.opts.timeoutMs, signal)
    } catch (err) {
      return networkResult(err)
    }
    const body = (answer.json ?? {}) as { sid?: string; status?: string; message?: string }
    if (answer.status < 200 || answer.status >= 300) return httpFailure(answer.status, body.message ?? answer.text.slice(0, 200))
    if (body.status === 'failed' || body.status === 'undelivered') return { outcome: 'failed', httpStatus: answer.status, reason: body.status }
    return { outcome: 'sent', httpStatus: answer.status, providerId: body.sid, segments: smsLength(text).segments }
  }
}
