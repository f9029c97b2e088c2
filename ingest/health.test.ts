import { describe, expect, it } from 'vitest'
import { IngestHealth } from './health.js'

const limits = { writeFailingMs: 2_000, spoolStallMs: 2_000, spoolMaxBytes: 1_000, brokerDownMs: 2_000 }
const sample = (over: Partial<{ writerFailing: boolean | undefined; writerError: string; spoolBytes: number; spoolFull: boolean }> = {}) => ({ writerFailing: false, spoolBytes: 0, spoolFull: false, ...over })

describe('ingest health', () => {
  it('storage: failing writes for longer than the limit', () => {
    const h = new IngestHealth(limits, 0)
    h.observe(sample({ writerFailing: true }), 1_000)
    expect(h.storage(2_500).ok).toBe(true)
    expect(h.storage(3_500)).toEqual({ ok: false, reason: 'failing: InfluxDB writes have failed for 3 s' })
    h.observe(sample(), 3_600)
    expect(h.storage(9_000).ok).toBe(true)
  })

  it('storage: the last failed write is named with the verdict', () => {
    const h = new IngestHealth(limits, 0)
    h.observe(sample({ writerFailing: true, writerError: 'InfluxDB refused the token' }), 0)
    expect(h.storage(3_000)).toEqual({ ok: false, reason: 'failing: InfluxDB writes have failed for 3 s (InfluxDB refused the token)' })
  })

  it('spool: a backlog that does not shrink, one above the limit, a full spool; nothing without a writer', () => {
    const h = new IngestHealth(limits, 0)
    for (const [t, bytes] of [[0, 100], [1_000, 200], [2_000, 150], [3_000, 300], [4_000, 300]] as const) h.observe(sample({ spoolBytes: bytes }), t)
    expect(h.spool(4_500).ok).toBe(true) // shrank at 2 s
    h.observe(sample({ spoolBytes: 400 }), 5_100)
    expect(h.spool(5_100)).toEqual({ ok: false, reason: 'growing: 400 bytes waiting, not draining for 2 s' })
    h.observe(sample({ spoolBytes: 2_000 }), 5_200)
    expect(h.spool(5_200)).toEqual({ ok: false, reason: 'backlog too big: 2000 bytes (above 1000)' })
    h.observe(sample({ spoolBytes: 2_000, spoolFull: true }), 5_300)
    expect(h.spool(5_300).ok).toBe(false)
    h.observe(sample({ writerFailing: undefined, spoolBytes: 5_000 }), 9_000)
    expect(h.spool(20_000).ok).toBe(true) // no INFLUX_URL: the spool is where readings stay
  })

  it('broker: down from the start until connected, again after a drop; leaving on a full spool is not down', () => {
    const h = new IngestHealth(limits, 0)
    expect(h.ready().ok).toBe(false)
    expect(h.broker(2_500)).toEqual({ ok: false, reason: 'unreachable for 3 s' })
    h.connected(2_600)
    expect([h.broker(9_000).ok, h.ready().ok]).toEqual([true, true])
    h.disconnected(10_000)
    expect(h.broker(12_500).ok).toBe(false)
    h.connected(12_600)
    h.observe(sample({ spoolFull: true }), 13_000)
    h.disconnected(13_000)
    expect(h.broker(20_000).ok).toBe(true)
    expect(h.ready().ok).toBe(true) // ready stays: an outage after start is /healthz's to report
  })
})
