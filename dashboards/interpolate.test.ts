import { describe, expect, it } from 'vitest'
import { durationMs, escapeRegex, expandQuery, grafanaIntervalMs, intervalText, roundIntervalMs, variablesIn } from './interpolate.js'

const FROM = 1_772_000_000_000
const TO = FROM + 7 * 86_400_000
const ctx = (variables: Parameters<typeof expandQuery>[1]['variables']) => ({ fromMs: FROM, toMs: TO, intervalMs: 600_000, variables })

describe('expandQuery (what Grafana sends for a raw InfluxQL target)', () => {
  it('expands $timeFilter and $__interval as the server does', () => {
    const out = expandQuery('SELECT mean("x") FROM "pump" WHERE $timeFilter GROUP BY time($__interval)', ctx({}))
    expect(out).toEqual({
      ok: true,
      query: `SELECT mean("x") FROM "pump" WHERE time >= ${FROM}ms and time <= ${TO}ms GROUP BY time(10m)`,
    })
  })

  it('expands the legacy $interval and $__interval_ms', () => {
    expect(expandQuery('time($interval) $__interval_ms', ctx({}))).toEqual({ ok: true, query: 'time(10m) 600000' })
  })

  it('sends a multi-value selection as an escaped alternation (the /^(a|b)$/ form)', () => {
    const out = expandQuery('"device" =~ /^$device$/', ctx({ device: { multi: true, value: ['pump-1', 'p.2'] } }))
    expect(out).toEqual({ ok: true, query: '"device" =~ /^(pump-1|p\\.2)$/' })
  })

  it('escapes a single value used inside a regex, and leaves it raw elsewhere', () => {
    const farm = { multi: false, value: 'a.b' }
    expect(expandQuery('"farm" =~ /^$farm$/', ctx({ farm }))).toEqual({ ok: true, query: '"farm" =~ /^a\\.b$/' })
    expect(expandQuery(`"farm" = '$farm'`, ctx({ farm }))).toEqual({ ok: true, query: `"farm" = 'a.b'` })
  })

  it('understands ${var}, [[var]] and ${var:raw}', () => {
    const device = { multi: true, value: ['a', 'b'] }
    expect(expandQuery('/^${device}$/ [[device]] ${device:raw}', ctx({ device }))).toEqual({ ok: true, query: '/^(a|b)$/ (a|b) a,b' })
  })

  it('refuses a variable the dashboard does not define', () => {
    const out = expandQuery('"farm" =~ /^$frm$/', ctx({ farm: { multi: false, value: 'x' } }))
    expect(out).toMatchObject({ ok: false, reason: expect.stringContaining('$frm') })
  })
})

describe('intervals', () => {
  it('rounds like Grafana and formats with one unit', () => {
    expect(roundIntervalMs(604_800_000 / 1000)).toBe(600_000)
    expect(intervalText(600_000)).toBe('10m')
    expect(intervalText(86_400_000)).toBe('1d')
    expect(intervalText(500)).toBe('500ms')
    expect(grafanaIntervalMs(1_800_000, 1000, 60_000)).toBe(60_000)
    expect(durationMs('5m')).toBe(300_000)
    expect(durationMs('soon')).toBeUndefined()
  })
})

describe('variablesIn', () => {
  it('lists template variables, not builtins or the InfluxDB macros', () => {
    expect(variablesIn('/^$farm$/ ${device} [[x]] $__interval $timeFilter $interval ${__data.fields.farm}')).toEqual(['farm', 'device', 'x'])
  })
  it('escapes like @grafana/data', () => {
    expect(escapeRegex('a.b/c(d)')).toBe('a\\.b\\/c\\(d\\)')
  })
})
