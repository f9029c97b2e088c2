import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import { farmsFileJson, LINE_IDS, testEngine, testFarms } from './testing/farms.js'
import { lineEvents as eventsNow, signLineBody } from './testing/line-stub.js'
import { pump } from './testing/readings.js'
import { issueLinkCode } from './link-codes.js'
import { handleEvents, verifySignature } from './webhook.js'
import { Farms, FarmsFile } from './contacts.js'

const T = FIXTURE_TS
const MIN = 60_000
/** Events stamped at T, the engine's clock here (an event far from the clock is refused). */
const lineEvents = eventsNow.at(T)

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

/** An engine with one firing dry-run alert. */
const fired = () => {
  const farms = testFarms()
  const engine = testEngine({ farms })
  const fx = engine.onReading(pump(T, { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0 }), T)
  return { farms, engine, id: fx.events[0]?.alert.id as string }
}

describe('handleEvents', () => {

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
    expect(out.linkAttempts.map((a) => (a.ok ? 'linked' : a.reason))).toEqual(['linked', 'wrong'])
  })
})

describe('link codes (issue 13)', () => {
  const user = (n: number) => `U${n.toString(16).padStart(32, '0')}`
  const replies = (out: { replies: Array<{ messages: unknown[] }> }) => out.replies.map((r) => JSON.stringify(r.messages))
  /** A guess that is not `code` (seeded: the same guesses every run). */
  const wrongGuesses = (code: string, count: number, seed = 13) => {
    const out: string[] = []
    for (let x = seed; out.length < count; ) {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31
      const guess = String(x % 1_000_000).padStart(6, '0')
      if (guess !== code) out.push(guess)
    }
    return out
  }

  it('live 10 minutes by default; a new code for a contact replaces the previous one', () => {
    const { farms, engine } = fired()
    const first = issueLinkCode(engine.state, 'somchai', T)
    expect(first.expiresMs - T).toBe(10 * MIN)
    const second = issueLinkCode(engine.state, 'somchai', T)
    handleEvents([lineEvents.text(user(1), first.code)], engine, farms, T)
    expect(engine.state.links.somchai).toBeUndefined()
    const late = eventsNow.at(T + 10 * MIN + 1)
    handleEvents([late.text(user(2), second.code)], engine, farms, T + 10 * MIN + 1)
    expect(engine.state.links.somchai).toBeUndefined()
  })

  it('one LINE user: 5 wrong codes in 15 minutes, then told to wait in their language, even with the right code', () => {
    const { farms, engine } = fired()
    const { code } = issueLinkCode(engine.state, 'kru-ann', T)
    const guesses = wrongGuesses(code, 5).map((g) => lineEvents.text(LINE_IDS.technician, g))
    const out = handleEvents([...guesses, lineEvents.text(LINE_IDS.technician, code)], engine, farms, T)
    expect(engine.state.links['kru-ann']).toBeUndefined()
    expect(replies(out).slice(0, 5)).toEqual(Array(5).fill(expect.stringContaining('Wrong or expired code')))
    expect(replies(out)[5]).toContain('Too many wrong codes. Please wait 15 minutes')
    expect(out.linkAttempts.map((a) => (a.ok ? 'linked' : a.reason))).toEqual([...Array(5).fill('wrong'), 'rate_limited'])
    // A Thai user (anyone not known) is told in Thai; another user is not held back by this one.
    const thai = handleEvents(wrongGuesses(code, 6, 99).map((g) => lineEvents.text(user(7), g)), engine, farms, T)
    expect(replies(thai)[5]).toContain('กรุณารอ 15 นาที')
    // The window slides: 15 minutes after the first wrong code, the right one works.
    const later = eventsNow.at(T + 15 * MIN)
    const fresh = issueLinkCode(engine.state, 'kru-ann', T + 15 * MIN)
    handleEvents([later.text(LINE_IDS.technician, fresh.code)], engine, farms, T + 15 * MIN)
    expect(engine.state.links['kru-ann']).toBe(LINE_IDS.technician)
  })

  it('many LINE accounts: an open code is burnt after 20 wrong guesses from anyone, so any one code has at most 20 in a million chances', () => {
    const { farms, engine } = fired()
    const { code } = issueLinkCode(engine.state, 'somchai', T)
    const other = issueLinkCode(engine.state, 'kru-ann', T)
    const guesses = wrongGuesses(code, 40).filter((g) => g !== other.code)
    // 40 accounts, one guess each: no per-user limit is reached.
    const out = handleEvents(guesses.slice(0, 20).map((g, i) => lineEvents.text(user(100 + i), g)), engine, farms, T)
    expect(out.linkAttempts.every((a) => !a.ok && a.reason === 'wrong')).toBe(true)
    const burnt = out.linkAttempts.flatMap((a) => (!a.ok && a.reason === 'wrong' ? a.burnt : []))
    expect(burnt.sort()).toEqual(['kru-ann', 'somchai'])
    expect(engine.state.linkCodes).toEqual({})
    handleEvents([lineEvents.text(user(999), code)], engine, farms, T)
    expect(engine.state.links.somchai).toBeUndefined()
    // A code issued afterwards starts its own count and works.
    const fresh = issueLinkCode(engine.state, 'somchai', T)
    handleEvents([lineEvents.text(user(1000), fresh.code)], engine, farms, T)
    expect(engine.state.links.somchai).toBe(user(1000))
  })

  it('the counts are state: they survive the JSON round trip of state.json', () => {
    const { farms, engine } = fired()
    const { code } = issueLinkCode(engine.state, 'somchai', T)
    handleEvents(wrongGuesses(code, 5).map((g) => lineEvents.text(user(5), g)), engine, farms, T)
    const reloaded = testEngine({ farms })
    Object.assign(reloaded.state, JSON.parse(JSON.stringify(engine.state)))
    const out = handleEvents([lineEvents.text(user(5), code)], reloaded, farms, T + MIN)
    expect(out.linkAttempts).toMatchObject([{ ok: false, reason: 'rate_limited' }])
    expect(reloaded.state.linkCodes[code]?.wrong).toBe(5)
  })
})

describe('webhook replay (issue 13)', () => {
  it('an event older than the bound, too far ahead, or without a timestamp is refused and reported', () => {
    const { farms, engine, id } = fired()
    const ack = (at: number) => eventsNow.at(at).postback(LINE_IDS.farmer, `a=ack&id=${id}`)
    const { timestamp: _t, ...undated } = ack(T)
    const out = handleEvents([ack(T - 5 * MIN - 1), ack(T + 5 * MIN + 1), undated], engine, farms, T)
    expect(out.refused.map((r) => r.reason)).toEqual(['too_old', 'future', 'no_timestamp'])
    expect(out.refused[0]?.ageMs).toBe(5 * MIN + 1)
    expect(engine.find(id)?.status).toBe('firing')
    expect(out.replies).toEqual([])
    // The bound is the caller's (LINE_WEBHOOK_MAX_AGE_MS); at it, the event is handled.
    handleEvents([ack(T - 5 * MIN)], engine, farms, T, { maxEventAgeMs: 5 * MIN })
    expect(engine.find(id)?.status).toBe('acknowledged')
  })

  it('an event without webhookEventId is handled once: its replay is skipped by a hash of its own fields', () => {
    const { farms, engine } = fired()
    const { code } = issueLinkCode(engine.state, 'somchai', T)
    const { webhookEventId: _w, ...guess } = lineEvents.text(LINE_IDS.stranger, String((Number(code) + 1) % 1_000_000).padStart(6, '0'))
    for (let i = 0; i < 10; i++) handleEvents([{ ...guess, deliveryContext: { isRedelivery: i > 0 } }], engine, farms, T)
    // Replayed ten times, the one wrong guess counts once.
    expect(engine.state.linkFailures[LINE_IDS.stranger]).toHaveLength(1)
    const again = handleEvents([guess], engine, farms, T + MIN)
    expect(again.refused).toMatchObject([{ reason: 'duplicate', key: expect.stringMatching(/^sha256:/) }])
    // Another message from the same user at the same time is another event.
    const { webhookEventId: _v, ...second } = lineEvents.text(LINE_IDS.stranger, code)
    handleEvents([second], engine, farms, T)
    expect(engine.state.links.somchai).toBe(LINE_IDS.stranger)
  })
})
