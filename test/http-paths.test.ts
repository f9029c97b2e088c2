/**
 * Issue 13: a request path the server cannot read is the client's mistake: 400 with the reason,
 * never 500, and never an exception that takes the process down. Every technician API route with
 * a path parameter, and request targets that are not URLs at all, over real sockets.
 */
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { farmsFileJson } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'

let h: AlertsHarness

beforeAll(async () => {
  h = await AlertsHarness.start({ farms: farmsFileJson(), env: { ALERTS_API_TOKEN: 'tech-token' } })
})

afterAll(async () => {
  await h?.close()
})

/** Cut multi-byte sequence, lone %, not hex, invalid UTF-8, an encoded surrogate half. */
const BAD = ['%E0%A4%A', '%', '%zz', '%C3%28', '%ED%A0%80']
const ROUTES: Array<[method: string, template: string]> = [
  ['GET', 'alerts/:id'],
  ['POST', 'alerts/:id/ack'],
  ['POST', 'alerts/:id/resolve'],
  ['GET', 'commands/:id'],
  ['POST', 'contacts/:id/link-code'],
  ['GET', 'work-orders/:id'],
  ['POST', 'work-orders/:id/visits'],
  ['POST', 'work-orders/:id/close'],
  ['GET', ':id'],
  ['POST', 'alerts/x/:id'],
]

/** One raw request; the status line and body of the answer. */
function raw(requestTarget: string): Promise<string> {
  const port = Number(new URL(h.baseUrl).port)
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    let out = ''
    s.on('data', (d: Buffer) => (out += d.toString('latin1')))
    s.on('error', reject)
    s.on('close', () => resolve(out))
    s.setTimeout(5_000, () => s.destroy()) // a crashed handler never answers
    s.write(`GET ${requestTarget} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  })
}

describe('unreadable request paths', () => {
  it('every technician API route with a path parameter answers 400 to a bad percent-encoding', async () => {
    const answers: string[] = []
    for (const [method, template] of ROUTES) {
      for (const bad of BAD) {
        const res = await fetch(`${h.baseUrl}/alerts/api/${template.replace(':id', bad)}`, {
          method,
          headers: { authorization: 'Bearer tech-token', 'content-type': 'application/json' },
          ...(method === 'POST' ? { body: '{"by":"x"}' } : {}),
        })
        const body = (await res.json()) as { error?: string }
        answers.push(`${method} ${template} ${bad} -> ${res.status} ${body.error ?? ''}`)
      }
    }
    expect(answers.filter((a) => !/ -> 400 bad percent-encoding in the path$/.test(a))).toEqual([])
    // A well-encoded id still reaches its route.
    expect((await h.api('GET', `alerts/${encodeURIComponent('no such/alert')}`)).status).toBe(404)
  })

  it('a request target that is not a URL answers 400 and the server keeps serving', async () => {
    for (const target of ['http://[/alerts/api/alerts', 'http://a:b:c/x', 'http://%/x']) {
      expect(await raw(target)).toMatch(/^HTTP\/1\.1 400 [^]*"error":"request target is not a URL"/)
    }
    expect((await h.api('GET', 'alerts')).status).toBe(200)
  })
})
