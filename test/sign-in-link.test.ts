/**
 * A sign-in link by LINE (issue 14), through the alerts service and a LINE stand-in that follows
 * the Messaging API: a farmer types their sign-in id, gets a one-time link on LINE, and the link
 * signs them in once. The attacker's side: the answer is the same for an unknown id; a forged
 * Host header does not move the link to another server; at most three links an hour leave per
 * person; the link's words are shown to nobody through the outbox and are not kept once sent.
 */
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { farmsFileJson, LINE_IDS } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { LineStub } from '../alerts/testing/line-stub.js'
import { waitFor } from './helpers/wait-for.js'

const TOKEN = 'sign-in-line-token'
const PUBLIC = 'https://suanyang.coop.example/console/'
let line: LineStub
let h: AlertsHarness

/** POST with a Host header of our choosing (fetch does not let one set it). */
function post(path: string, body: string, host: string): Promise<number> {
  const url = new URL(h.baseUrl)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'POST', headers: { host, 'content-type': 'application/json' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const textsTo = (to: string) =>
  line.delivered().filter((p) => p.to === to).map((p) => (p.messages as Array<{ text?: string }>).map((m) => m.text ?? '').join('\n'))

beforeAll(async () => {
  line = await new LineStub(TOKEN).start()
  h = await AlertsHarness.start({
    farms: farmsFileJson({ quietHours: { start: '00:00', end: '23:59' } }),
    env: { LINE_CHANNEL_ACCESS_TOKEN: TOKEN, LINE_CHANNEL_SECRET: 'secret', LINE_API_BASE_URL: line.url, ALERTS_API_TOKEN: 'api-token', CONSOLE_PUBLIC_URL: PUBLIC },
  })
}, 60_000)

afterAll(async () => {
  await h?.close()
  await line?.close()
})

describe('sign-in link by LINE', () => {
  let link = ''
  it('reaches the farmer on LINE at once (quiet hours or not), built on CONSOLE_PUBLIC_URL whatever the Host header says', async () => {
    expect(await post('/alerts/sign-in-link', JSON.stringify({ person: 'somchai' }), 'evil.example')).toBe(202)
    const [text] = await waitFor(() => (textsTo(LINE_IDS.farmer).length > 0 ? textsTo(LINE_IDS.farmer) : undefined), { message: 'the link on LINE' })
    expect(text).toContain('ลิงก์เข้าสู่ระบบ')
    link = /https:\/\/\S+/.exec(text ?? '')?.[0] ?? ''
    expect(link.startsWith(`${PUBLIC}#signin=`)).toBe(true)
    expect(text).not.toContain('evil.example')
  })

  it('signs in once', async () => {
    const secret = link.slice(link.indexOf('#signin=') + 8)
    const redeem = () => fetch(`${h.baseUrl}/auth/link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ link: secret }) })
    const first = await redeem()
    expect(first.status).toBe(200)
    const { token, person } = (await first.json()) as { token: string; person: { id: string } }
    expect(person.id).toBe('somchai')
    expect((await fetch(`${h.baseUrl}/alerts/api/alerts`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    expect((await redeem()).status).toBe(401)
  })

  it('says the same for an unknown id and sends nothing; refuses a malformed body', async () => {
    const before = line.pushes.length
    expect(await post('/alerts/sign-in-link', JSON.stringify({ person: 'nobody-here' }), 'localhost')).toBe(202)
    expect(await post('/alerts/sign-in-link', '{"person": "../etc"}', 'localhost')).toBe(400)
    expect(await post('/alerts/sign-in-link', 'not json', 'localhost')).toBe(400)
    await new Promise((r) => setTimeout(r, 300))
    expect(line.pushes.length).toBe(before)
  })

  it('sends at most three links an hour to one person', async () => {
    for (let i = 0; i < 4; i++) expect(await post('/alerts/sign-in-link', JSON.stringify({ person: 'somchai' }), 'localhost')).toBe(202)
    await waitFor(() => textsTo(LINE_IDS.farmer).length === 3, { message: 'three links in all' })
    await new Promise((r) => setTimeout(r, 300))
    expect(textsTo(LINE_IDS.farmer)).toHaveLength(3)
  })

  it('shows the link to nobody through the outbox, and keeps no copy of it once sent', async () => {
    const { json } = await h.api('GET', 'outbox')
    const items = (json.items as Array<{ purpose: string; sms: string; status: string }>).filter((i) => i.purpose === 'sign-in')
    expect(items.length).toBe(3)
    expect(items.every((i) => !i.sms.includes('signin='))).toBe(true)
    await waitFor(async () => !(await readFile(join(h.dataDir, 'alerts', 'state.json'), 'utf8')).includes('#signin='), { message: 'the sent links dropped from the saved state' })
  })
})
