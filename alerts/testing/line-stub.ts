/**
 * A local LINE Messaging API for tests and the bench, following the documented behaviour
 * (notifications.md 1.2-1.10): bearer token checked; push bodies validated (recipient id, 1-5
 * messages, Flex postback data <= 300 characters, labels <= 20); X-Line-Retry-Key must be a
 * UUID, and a key already accepted answers 409 with x-line-accepted-request-id; the reply API
 * refuses a retry key. Scripted answers: 500, 429 quota, 429 rate limit, or a hang.
 */
import { createHmac, randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpStub, readAll } from './http-stub.js'

export type LineBehaviour = 'ok' | 500 | 'quota' | 'rate' | 'hang'

export interface PushRecord {
  atMs: number
  /** performance.now() when the request was read (latency benches). */
  atHr: number
  retryKey?: string
  to: string
  messages: Array<Record<string, unknown>>
  status: number
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const RECIPIENT = /^[UCR][0-9a-f]{32}$/
const graphemes = new Intl.Segmenter('th', { granularity: 'grapheme' })

/** base64 HMAC-SHA256 of the raw body with the channel secret: the x-line-signature header. */
export const signLineBody = (body: string, channelSecret: string): string =>
  createHmac('sha256', channelSecret).update(body).digest('base64')

/** Problems with one message object, per the Messaging API limits; empty when valid. */
function messageProblems(m: Record<string, unknown>, path: string): string[] {
  const out: string[] = []
  if (m.type === 'text') {
    if (typeof m.text !== 'string' || m.text.length === 0 || m.text.length > 5000) out.push(`${path}.text must be 1-5000 characters`)
    return out
  }
  if (m.type !== 'flex') return [`${path}.type ${String(m.type)} not supported by this stub`]
  if (typeof m.altText !== 'string' || m.altText.length === 0 || m.altText.length > 1500) out.push(`${path}.altText must be 1-1500 characters`)
  const contents = m.contents as { type?: string } | undefined
  if (contents?.type !== 'bubble' && contents?.type !== 'carousel') out.push(`${path}.contents must be a bubble or carousel`)
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${at}[${i}]`))
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>
      if (o.type === 'postback') {
        if (typeof o.data !== 'string' || o.data.length > 300) out.push(`${at}.data must be at most 300 characters`)
        if (typeof o.label !== 'string' || [...graphemes.segment(o.label)].length > 20) out.push(`${at}.label must be at most 20 characters`)
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${at}.${k}`)
    }
  }
  walk(contents, `${path}.contents`)
  return out
}

export class LineStub extends HttpStub {
  readonly pushes: PushRecord[] = []
  readonly replies: Array<{ replyToken: string; messages: unknown[] }> = []
  /** Answers for the next push requests, in order; then 'ok'. */
  readonly script: LineBehaviour[] = []
  private readonly accepted = new Map<string, { requestId: string; sentMessages: unknown[] }>()
  private readonly waiters: Array<{ count: number; wake: () => void }> = []

  constructor(readonly channelAccessToken: string) {
    super()
  }

  /** Resolves once `count` push requests have arrived (any answer). */
  pushed(count: number): Promise<void> {
    if (this.pushes.length >= count) return Promise.resolve()
    return new Promise((wake) => this.waiters.push({ count, wake }))
  }

  /** Pushes LINE accepted (200), once per retry key. */
  delivered(): PushRecord[] {
    return this.pushes.filter((p) => p.status === 200)
  }

  private answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
    res.writeHead(status, { 'content-type': 'application/json', 'x-line-request-id': randomUUID(), ...headers })
    res.end(JSON.stringify(body))
    return status
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readAll(req)
    if (req.headers.authorization !== `Bearer ${this.channelAccessToken}`) {
      this.answer(res, 401, { message: 'Authentication failed due to the following reason: invalid token' })
      return
    }
    // The bot's own profile, as `suanyang doctor` checks a token (GET /v2/bot/info).
    if (req.method === 'GET' && req.url === '/v2/bot/info') {
      this.answer(res, 200, { userId: 'U0000000000000000000000000000bot0', basicId: '@suanyang', displayName: 'Suanyang test bot', chatMode: 'bot', markAsReadMode: 'auto' })
      return
    }
    let body: Record<string, unknown>
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>
    } catch {
      this.answer(res, 400, { message: 'The request body could not be parsed as JSON' })
      return
    }
    const retryKey = req.headers['x-line-retry-key'] as string | undefined
    if (req.url === '/v2/bot/message/reply') {
      if (retryKey !== undefined) this.answer(res, 400, { message: 'The retry key is not supported for this API' })
      else if (typeof body.replyToken !== 'string' || !Array.isArray(body.messages)) this.answer(res, 400, { message: 'Invalid reply' })
      else {
        this.replies.push({ replyToken: body.replyToken, messages: body.messages as unknown[] })
        this.answer(res, 200, { sentMessages: [] })
      }
      return
    }
    if (req.url !== '/v2/bot/message/push' || req.method !== 'POST') {
      this.answer(res, 404, { message: 'Not found' })
      return
    }
    const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : []
    const record: PushRecord = { atMs: Date.now(), atHr: performance.now(), retryKey, to: String(body.to), messages, status: 0 }
    this.pushes.push(record)
    for (const w of this.waiters.filter((x) => x.count <= this.pushes.length)) {
      this.waiters.splice(this.waiters.indexOf(w), 1)
      w.wake()
    }
    const problems = [
      ...(RECIPIENT.test(record.to) ? [] : ['to must be a user, group or room id']),
      ...(messages.length >= 1 && messages.length <= 5 ? [] : ['messages must have 1 to 5 items']),
      ...(retryKey === undefined || UUID.test(retryKey) ? [] : ['X-Line-Retry-Key must be a UUID']),
      ...messages.flatMap((m, i) => messageProblems(m, `messages[${i}]`)),
    ]
    if (problems.length > 0) {
      record.status = this.answer(res, 400, { message: 'The request body has errors', details: problems.map((message) => ({ message })) })
      return
    }
    const earlier = retryKey ? this.accepted.get(retryKey) : undefined
    if (earlier) {
      record.status = this.answer(
        res,
        409,
        { message: 'The retry key is already accepted', sentMessages: earlier.sentMessages },
        { 'x-line-accepted-request-id': earlier.requestId },
      )
      return
    }
    const behaviour = this.script.shift() ?? 'ok'
    if (behaviour === 'hang') {
      record.status = -1
      this.hanging.push(res)
      // LINE took it, the answer never came back: a retry with the same key must get 409.
      if (retryKey) this.accepted.set(retryKey, { requestId: randomUUID(), sentMessages: [{ id: String(Date.now()) }] })
      return
    }
    if (behaviour === 500) record.status = this.answer(res, 500, { message: 'Internal server error' })
    else if (behaviour === 'quota') record.status = this.answer(res, 429, { message: 'You have reached your monthly limit.' })
    else if (behaviour === 'rate') record.status = this.answer(res, 429, { message: 'The API rate limit has been exceeded. Try again later.' })
    else {
      const requestId = randomUUID()
      const sentMessages = messages.map((_, i) => ({ id: `${Date.now()}${i}`, quoteToken: randomUUID() }))
      if (retryKey) this.accepted.set(retryKey, { requestId, sentMessages })
      record.status = this.answer(res, 200, { sentMessages }, { 'x-line-request-id': requestId })
    }
  }
}

/** The fields every webhook event has (webhook.yml), from one user, at `timestamp` (LINE's clock). */
const eventBase = (type: string, userId: string, id: string, timestamp: number) => ({
  type,
  mode: 'active',
  timestamp,
  webhookEventId: id,
  deliveryContext: { isRedelivery: false },
  replyToken: `rt-${id}`,
  source: { type: 'user', userId },
})

let messageSeq = 0

const builders = (now: () => number) => ({
  postback: (userId: string, data: string, id: string = randomUUID()) => ({ ...eventBase('postback', userId, id, now()), postback: { data } }),
  follow: (userId: string, id: string = randomUUID()) => ({ ...eventBase('follow', userId, id, now()), follow: { isUnblocked: false } }),
  text: (userId: string, text: string, id: string = randomUUID()) => ({ ...eventBase('message', userId, id, now()), message: { type: 'text', id: String(++messageSeq), text } }),
})

/** Webhook event builders (webhook.yml shapes), stamped now; `at(ms)` stamps them at another time. */
export const lineEvents = { ...builders(Date.now), at: (ms: number) => builders(() => ms) }
