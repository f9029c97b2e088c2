import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import { farmsFileJson, LINE_IDS, testEngine, testFarms } from './testing/farms.js'
import { lineEvents, signLineBody } from './testing/line-stub.js'
import { pump } from './testing/readings.js'
import { handleEvents, issueLinkCode, verifySignature } from './webhook.js'
import { Farms, FarmsFile } from './contacts.js'

const T = FIXTURE_TS

describe('verifySignature', () => {
  it('accepts the HMAC-SHA256 of the raw body, and nothing else', () => {
    const body = '{"destination":"U1","events":[]}'
    expect(verifySignature(Buffer.from(body), 'secret', signLineBody(body, 'secret'))).toBe(true)
    expect(verifySignature(Buffer.from(body), 'secret', signLineBody(body, 'other'))).toBe(false)
    expect(verifySignature(Buffer.from(`${body} `), 'secret', signLineBody(body, 'secret'))).toBe(false)
    expect(verifySignature(Buffer.from(body), 'secret', undefined)).toBe(false)
    expect(verifySignature(Buffer.from(body), 'secret', 'short')).toBe(false)
  })
})

describe('handleEvents', () => {
  const fired = () => {
    const farms = testFarms()
    const engine = testEngine({ farms })
    const fx = engine.onReading(pump(T, { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0 }), T)
    return { farms, engine, id: fx.events[0]?.alert.id as string }
  }

  it('a farm contact acknowledges by postback; the reply names them; a redelivery does nothing', () => {
    const { farms, engine, id } = fired()
    const ev = lineEvents.postback(LINE_IDS.technician, `a=ack&id=${id}`, 'evt-1')
    const first = handleEvents([ev], engine, farms, T + 60_000)
    expect(first.changed).toBe(true)
    expect(first.effects.events.map((e) => e.type)).toEqual(['ack'])
    expect(engine.find(id)).toMatchObject({ status: 'acknowledged', ack: { by: 'Somsak', via: 'line' } })
    expect(JSON.stringify(first.replies)).toContain('Acknowledged by Somsak')
    const again = handleEvents([{ ...ev, deliveryContext: { isRedelivery: true } }], engine, farms, T + 61_000)
    expect(again).toMatchObject({ replies: [], changed: false })
  })

  it('a stranger, an unknown alert and a standby event change nothing', () => {
    const { farms, engine, id } = fired()
    const out = handleEvents(
      [
        lineEvents.postback(LINE_IDS.stranger, `a=ack&id=${id}`),
        lineEvents.postback(LINE_IDS.farmer, 'a=ack&id=nope'),
        { ...lineEvents.postback(LINE_IDS.farmer, `a=ack&id=${id}`), mode: 'standby', replyToken: undefined },
      ],
      engine,
      farms,
      T,
    )
    expect(out.effects.events).toEqual([])
    expect(engine.find(id)?.status).toBe('firing')
    expect(out.replies.map((r) => JSON.stringify(r.messages))).toEqual([expect.stringContaining('ยังไม่ได้ลงทะเบียน'), expect.stringContaining('ปิดไปแล้ว')])
  })

  it('a contact of another farm may not acknowledge', () => {
    const file = farmsFileJson()
    const other = new Farms(
      FarmsFile.parse({ ...file, farms: { ...(file.farms as object), 'other-farm': { name: 'x', contacts: [{ id: 'z', name: 'Z', role: 'farmer', line: LINE_IDS.stranger }] } } }),
      true,
    )
    const engine = testEngine({ farms: other })
    const id = engine.onReading(pump(T, { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0 }), T).events[0]?.alert.id as string
    handleEvents([lineEvents.postback(LINE_IDS.stranger, `a=ack&id=${id}`)], engine, other, T)
    expect(engine.find(id)?.status).toBe('firing')
  })

  it('a one-time code links a LINE user once; a wrong or used code is refused', () => {
    const { farms, engine } = fired()
    const { code } = issueLinkCode(engine.state, 'kru-ann', T)
    const user = `U${'f'.repeat(32)}`
    const out = handleEvents([lineEvents.follow(user), lineEvents.text(user, code), lineEvents.text(user, code), lineEvents.text(user, 'hello')], engine, farms, T)
    expect(engine.state.links).toEqual({ 'kru-ann': user })
    expect(out.replies.map((r) => JSON.stringify(r.messages))).toEqual([
      expect.stringContaining('รหัส 6 หลัก'),
      expect.stringContaining('ลงทะเบียนสำเร็จ'),
      expect.stringContaining('ไม่ถูกต้อง'),
    ])
    const expired = issueLinkCode(engine.state, 'somchai', T)
    handleEvents([lineEvents.text(user, expired.code)], engine, farms, T + 25 * 3_600_000)
    expect(engine.state.links.somchai).toBeUndefined()
  })
})
