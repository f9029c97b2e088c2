/**
 * The alert service end to end against a local LINE Messaging API that follows the documented
 * behaviour (alerts/testing/line-stub.ts): one message per recipient per incident, the signed
 * acknowledge postback, forged signatures, retries under one retry key, the quota fallback to SMS.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { farmsFileJson, LINE_IDS } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { lineEvents, LineStub, signLineBody } from '../alerts/testing/line-stub.js'
import { healthyPump, pump } from '../alerts/testing/readings.js'
import { SmsStub } from '../alerts/testing/sms-stub.js'
import { waitFor } from './helpers/wait-for.js'

const TOKEN = 'test-channel-token'
const SECRET = 'test-channel-secret'
const SMS = { tbsKey: 'k', tbsSecret: 's', twilioSid: 'AC0123', twilioToken: 't' }
const MIN = 60_000

let line: LineStub
let sms: SmsStub
let h: AlertsHarness

/**
 * No quiet hours, and no offline rule (these pumps fall silent after the incident), so the
 * tests pass at any hour of the day.
 */
const farms = () => farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } })

async function start(env: Record<string, string> = {}): Promise<AlertsHarness> {
  return AlertsHarness.start({
    farms: farms(),
    env: {
      LINE_CHANNEL_ACCESS_TOKEN: TOKEN,
      LINE_CHANNEL_SECRET: SECRET,
      LINE_API_BASE_URL: line.url,
      SMS_PROVIDER: 'thaibulksms',
      SMS_SENDER: 'PUMPALERT',
      THAIBULKSMS_API_KEY: SMS.tbsKey,
      THAIBULKSMS_API_SECRET: SMS.tbsSecret,
      THAIBULKSMS_BASE_URL: sms.url,
      ALERTS_API_TOKEN: 'api-token',
      ALERTS_SWEEP_CRON: '* * * * * *',
      ALERTS_RETRY_BASE_MS: '100',
      ...env,
    },
  })
}

beforeEach(async () => {
  line = await new LineStub(TOKEN).start()
  sms = await new SmsStub(SMS).start()
})

afterEach(async () => {
  await h?.close()
  await line.close()
  await sms.close()
})

const dryRun = (ts: number) => pump(ts, { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0, motor_a: 1.1 })
const publish = (r: ReturnType<typeof pump>) => h.hub.publish({ ...r, receivedMs: h.now() })

async function webhook(body: string, signature?: string): Promise<Response> {
  return fetch(`${h.baseUrl}/line/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-line-signature': signature }) },
    body,
  })
}

async function firedAlertId(): Promise<string> {
  const open = await waitFor(async () => {
    const { json } = await h.api('GET', 'alerts')
    return (json.alerts as Array<{ id: string; status: string }>).find((a) => a.status === 'firing')
  }, { message: 'a firing alert' })
  return open.id
}

describe('alerts over LINE', () => {
  it('one incident: exactly one card to the farmer on firing and one note on resolving', async () => {
    h = await start()
    const t0 = h.now()
    for (let i = 0; i < 5; i++) publish(dryRun(t0 + i * 1_000))
    await waitFor(() => line.delivered().length === 1, { message: 'the firing card' })
    h.offsetMs += 10 * MIN // the pump recovers: healthy for 6 minutes of data time
    for (let i = 0; i < 7; i++) publish(healthyPump(h.now() + i * MIN))
    await waitFor(() => line.delivered().length === 2, { message: 'the resolve note' })
    const [card, note] = line.delivered()
    expect(card?.to).toBe(LINE_IDS.farmer)
    expect(card?.messages[0]).toMatchObject({ type: 'flex', altText: expect.stringContaining('ปั๊มทำงานแห้ง') })
    expect(note).toMatchObject({ to: LINE_IDS.farmer, messages: [{ type: 'text', text: expect.stringContaining('กลับเป็นปกติแล้ว') }] })
    h.offsetMs += 60 * MIN
    await h.sweeps(2) // an hour later, two sweeps on: nothing more may go out
    expect(line.pushes.map((p) => p.to)).toEqual([LINE_IDS.farmer, LINE_IDS.farmer])
  })

  it('a signed postback acknowledges and stops escalation; a forged one is refused with 401', async () => {
    h = await start()
    publish(dryRun(h.now()))
    const id = await firedAlertId()
    await waitFor(() => line.delivered().length === 1)
    const ack = JSON.stringify({ destination: 'Ubot', events: [lineEvents.postback(LINE_IDS.farmer, `a=ack&id=${id}`)] })
    expect((await webhook(ack, signLineBody(ack, 'wrong-secret'))).status).toBe(401)
    expect((await webhook(ack)).status).toBe(401)
    const { json: still } = await h.api('GET', `alerts/${id}`)
    expect(still.alert).toMatchObject({ status: 'firing' })

    expect((await webhook(ack, signLineBody(ack, SECRET))).status).toBe(200)
    const { json } = await h.api('GET', `alerts/${id}`)
    expect(json.alert).toMatchObject({ status: 'acknowledged', ack: { by: 'สมชาย', via: 'line' } })
    await waitFor(() => line.replies.length === 1, { message: 'the free reply' })
    expect(JSON.stringify(line.replies[0])).toContain('รับทราบโดย สมชาย')
    // The same event redelivered changes nothing and gets no second reply.
    expect((await webhook(ack, signLineBody(ack, SECRET))).status).toBe(200)
    h.offsetMs += 20 * MIN
    await h.sweeps(2)
    expect(line.pushes.map((p) => p.to)).toEqual([LINE_IDS.farmer])
    expect(line.replies).toHaveLength(1)
  })

  it('without an acknowledgement the technician hears after escalateAfterMin; a stranger cannot acknowledge', async () => {
    h = await start()
    publish(dryRun(h.now()))
    const id = await firedAlertId()
    const stranger = JSON.stringify({ events: [lineEvents.postback(LINE_IDS.stranger, `a=ack&id=${id}`)] })
    expect((await webhook(stranger, signLineBody(stranger, SECRET))).status).toBe(200)
    await waitFor(() => line.replies.length === 1)
    expect(JSON.stringify(line.replies[0])).toContain('ยังไม่ได้ลงทะเบียน')
    h.offsetMs += 15 * MIN
    await waitFor(() => line.delivered().length === 2, { message: 'the escalation to the technician' })
    expect(line.delivered().map((p) => p.to)).toEqual([LINE_IDS.farmer, LINE_IDS.technician])
  })

  it('a one-time code typed in the chat links a LINE user to a contact', async () => {
    const file = farms()
    const farm = (file.farms as Record<string, { contacts: Array<Record<string, unknown>> }>)['ranong-01']
    if (farm?.contacts[0]) delete farm.contacts[0].line // the farmer has not linked LINE yet
    h = await AlertsHarness.start({ farms: file, env: { LINE_CHANNEL_ACCESS_TOKEN: TOKEN, LINE_CHANNEL_SECRET: SECRET, LINE_API_BASE_URL: line.url, ALERTS_API_TOKEN: 'api-token' } })
    const { status, json } = await h.api('POST', 'contacts/somchai/link-code')
    expect(status).toBe(201)
    const newUser = `U${'e'.repeat(32)}`
    const body = JSON.stringify({ events: [lineEvents.follow(newUser), lineEvents.text(newUser, String(json.code))] })
    expect((await webhook(body, signLineBody(body, SECRET))).status).toBe(200)
    await waitFor(() => line.replies.length === 2)
    expect(JSON.stringify(line.replies[1])).toContain('ลงทะเบียนสำเร็จ')
    publish(dryRun(h.now()))
    await waitFor(() => line.delivered().length === 1)
    expect(line.delivered()[0]?.to).toBe(newUser)
    // The link is the person's LINE id in the registry now (issue 14), with who made it and how.
    await waitFor(async () => (await h.registry.people.get('somchai'))?.lineUserId === newUser, { message: 'the link in the registry' })
    expect((await h.registry.audit.list({ target: 'person:somchai' })).at(-1)).toMatchObject({ who: 'somchai', how: 'line', action: 'person.update' })
  })
})

describe('link codes and replays over the signed webhook (issue 13)', () => {
  const post = async (events: unknown[]) => {
    const body = JSON.stringify({ destination: 'Ubot', events })
    expect((await webhook(body, signLineBody(body, SECRET))).status).toBe(200)
  }
  const counted = (name: string, labels: Record<string, string>) => h.metrics.counter(name, '').get(labels)
  const guesser = `U${'9'.repeat(32)}`

  it('5 wrong codes from one LINE user, then a restart: the right code is still refused until the window passes', async () => {
    h = await start()
    const { json } = await h.api('POST', 'contacts/kru-ann/link-code')
    const code = String(json.code)
    const wrong = [1, 2, 3, 4, 5].map((d) => String((Number(code) + d) % 1_000_000).padStart(6, '0'))
    await post(wrong.map((w) => lineEvents.text(guesser, w)))
    await waitFor(() => line.replies.length === 5, { message: 'five replies' })
    expect(counted('suanyang_alert_link_code_attempts_total', { result: 'wrong' })).toBe(5)
    await h.restart() // the count is in state.json, saved before the webhook answered
    await post([lineEvents.text(guesser, code)])
    await waitFor(() => line.replies.length === 6, { message: 'the wait reply' })
    expect(JSON.stringify(line.replies[5])).toContain('กรุณารอ 15 นาที')
    expect(counted('suanyang_alert_link_code_attempts_total', { result: 'rate_limited' })).toBe(1)
    const { json: outbox } = await h.api('GET', 'outbox')
    expect(outbox.items).toEqual([]) // nobody was linked, nothing was sent
  })

  it('a signed body replayed after LINE_WEBHOOK_MAX_AGE_MS is refused; an event without webhookEventId is handled once', async () => {
    h = await start({ LINE_WEBHOOK_MAX_AGE_MS: String(2 * MIN) })
    publish(dryRun(h.now()))
    const id = await firedAlertId()
    await post([lineEvents.at(h.now() - 3 * MIN).postback(LINE_IDS.farmer, `a=ack&id=${id}`)])
    expect(counted('suanyang_alert_webhook_events_refused_total', { reason: 'too_old' })).toBe(1)
    expect((await h.api('GET', `alerts/${id}`)).json.alert).toMatchObject({ status: 'firing' })

    const { webhookEventId: _id, ...undated } = lineEvents.postback(LINE_IDS.farmer, `a=ack&id=${id}`)
    await post([undated])
    await post([{ ...undated, deliveryContext: { isRedelivery: true } }])
    expect(counted('suanyang_alert_webhook_events_refused_total', { reason: 'duplicate' })).toBe(1)
    expect((await h.api('GET', `alerts/${id}`)).json.alert).toMatchObject({ status: 'acknowledged', ack: { by: 'สมชาย' } })
    await waitFor(() => line.replies.length === 1, { message: 'one reply' })
    await h.sweeps(1)
    expect(line.replies).toHaveLength(1)
  })
})

describe('schedules', () => {
  it('the daily digest (cron) reaches the farmer once a day, however often the schedule runs', async () => {
    h = await start({ ALERTS_DIGEST_CRON: '* * * * * *' })
    publish(healthyPump(h.now()))
    await waitFor(() => line.delivered().length === 1, { message: 'the digest' })
    expect(line.delivered()[0]).toMatchObject({ to: LINE_IDS.farmer, messages: [{ type: 'text', text: expect.stringContaining('สรุปวันนี้ สวนลุงสมชาย') }] })
    await h.sweeps(2)
    expect(line.pushes).toHaveLength(1)
  })
})

describe('LINE failures', () => {
  it('500 twice then 200: delivered once, every attempt under one retry key', async () => {
    h = await start()
    line.script.push(500, 500)
    publish(dryRun(h.now()))
    await waitFor(() => line.delivered().length === 1, { message: 'delivery after two 500s' })
    expect(line.pushes.map((p) => p.status)).toEqual([500, 500, 200])
    expect(new Set(line.pushes.map((p) => p.retryKey)).size).toBe(1)
    const { json } = await h.api('GET', 'outbox')
    expect(json.items).toMatchObject([{ status: 'sent', attempts: 3, channel: 'line' }])
  })

  it('429 monthly quota: the farmer gets an SMS instead', async () => {
    h = await start()
    line.script.push('quota')
    publish(dryRun(h.now()))
    await waitFor(() => sms.delivered().length === 1, { message: 'the SMS fallback' })
    expect(sms.delivered()[0]).toMatchObject({ provider: 'thaibulksms', to: '66812345678', sender: 'PUMPALERT' })
    expect(sms.delivered()[0]?.text).toContain('ปั๊มทำงานแห้ง')
    expect(line.delivered()).toEqual([])
    const { json } = await h.api('GET', 'outbox')
    expect((json.items as Array<{ status: string; channel: string }>).map((i) => `${i.channel}:${i.status}`).sort()).toEqual(['line:fallback', 'sms:sent'])
  })

  it('a request LINE took but never answered is resent after a restart under the same key: 409, delivered once', async () => {
    h = await start({ ALERTS_HTTP_TIMEOUT_MS: '60000' })
    line.script.push('hang')
    publish(dryRun(h.now()))
    await waitFor(() => line.pushes.length === 1)
    await h.restart()
    await waitFor(() => line.pushes.length === 2, { message: 'the resend after restart' })
    expect(line.pushes[1]).toMatchObject({ status: 409, retryKey: line.pushes[0]?.retryKey })
    await waitFor(async () => ((await h.api('GET', 'outbox')).json.items as Array<{ status: string }>)[0]?.status === 'sent')
  })
})
