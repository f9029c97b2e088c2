/**
 * SMS providers against local gateways that follow their documented request shapes: Twilio and
 * ThaiBulkSMS, UCS-2 Thai within three segments, retries on 5xx, and no resend after an answer
 * that never came (an SMS has no idempotency key).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { smsLength } from '../alerts/sms-text.js'
import { farmsFileJson } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { healthyPump, pump } from '../alerts/testing/readings.js'
import { SmsStub } from '../alerts/testing/sms-stub.js'
import { waitFor } from './helpers/wait-for.js'

const CREDS = { tbsKey: 'tbs-key', tbsSecret: 'tbs-secret', twilioSid: 'AC1234', twilioToken: 'tw-token' }
const MIN = 60_000
let sms: SmsStub
let h: AlertsHarness

beforeEach(async () => {
  sms = await new SmsStub(CREDS).start()
})

afterEach(async () => {
  await h.close()
  await sms.close()
})

async function start(env: Record<string, string>): Promise<void> {
  h = await AlertsHarness.start({
    farms: farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } }),
    env: { ALERTS_API_TOKEN: 'api', ALERTS_SWEEP_CRON: '* * * * * *', ALERTS_RETRY_BASE_MS: '100', SMS_SENDER: 'PUMPALERT', ...env },
  })
}

const tbs = () => ({
  SMS_PROVIDER: 'thaibulksms',
  THAIBULKSMS_API_KEY: CREDS.tbsKey,
  THAIBULKSMS_API_SECRET: CREDS.tbsSecret,
  THAIBULKSMS_BASE_URL: sms.url,
})
const publish = (r: ReturnType<typeof pump>) => h.hub.publish({ ...r, receivedMs: h.now() })
const outbox = async () => (await h.api('GET', 'outbox')).json.items as Array<{ status: string; channel: string; attempts: number; result?: { segments?: number } }>

describe('SMS', () => {
  it('Twilio: one Thai SMS on firing and one on resolving, each within three UCS-2 segments', async () => {
    await start({
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: CREDS.twilioSid,
      TWILIO_AUTH_TOKEN: CREDS.twilioToken,
      TWILIO_FROM: 'PUMPALERT',
      TWILIO_BASE_URL: sms.url,
    })
    publish(pump(h.now(), { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0 }))
    await waitFor(() => sms.delivered().length === 1, { message: 'the Twilio SMS' })
    // The stand-in has the message a moment before the outbox records the provider's answer. The
    // firing item is read before the clock moves on: once its alert resolves, a finished item is
    // kept for 10 minutes of alert time only.
    const recorded = async () => (await outbox()).filter((i) => i.status === 'sent').map((i) => i.result?.segments)
    await waitFor(async () => (await recorded()).length === 1, { message: 'the firing SMS recorded as sent' })
    const fireSegments = await recorded()
    h.offsetMs += 10 * MIN
    for (let i = 0; i < 7; i++) publish(healthyPump(h.now() + i * MIN))
    await waitFor(() => sms.delivered().length === 2, { message: 'the resolve SMS' })
    const [fire, resolved] = sms.delivered()
    expect(fire).toMatchObject({ provider: 'twilio', to: '+66812345678', sender: 'PUMPALERT' })
    expect(fire?.text).toContain('ปั๊มทำงานแห้ง')
    expect(resolved?.text).toContain('กลับเป็นปกติแล้ว')
    for (const m of sms.delivered()) expect(smsLength(m.text).encoding).toBe('ucs2')
    for (const m of sms.delivered()) expect(smsLength(m.text).segments).toBeLessThanOrEqual(3)
    expect(fireSegments).toEqual([smsLength(fire?.text ?? '').segments])
    const resolveSegments = smsLength(resolved?.text ?? '').segments
    await waitFor(async () => (await recorded()).includes(resolveSegments) && (await outbox()).every((i) => i.status === 'sent'), {
      message: 'the resolve SMS recorded as sent',
    })
  })

  it('ThaiBulkSMS answering 500 is retried; the message is sent once', async () => {
    await start(tbs())
    sms.script.push(500)
    publish(pump(h.now(), { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0 }))
    await waitFor(() => sms.delivered().length === 1, { message: 'delivery after a 500' })
    expect(sms.messages.map((m) => m.status)).toEqual([500, 201])
    expect(sms.delivered()[0]).toMatchObject({ provider: 'thaibulksms', to: '66812345678' })
    await waitFor(async () => (await outbox())[0]?.status === 'sent')
  })

  it('an SMS whose answer never came is uncertain and never resent, even across a restart', async () => {
    await start({ ...tbs(), ALERTS_HTTP_TIMEOUT_MS: '300' })
    sms.script.push('hang')
    publish(pump(h.now(), { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0 }))
    await waitFor(async () => (await outbox())[0]?.status === 'uncertain', { message: 'an uncertain SMS' })
    await h.restart()
    await h.sweeps(2)
    expect(sms.messages).toHaveLength(1)
  })
})
