import { describe, expect, it } from 'vitest'
import { classifyPush } from './notifiers/line.js'
import { afterAttempt, backoffMs, dueItems, type OutboxItem, pruneDone, recoverInFlight } from './outbox.js'

const policy = { baseMs: 1_000, maxMs: 60_000, maxAttempts: 4 }
const item = (over: Partial<OutboxItem> = {}): OutboxItem => ({
  key: 'a/fire/somchai',
  alertId: 'a',
  farm: 'ranong-01',
  purpose: 'fire',
  contactId: 'somchai',
  channel: 'line',
  to: 'U1',
  line: [{ type: 'text', text: 'x' }],
  sms: 'x',
  retryKey: 'k',
  status: 'queued',
  attempts: 0,
  notBeforeMs: 0,
  createdMs: 0,
  ...over,
})

const answer = (status: number, body: unknown = {}, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
  body: JSON.stringify(body),
})

describe('LINE push answers (notifications.md 1.4, 1.7)', () => {
  it('200 and 409-with-accepted-id are delivered; 409 without it is not', () => {
    expect(classifyPush(answer(200, { sentMessages: [{ id: '461' }] }))).toMatchObject({ outcome: 'sent', providerId: '461' })
    expect(classifyPush(answer(409, { message: 'The retry key is already accepted' }, { 'x-line-accepted-request-id': 'req-1' }))).toMatchObject({
      outcome: 'sent',
      providerId: 'req-1',
    })
    expect(classifyPush(answer(409, { message: 'conflict' }))).toMatchObject({ outcome: 'failed' })
  })

  it('429 monthly limit is the SMS fallback; a rate limit and 5xx are retried; other 4xx fail', () => {
    expect(classifyPush(answer(429, { message: 'You have reached your monthly limit.' }))).toMatchObject({ outcome: 'quota' })
    expect(classifyPush(answer(429, { message: 'The API rate limit has been exceeded. Try again later.' }))).toMatchObject({ outcome: 'retry' })
    expect(classifyPush(answer(500, { message: 'Internal server error' }))).toMatchObject({ outcome: 'retry', httpStatus: 500 })
    expect(classifyPush(answer(400, { message: 'The request body has 2 error(s)' }))).toMatchObject({ outcome: 'failed', reason: 'The request body has 2 error(s)' })
    expect(classifyPush(answer(401, { message: 'Authentication failed' }))).toMatchObject({ outcome: 'failed' })
  })
})

describe('outbox', () => {
  it('backs off exponentially up to a cap', () => {
    expect([1, 2, 3, 10].map((n) => backoffMs(n, policy))).toEqual([1_000, 2_000, 4_000, 60_000])
  })

  it('a retry keeps the key and waits; the last allowed attempt fails; a finished item drops its LINE body', () => {
    const once = afterAttempt(item(), { outcome: 'retry', reason: '500' }, 10_000, policy)
    expect(once).toMatchObject({ status: 'queued', attempts: 1, notBeforeMs: 11_000, retryKey: 'k', line: item().line })
    const last = afterAttempt({ ...once, attempts: 3 }, { outcome: 'retry', reason: '500' }, 20_000, policy)
    expect(last).toMatchObject({ status: 'failed', attempts: 4 })
    expect(last.line).toBeUndefined()
    expect(afterAttempt(item(), { outcome: 'quota', reason: 'monthly' }, 1, policy).status).toBe('fallback')
    expect(afterAttempt(item(), { outcome: 'sent', providerId: 'p' }, 1, policy)).toMatchObject({ status: 'sent', result: { providerId: 'p' } })
  })

  it('after a restart, LINE in flight is resent (retry key), SMS in flight is uncertain', () => {
    expect(recoverInFlight(item({ status: 'in_flight' }), 5).status).toBe('queued')
    expect(recoverInFlight(item({ status: 'in_flight', channel: 'sms' }), 5)).toMatchObject({ status: 'uncertain', doneMs: 5 })
    expect(recoverInFlight(item({ status: 'sent' }), 5).status).toBe('sent')
  })

  it('sends due items oldest first and forgets finished ones after their keep time', () => {
    const items = { a: item({ key: 'a', createdMs: 2 }), b: item({ key: 'b', createdMs: 1 }), c: item({ key: 'c', notBeforeMs: 99 }) }
    expect(dueItems(Object.values(items), 50).map((i) => i.key)).toEqual(['b', 'a'])
    const done: Record<string, OutboxItem> = { old: item({ key: 'old', status: 'sent', doneMs: 0 }), fresh: item({ key: 'fresh', status: 'sent', doneMs: 90 }), q: item({ key: 'q' }) }
    pruneDone(done, 100, () => 50)
    expect(Object.keys(done)).toEqual(['fresh', 'q'])
  })
})
