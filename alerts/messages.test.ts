import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import { ackData, parsePostback, renderAlert } from './messages.js'
import { RULES_BY_ID } from './rules.js'
import { fitSms, MAX_SMS_SEGMENTS, smsLength } from './sms-text.js'
import { RULE_TEXT } from './texts.js'
import { type AlertRecord, RULE_IDS } from './types.js'

describe('smsLength', () => {
  it('counts GSM-7 in septets (160 / 153) and anything else in UCS-2 units (70 / 67)', () => {
    expect(smsLength('a'.repeat(160))).toEqual({ encoding: 'gsm7', units: 160, segments: 1 })
    expect(smsLength('a'.repeat(161)).segments).toBe(2)
    expect(smsLength('{'.repeat(80))).toMatchObject({ encoding: 'gsm7', units: 160, segments: 1 })
    expect(smsLength('ก'.repeat(70))).toEqual({ encoding: 'ucs2', units: 70, segments: 1 })
    expect(smsLength('ก'.repeat(71)).segments).toBe(2)
    expect(smsLength('ก'.repeat(134)).segments).toBe(2)
    expect(smsLength('ก'.repeat(135)).segments).toBe(3)
    // Thai marks are code units of their own: น้ำ is three.
    expect(smsLength('น้ำ').units).toBe(3)
  })

  it('fitSms drops or cuts trailing parts, never the first, to stay within three segments', () => {
    const long = 'ตรวจ'.repeat(100)
    const text = fitSms(['ฟาร์ม ปั๊ม1:', 'ปั๊มทำงานแห้ง', long])
    expect(smsLength(text).segments).toBeLessThanOrEqual(MAX_SMS_SEGMENTS)
    expect(text.startsWith('ฟาร์ม ปั๊ม1: ปั๊มทำงานแห้ง ตรวจ')).toBe(true)
    expect(text.endsWith('…')).toBe(true)
    expect(fitSms(['short', 'text'])).toBe('short text')
    expect(smsLength(fitSms(['x'.repeat(1000)])).segments).toBe(3)
  })
})

const T = FIXTURE_TS
const alert = (rule: (typeof RULE_IDS)[number]): AlertRecord => ({
  id: `ranong-01-with-a-long-name.pump-with-a-long-name-123.${rule}.${T.toString(36)}`,
  key: 'k',
  farm: 'ranong-01-with-a-long-name',
  kind: 'pump',
  device: 'pump-with-a-long-name-123',
  rule,
  severity: RULES_BY_ID[rule].severity,
  audience: 'farmer',
  status: 'firing',
  sinceMs: T,
  firedMs: T,
  flapping: false,
  version: 1,
  detail: { flow_lpm: 0, pv_w: 512 },
  snapshot: [],
  escalation: { step: 0 },
  notified: [],
})

describe('renderAlert', () => {
  it('every rule, in Thai and English: a Flex card with an acknowledge postback, an SMS within three segments', () => {
    for (const locale of ['th', 'en'] as const) {
      for (const rule of RULE_IDS) {
        const r = renderAlert({ alert: alert(rule), purpose: 'fire', locale, farmName: 'สวนยางบ้านนายสมชาย ตำบลหงาว', deviceName: 'ปั๊มบ่อน้ำหลังบ้าน' })
        const card = r.line[0] as { type: string; altText: string; contents: { footer: { contents: Array<{ action: { data: string; label: string } }> } } }
        expect(card.type).toBe('flex')
        expect(card.altText).toContain(RULE_TEXT[locale][rule].title)
        const action = card.contents.footer.contents[0]?.action
        expect(action?.data.length).toBeLessThanOrEqual(300)
        expect([...new Intl.Segmenter('th', { granularity: 'grapheme' }).segment(action?.label ?? '')].length).toBeLessThanOrEqual(20)
        expect(parsePostback(action?.data ?? '')).toEqual({ action: 'ack', id: alert(rule).id })
        expect(smsLength(r.sms).segments, `${locale} ${rule}: ${r.sms}`).toBeLessThanOrEqual(3)
        expect(r.sms).toContain(RULE_TEXT[locale][rule].title)
      }
    }
  })

  it('a resolve note says who closed it and why, and an SMS without a card', () => {
    const done = { ...alert('dry_run'), status: 'resolved' as const, resolved: { by: 'ช่างสมศักดิ์', via: 'api' as const, atMs: T + 3_600_000, note: 'ล้างตะแกรงแล้ว' } }
    const r = renderAlert({ alert: done, purpose: 'resolve', locale: 'th', farmName: 'สวน', deviceName: 'ปั๊ม 1' })
    expect(r.line).toEqual([{ type: 'text', text: expect.stringContaining('ช่างสมศักดิ์') }])
    expect((r.line[0] as { text: string }).text).toContain('11:00')
    expect(r.sms).toContain('ล้างตะแกรงแล้ว')
  })

  it('parsePostback refuses data without an action or id', () => {
    expect(parsePostback('a=ack')).toBeUndefined()
    expect(parsePostback(ackData('x.y.z'))).toEqual({ action: 'ack', id: 'x.y.z' })
  })
})
