import { describe, expect, it } from 'vitest'
import { HealthRegistry, Since, diskVerdict, heldTooLong } from './health.js'

describe('health registry', () => {
  it('is ok with no failing check, and lists every failing one (a throwing check fails)', async () => {
    const h = new HealthRegistry()
    h.check('disk', () => ({ ok: true }))
    expect(await h.health()).toEqual({ ok: true, reasons: [] })
    h.check('ingest storage', async () => ({ ok: false, reason: 'failing: InfluxDB writes have failed for 31 s' }))
    h.check('alerts broker', () => {
      throw new Error('boom')
    })
    expect(await h.health()).toEqual({ ok: false, reasons: ['ingest storage failing: InfluxDB writes have failed for 31 s', 'alerts broker check failed: boom'] })
  })

  it('is ready once nothing is starting and every readiness check passes', async () => {
    const h = new HealthRegistry()
    let connected = false
    h.ready('ingest', () => (connected ? { ok: true } : { ok: false, reason: 'not connected to the broker yet' }))
    expect(await h.readyNow(['alerts'])).toEqual({ ok: false, reasons: ['alerts starting', 'ingest not connected to the broker yet'] })
    connected = true
    expect(await h.readyNow([])).toEqual({ ok: true, reasons: [] })
  })
})

describe('conditions over time', () => {
  it('reports a condition only once it has held longer than its limit, and forgets it when it ends', () => {
    const s = new Since()
    s.set(true, 1_000)
    s.set(true, 2_000) // still the first moment
    expect(heldTooLong(s, 3_000, 2_000, 'unreachable')).toEqual({ ok: true })
    expect(heldTooLong(s, 3_600, 2_000, 'unreachable')).toEqual({ ok: false, reason: 'unreachable for 3 s' })
    s.set(false, 3_700)
    expect(heldTooLong(s, 9_000, 2_000, 'unreachable')).toEqual({ ok: true })
  })

  it('calls a disk nearly full below its minimum', () => {
    expect(diskVerdict(600 * 2 ** 20, 500 * 2 ** 20, '/data')).toEqual({ ok: true })
    expect(diskVerdict(20 * 2 ** 20, 500 * 2 ** 20, '/data')).toEqual({ ok: false, reason: 'nearly full: 20 MB free under /data (below 500 MB)' })
  })
})
