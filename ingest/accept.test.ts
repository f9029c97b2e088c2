import { describe, expect, it } from 'vitest'
import { FIXTURE_TS, validCommand, validPump, validStatus } from '../contracts/fixtures.js'
import { Deduper, farmFilters, farmMatcher, judge } from './accept.js'

const policy = { maxBytes: 64 * 1024, maxFutureMs: 300_000, farmAllowed: () => true }
const raw = (v: unknown) => Buffer.from(JSON.stringify(v))
const topic = 'farm/ranong-01/pump/pump-1/telemetry'

describe('judge', () => {
  it('accepts a valid reading with a dedup key of boot and seq', () => {
    const v = judge(topic, raw(validPump), FIXTURE_TS, policy)
    expect(v).toMatchObject({ kind: 'accept', dedup: true, payload: { boot: 3, seq: 42 } })
  })

  it('accepts readings hours or days late, with their own timestamp', () => {
    const v = judge(topic, raw(validPump), FIXTURE_TS + 7 * 86_400_000, policy)
    expect(v.kind === 'accept' && v.line.endsWith(` ${FIXTURE_TS}`)).toBe(true)
  })

  it('refuses a clock too far in the future', () => {
    expect(judge(topic, raw(validPump), FIXTURE_TS - 3_600_000, policy)).toMatchObject({ kind: 'reject', code: 'future_ts' })
  })

  it('stores status without a dedup key, ignores commands and other instances\' farms', () => {
    expect(judge('farm/ranong-01/pump/pump-1/status', raw(validStatus), FIXTURE_TS, policy)).toMatchObject({ kind: 'accept', dedup: false })
    expect(judge('farm/ranong-01/pump/pump-1/cmd', raw(validCommand), FIXTURE_TS, policy).kind).toBe('ignore')
    expect(judge(topic, raw(validPump), FIXTURE_TS, { ...policy, farmAllowed: () => false }).kind).toBe('ignore')
  })
})

describe('farm split', () => {
  it('matches patterns and builds filters', () => {
    const m = farmMatcher(['ranong-*', 'krabi-02'])
    expect([m('ranong-07'), m('krabi-02'), m('krabi-03')]).toEqual([true, true, false])
    expect(farmFilters([], ['telemetry'])).toEqual(['farm/+/+/+/telemetry'])
    expect(farmFilters(['a', 'b'], ['telemetry', 'status'])).toEqual([
      'farm/a/+/+/telemetry',
      'farm/a/+/+/status',
      'farm/b/+/+/telemetry',
      'farm/b/+/+/status',
    ])
    expect(farmFilters(['ranong-*'], ['status'])).toEqual(['farm/+/+/+/status'])
  })
})

describe('deduper', () => {
  it('remembers a window of sequence numbers per device', () => {
    const d = new Deduper(64)
    for (let seq = 0; seq < 100; seq++) d.add('p', 1, seq)
    expect([d.has('p', 1, 35), d.has('p', 1, 36), d.has('p', 1, 99), d.has('p', 1, 100), d.has('q', 1, 99), d.has('p', 2, 99)]).toEqual([false, true, true, false, false, false])
  })

  it('remembers only what was added, across gaps and out of order', () => {
    const d = new Deduper(64)
    for (const seq of [10, 12, 11, 50, 40]) d.add('p', 1, seq)
    expect([10, 11, 12, 13, 40, 41, 49, 50, 51].map((s) => d.has('p', 1, s))).toEqual([true, true, true, false, true, false, false, true, false])
    d.add('p', 1, 80) // slides past 10..16: forgotten; 40 and 50 stay
    expect([10, 12, 40, 50, 80].map((s) => d.has('p', 1, s))).toEqual([false, false, true, true, true])
    d.add('p', 1, 500) // a jump wider than the window clears it
    expect([40, 50, 80, 500].map((s) => d.has('p', 1, s))).toEqual([false, false, false, true])
  })

  it('keeps the last two boots apart', () => {
    const d = new Deduper(64)
    d.add('p', 1, 7)
    d.add('p', 2, 0)
    expect([d.has('p', 1, 7), d.has('p', 2, 0), d.has('p', 2, 7), d.has('p', 1, 0)]).toEqual([true, true, false, false])
    d.add('p', 3, 0) // a third boot pushes the first out
    expect([d.has('p', 1, 7), d.has('p', 2, 0), d.has('p', 3, 0)]).toEqual([false, true, true])
  })
})
