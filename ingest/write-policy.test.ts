import { HttpError } from '@influxdata/influxdb-client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffMs, classify, noWriteApi, retryAfterMs, retryDelayMs, versionOf } from './write-policy.js'

const t = { url: 'http://influx:8086', bucket: 'farms/autogen', org: 'coop' }
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0)
const http = (status: number, body = '', headers: Record<string, string> = {}) =>
  new HttpError(status, 'x', body, headers['retry-after'], headers['content-type'] ?? 'application/json', undefined, headers)

describe('what a failed write means', () => {
  it('retries network errors, 5xx, 408 and 429, with Retry-After in seconds or as an HTTP-date', () => {
    expect(classify(new Error('connect ECONNREFUSED'), t, NOW)).toMatchObject({ kind: 'transient', key: 'network' })
    expect(classify(http(503), t, NOW)).toMatchObject({ kind: 'transient', key: 'http_503' })
    expect(classify(http(503), t, NOW)).not.toHaveProperty('retryAfterMs')
    expect(classify(http(429, '', { 'retry-after': '7' }), t, NOW)).toMatchObject({ kind: 'transient', key: 'http_429', retryAfterMs: 7000 })
    const date = new Date(NOW + 10_000).toUTCString()
    expect(classify(http(429, '', { 'retry-after': date }), t, NOW)).toMatchObject({ retryAfterMs: 10_000 })
    expect(classify(http(408), t, NOW)).toMatchObject({ kind: 'transient' })
  })

  it('reads Retry-After as RFC 9110 says, and nothing else', () => {
    expect(retryAfterMs('120', NOW)).toBe(120_000)
    expect(retryAfterMs('Sun, 01 Mar 2026 12:00:30 GMT', NOW)).toBe(30_000)
    expect(retryAfterMs('Sun, 01 Mar 2026 11:00:00 GMT', NOW)).toBe(0) // in the past
    expect(retryAfterMs(['5', '9'], NOW)).toBe(5_000)
    for (const bad of [undefined, '', 'soon', '-1', '1.5']) expect(retryAfterMs(bad, NOW)).toBeUndefined()
  })

  it('narrows point errors, but not a missing org', () => {
    expect(classify(http(400, '{"error":"partial write: field type conflict"}'), t, NOW)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('field type conflict') })
    expect(classify(http(422), t, NOW).kind).toBe('refused')
    expect(classify(http(413), t, NOW).kind).toBe('refused')
    // a point error quoting a device's text that mentions an org is still a point error
    expect(classify(http(400, `unable to parse 'device_event detail="org chart"'`), t, NOW).kind).toBe('refused')
    expect(classify(http(400, '{"code":"invalid","message":"Please provide either orgID or org"}'), t, NOW)).toMatchObject({ kind: 'config', key: 'org_missing' })
  })

  it('tells what to fix for 401, 403 and each kind of 404', () => {
    const token = 'InfluxDB refused the token: check INFLUX_TOKEN (and its write permission on bucket farms/autogen)'
    expect(classify(http(401), t, NOW)).toEqual({ kind: 'config', key: 'unauthorized', reason: token })
    expect(classify(http(403), t, NOW)).toMatchObject({ reason: token })
    // InfluxDB 2.x, and 1.8 (a database)
    expect(classify(http(404, '{"code":"not found","message":"bucket \\"farms/autogen\\" not found"}'), t, NOW).reason).toMatch(/^bucket farms\/autogen not found: create it or fix INFLUX_BUCKET/)
    expect(classify(http(404, '{"error":"database not found: \\"farms\\""}'), t, NOW)).toMatchObject({ key: 'bucket_not_found' })
    expect(classify(http(404, '{"code":"not found","message":"organization name \\"coop\\" not found"}'), t, NOW).reason).toMatch(/^organization "coop" not found: fix INFLUX_ORG/)
    // InfluxDB 1.6 says its version in the answer; without it, ask /ping
    const old = classify(http(404, '404 page not found\n', { 'content-type': 'text/plain', 'x-influxdb-version': '1.7.10' }), t, NOW)
    expect(old).toEqual({ kind: 'config', key: 'no_write_api', reason: 'InfluxDB at http://influx:8086 has no /api/v2/write: it needs 1.8+ (or 2.x/3.x); it reports version 1.7.10' })
    expect(classify(http(404, '404 page not found\n', { 'content-type': 'text/plain' }), t, NOW)).toMatchObject({ key: 'no_write_api', probe: true })
  })

  it('words the probe\'s answer', () => {
    expect(noWriteApi(t, '1.6.7~rc0').reason).toContain('it needs 1.8+ (or 2.x/3.x); it reports version 1.6.7~rc0')
    expect(noWriteApi(t, 'v2.7.11').reason).toBe('InfluxDB at http://influx:8086 answered 404 on /api/v2/write (version v2.7.11): check INFLUX_URL')
    expect(noWriteApi(t, undefined, 'connect ECONNREFUSED').reason).toBe('no InfluxDB answers at http://influx:8086 (GET /ping: connect ECONNREFUSED): check INFLUX_URL')
    expect([versionOf('1.8.10'), versionOf('v2.7.1'), versionOf('3.0.0-core'), versionOf('nginx')]).toEqual([[1, 8], [2, 7], [3, 0], undefined])
  })
})

describe('how long to wait', () => {
  const b = { minMs: 500, maxMs: 30_000 }

  it('full jitter: uniform from the minimum to a ceiling that doubles per attempt, capped', () => {
    expect([0, 1, 2, 3, 6, 7, 100].map((a) => backoffMs(a, b, () => 1))).toEqual([500, 1000, 2000, 4000, 30_000, 30_000, 30_000])
    expect([0, 5, 100].map((a) => backoffMs(a, b, () => 0))).toEqual([500, 500, 500])
    expect(backoffMs(3, b, () => 0.5)).toBe(2250)
    fc.assert(
      fc.property(fc.nat(2000), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const ms = backoffMs(attempt, b, () => r)
        expect(ms).toBeGreaterThanOrEqual(b.minMs)
        expect(ms).toBeLessThanOrEqual(Math.min(b.maxMs, b.minMs * 2 ** attempt))
      }),
      { numRuns: 2_000, seed: 13 },
    )
  })

  it('at least what Retry-After asks; the longest wait for a configuration error', () => {
    const throttled = { kind: 'transient', key: 'http_429', reason: '', retryAfterMs: 10_000 } as const
    expect(retryDelayMs(throttled, 0, b, () => 0)).toBe(10_000)
    expect(retryDelayMs(throttled, 10, b, () => 1)).toBe(30_000) // the backoff, when it is longer
    expect(retryDelayMs({ kind: 'config', key: 'unauthorized', reason: '' }, 0, b, () => 0)).toBe(30_000)
    expect(retryDelayMs({ kind: 'transient', key: 'network', reason: '' }, 0, b, () => 0)).toBe(500)
  })
})
