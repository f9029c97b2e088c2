/**
 * Alert latency bench (issue 6 benchmark): from the deciding reading handed to the engine (the
 * ReadingHub publish, as ingest does it) to the LINE push request arriving at a local LINE API,
 * through the real service: rules, lifecycle, the state saved to disk, the outbox, fetch.
 * Sequential incidents on distinct pumps, so each sample is latency, not queueing; each is
 * resolved through the API afterwards (untimed), so the state stays the size of a real one.
 */
import { farmsFileJson } from './testing/farms.js'
import { AlertsHarness } from './testing/harness.js'
import { LineStub } from './testing/line-stub.js'
import { pump } from './testing/readings.js'

export interface LatencyResult {
  samples: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN

export async function benchAlertLatency(opts: { incidents?: number; warmup?: number } = {}): Promise<LatencyResult> {
  const incidents = opts.incidents ?? 300
  const warmup = opts.warmup ?? 20
  const line = await new LineStub('bench-token').start()
  const h = await AlertsHarness.start({
    farms: farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } }),
    env: { LINE_CHANNEL_ACCESS_TOKEN: 'bench-token', LINE_CHANNEL_SECRET: 'bench-secret', LINE_API_BASE_URL: line.url, ALERTS_API_TOKEN: 'bench' },
  })
  const latencies: number[] = []
  try {
    for (let i = 0; i < warmup + incidents; i++) {
      const before = line.pushes.length
      const reading = pump(h.now(), { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0 }, `pump-${i}`)
      const startHr = performance.now()
      h.hub.publish({ ...reading, receivedMs: h.now() })
      await line.pushed(before + 1)
      if (i >= warmup) latencies.push((line.pushes[before]?.atHr ?? NaN) - startHr)
      const { json } = await h.api('GET', 'alerts')
      for (const a of json.alerts as Array<{ id: string }>) await h.api('POST', `alerts/${a.id}/resolve`, { by: 'bench' })
      await line.pushed(before + 2) // the resolve note
      // Let the resolve note's own state write finish: incidents are rare, each meets an idle disk.
      await new Promise((r) => setTimeout(r, 50))
    }
  } finally {
    await h.close()
    await line.close()
  }
  const sorted = [...latencies].sort((a, b) => a - b)
  const round = (n: number) => Math.round(n * 100) / 100
  return { samples: sorted.length, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted[sorted.length - 1] ?? NaN) }
}
