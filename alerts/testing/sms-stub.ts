/**
 * Local SMS gateways for tests, following the documented request shapes (notifications.md 2.3,
 * 2.4): ThaiBulkSMS v2 `POST /sms` and Twilio `POST /2010-04-01/Accounts/{sid}/Messages.json`,
 * both form-encoded with Basic auth. Scripted answers: 500 or a hang.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpStub, readAll } from './http-stub.js'

export type SmsBehaviour = 'ok' | 500 | 'hang'

export interface SmsRecord {
  provider: 'thaibulksms' | 'twilio'
  to: string
  text: string
  sender: string
  status: number
}

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`

export class SmsStub extends HttpStub {
  readonly messages: SmsRecord[] = []
  readonly script: SmsBehaviour[] = []

  constructor(readonly creds: { tbsKey: string; tbsSecret: string; twilioSid: string; twilioToken: string }) {
    super()
  }

  delivered(): SmsRecord[] {
    return this.messages.filter((m) => m.status >= 200 && m.status < 300)
  }

  private send(res: ServerResponse, status: number, body: unknown): number {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
    return status
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readAll(req)
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
      this.send(res, 415, { error: { description: 'form body expected' } })
      return
    }
    const form = new URLSearchParams(raw.toString('utf8'))
    const twilio = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? '')
    if (req.url === '/sms') {
      if (req.headers.authorization !== basic(this.creds.tbsKey, this.creds.tbsSecret)) {
        this.send(res, 401, { error: { code: 401, name: 'UNAUTHORIZED', description: 'bad key or secret' } })
        return
      }
      const record: SmsRecord = { provider: 'thaibulksms', to: form.get('msisdn') ?? '', text: form.get('message') ?? '', sender: form.get('sender') ?? '', status: 0 }
      this.messages.push(record)
      if (!record.text || !record.sender) {
        record.status = this.send(res, 400, { error: { code: 400, name: 'BAD_REQUEST', description: 'message and sender are required' } })
        return
      }
      if (!/^(66|0)\d{8,9}$/.test(record.to)) {
        record.status = this.send(res, 201, { phone_number_list: [], bad_phone_number_list: [{ number: record.to, message: 'invalid number' }] })
        return
      }
      if (this.scripted(res, record)) return
      record.status = this.send(res, 201, {
        remaining_credit: 99,
        total_use_credit: 1,
        credit_type: form.get('force') ?? 'standard',
        phone_number_list: [{ number: record.to, message_id: randomBytes(11).toString('base64url'), used_credit: 1 }],
        bad_phone_number_list: [],
      })
      return
    }
    if (twilio && req.method === 'POST') {
      if (twilio[1] !== this.creds.twilioSid || req.headers.authorization !== basic(this.creds.twilioSid, this.creds.twilioToken)) {
        this.send(res, 401, { code: 20003, message: 'Authenticate', status: 401 })
        return
      }
      const record: SmsRecord = { provider: 'twilio', to: form.get('To') ?? '', text: form.get('Body') ?? '', sender: form.get('From') ?? form.get('MessagingServiceSid') ?? '', status: 0 }
      this.messages.push(record)
      if (!/^\+\d{8,15}$/.test(record.to) || !record.text || record.text.length > 1600 || !record.sender) {
        record.status = this.send(res, 400, { code: 21211, message: 'Invalid parameters', status: 400 })
        return
      }
      if (this.scripted(res, record)) return
      record.status = this.send(res, 201, { sid: `SM${randomBytes(16).toString('hex')}`, status: 'queued', to: record.to, body: record.text })
      return
    }
    this.send(res, 404, { message: 'not found' })
  }

  /** Applies the next scripted failure; false when the request should succeed. */
  private scripted(res: ServerResponse, record: SmsRecord): boolean {
    const behaviour = this.script.shift() ?? 'ok'
    if (behaviour === 'hang') {
      record.status = -1
      this.hanging.push(res)
      return true
    }
    if (behaviour === 500) {
      record.status = this.send(res, 500, { error: { description: 'internal error' } })
      return true
    }
    return false
  }
}
