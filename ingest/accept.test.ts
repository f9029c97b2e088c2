import { describe, expect, it } from 'vitest'
import { FIXTURE_TS, validCommand, validPump, validStatus } from '../contracts/fixtures.js'
import { Deduper, farmFilters, farmMatcher, judge } from './accept.js'
import { backoffMs, classify } from './writer.js'
import { HttpError } from '@influxdata/influxdb-client'

const policy = { maxBytes: 64 * 1024, maxFutureMs: 300_000, farmAllowed: () => true }
const raw = (v: unknown) => Buffer.from(JSON.stringify(v))
const topic = 'farm/ranong-01/pump/pump-1/telemetry'

describe('judge', () => {
  it('accepts a valid reading with a dedup key of boot and seq', () => {
    const v = judge(topic, raw(validPump), FIXTURE_TS, policy)
    expect(v).toMatchObject({ kind: 'accept', dedupKey: '3:42' })
  })

  it('accepts readings hours or days late, with their own timestamp', () => {
    const v = judge(topic, raw(validPump), FIXTURE_TS + 7 * 86_400_000, policy)
    expect(v.kind === 'accept' && v.line.endsWith(` ${FIXTURE_TS}`)).toBe(true)
  })

  it('refuses a clock too far in the future', () => {
    expect(judge(topic, raw(validPump), FIXTURE_TS - 3_600_000, policy)).toMatchObject({ kind: 'reject', code: 'future_ts' })
  })

  it('stores status without a dedup key, ignores commands and other instances\' farms', () => {
    expect(judge('farm/ranong-01/pump/pump-1/status', raw(validStatus), FIXTURE_TS, policy)).toMatchObject({ kind: 'accept', dedupKey: undefined })
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
  it('remembers a bounded window per device', () => {
    const d = new Deduper(3)
    for (const k of ['1:1', '1:2', '1:3', '1:4']) d.add('p', k)
    expect([d.has('p', '1:1'), d.has('p', '1:2'), d.has('p', '1:4'), d.has('q', '1:4')]).toEqual([false, true, true, false])
  })
})

describe('write retry decision', () => {
  it('retries network errors, 5xx and 429 (with Retry-After), splits point errors', () => {
    expect(classify(new Error('ECONNREFUSED'))).toEqual({ retry: true })
    expect(classify(new HttpError(503, 'unavailable'))).toEqual({ retry: true })
    expect(classify(new HttpError(429, 'slow down', '', '7'))).toEqual({ retry: true, delayMs: 7000 })
    expect(classify(new HttpError(400, 'partial write'))).toEqual({ retry: false, split: true })
    expect(classify(new HttpError(422, 'unprocessable'))).toEqual({ retry: false, split: true })
    expect(classify(new HttpError(401, 'unauthorized'))).toEqual({ retry: true })
  })

  it('backs off exponentially with jitter, up to a ceiling', () => {
    expect(backoffMs(0, 250, 30_000, () => 0)).toBe(125)
    expect(backoffMs(3, 250, 30_000, () => 1)).toBe(2000)
    expect(backoffMs(20, 250, 30_000, () => 1)).toBe(30_000)
  })
})
