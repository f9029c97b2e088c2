/**
 * Issue 13 (backoff not honoured), the drill: four devices keep publishing while InfluxDB is
 * down for a window (the shim drops every connection), then answers 429 with Retry-After for a
 * window, then recovers. The writer's attempts in each window are counted at the shim and held
 * to what its backoff allows; afterwards every reading is stored exactly once.
 *
 * The bounds, for a window of W ms:
 * - down, backoff min m: every wait is at least m (full jitter never goes below it), so at most
 *   floor(W / m) + 1 attempts. Here m = 500 ms, W = 6 s: 13 (before the fix new readings woke
 *   every wait: hundreds). With the defaults (m = 500 ms, cap 30 s) a 30 s outage allows at most
 *   61, and the jitter's expectation is about 7.
 * - 429 with Retry-After R: every wait is at least R, so at most floor(W / R) + 1. Here R = 2 s,
 *   W = 6 s: 4; with R = 10 s over 30 s: 4.
 * The windows are shorter than the 30 s + 30 s by configuration; the formulas are the same.
 */
import { describe, expect, it } from 'vitest'
import { startStream } from './helpers/device-stream.js'
import { T0, cleanups, expectAllStoredOnce, setup, useCleanups } from './helpers/pipeline.js'
import { waitFor } from './helpers/wait-for.js'

useCleanups()

const MIN_MS = 500
const RETRY_AFTER_S = 2
const WINDOW_MS = 6_000
/** setTimeout may fire a millisecond early; the shim stamps arrivals in whole milliseconds. */
const TIMER_SLACK_MS = 3

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('writer backoff while InfluxDB is down, then throttling', () => {
  it('attempts stay within the backoff in each window, new readings never cut a wait short, and every reading is stored once', async () => {
    const s = await setup({ ingestEnv: { INGEST_RETRY_MIN_MS: String(MIN_MS), INGEST_RETRY_MAX_MS: '2000' } })
    const shim = s.influx.shim
    const count = 20 * 24 // 20 readings/s per device, through both windows and after
    const stream = startStream({ url: `mqtt://127.0.0.1:${s.mqttPort}`, devices: s.devices, ratePerSec: 20, count, startTs: T0 })
    cleanups.push(() => stream.close())
    await waitFor(async () => (await s.stored()) > 100, { timeoutMs: 30_000 })

    const window = async (mode: 'reset' | '429') => {
      const start = { ms: Date.now(), writes: shim.writes }
      shim.setMode(mode, mode === '429' ? { retryAfterS: RETRY_AFTER_S } : {})
      await sleep(WINDOW_MS)
      const end = { ms: Date.now(), writes: shim.writes }
      const arrivals = shim.log.filter((r) => r.isWrite && r.mode === mode && r.atMs >= start.ms).map((r) => r.atMs)
      return { ms: end.ms - start.ms, attempts: end.writes - start.writes, arrivals }
    }
    const down = await window('reset')
    const throttled = await window('429')
    shim.setMode('ok')

    expect(down.attempts).toBeGreaterThanOrEqual(2) // it did keep trying
    expect(down.attempts).toBeLessThanOrEqual(Math.floor(down.ms / MIN_MS) + 1)
    expect(throttled.attempts).toBeGreaterThanOrEqual(1)
    expect(throttled.attempts).toBeLessThanOrEqual(Math.floor(throttled.ms / (RETRY_AFTER_S * 1000)) + 1)
    // every wait, whatever arrived meanwhile: at least the minimum, at least Retry-After after a 429
    const gaps = (at: number[]) => at.slice(1).map((t, i) => t - (at[i] as number))
    for (const gap of gaps(down.arrivals)) expect(gap).toBeGreaterThanOrEqual(MIN_MS - TIMER_SLACK_MS)
    for (const gap of gaps(throttled.arrivals)) expect(gap).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - TIMER_SLACK_MS)

    await stream.done
    await expectAllStoredOnce(s, count)
    // one outage: one increment, a line when it began (and one when its cause changed), one when it ended
    const logs = s.ingest.current.logs
    expect(await s.ingest.current.metric('ingest_write_outages_total')).toBe(1)
    expect(logs.filter((l) => l.msg.startsWith('influxdb writes failing')).map((l) => l.fault)).toEqual(['network', 'http_429'])
    const recovered = logs.filter((l) => l.msg === 'influxdb writes recovered')
    expect(recovered).toHaveLength(1)
    expect(recovered[0]).toMatchObject({ attempts: down.attempts + throttled.attempts, durationMs: expect.any(Number) })
  }, 120_000)
})
