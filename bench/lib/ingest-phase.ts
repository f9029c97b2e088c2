/**
 * One phase of the ingest benchmark: a system under test (our ingest, or Node-RED) subscribed to
 * the broker, the load generator publishing a fixed rate for a fixed time, then a bounded wait
 * for the last readings to land, then the count in InfluxDB. CPU of every process involved is
 * read from /proc before and after, so the phase says where the two cores went.
 */
import type { InfluxHandle } from '../../test/helpers/influx.js'
import { type LatencySummary, type StoreVerdict, type StoredDevice, judgeStored } from './ingest-latency.js'
import { type LoadDevice, type LoadReport, type LoadRun, startLoad } from './ingest-load.js'
import { cpuBetween, loadAverage, machineCpuMs, sampleAll, sampleProc } from './ingest-proc.js'
import type { Sink, SinkReport } from './ingest-sink.js'

export interface PhaseSpec {
  name: string
  /** InfluxDB database the system under test writes to. */
  db: string
  farm: string
  devices: LoadDevice[]
  /** 0: as fast as the source's window lets (closed loop). */
  ratePerSec: number
  /** Another source than simulated devices on the broker (the broker stand-in). */
  source?: () => Promise<LoadRun>
  warmupMs: number
  measureMs: number
  window: number
  boot: number
  /** After the last publish, wait at most this long for InfluxDB to have everything. */
  drainTimeoutMs: number
  /** Give up waiting earlier when nothing new was stored for this long. */
  stallMs: number
  mqttPort: number
  /** The process under test, and the other processes to account CPU to. */
  sutPid: number
  /** The system under test's own counters, read at the end (ingest's /metrics). */
  sutMetrics?: () => Promise<Record<string, number>>
  /** Stops the system under test before InfluxDB is counted: what it writes later does not count. */
  stopSut: () => Promise<void>
  pids: Record<string, number | undefined>
  influx: InfluxHandle
  /** How stored readings and their latency are seen (./ingest-sink.ts). */
  sink: Sink
  log(line: string): void
}

export interface PhaseResult {
  name: string
  offeredPerSec: number
  devices: number
  durationMs: number
  warmupMs: number
  window: number
  load: LoadReport
  /** Readings handed to the broker per second while publishing. */
  publishedPerSec: number
  store: StoreVerdict
  /** Distinct readings stored per second, first publish to last stored. */
  storedPerSec: number
  /** Last stored minus last published: how far the pipeline was behind when the load stopped. */
  drainMs: number | undefined
  /** Publish to stored in InfluxDB, readings published after the warm-up. */
  latency: LatencySummary
  latencyMethod: string
  /** Write requests to InfluxDB by status, and the most in flight at once (through the proxy only). */
  writes: SinkReport['writes']
  /** CPU ms per process over the phase (publish start to drained). */
  cpuMs: Record<string, number>
  /** The kernel's part of it (stime): syscalls, loopback TCP, fsync. */
  sysMs: Record<string, number>
  wallMs: number
  /** Busy CPU of the whole machine not accounted to a process above (other users of the box). */
  otherCpuMs: number
  sutCpuUsPerReading: number
  /** The kernel's share of it (stime): fsync, socket and file syscalls. */
  sutSysUsPerReading: number
  sutHwmBytes: number | undefined
  sutRssBytes: number | undefined
  loadAverage: number[]
  storedPerSecondSeries: number[]
  sutMetrics: Record<string, number> | undefined
  /** The system under test's error and warning log lines by message (Node-RED). */
  sutErrors?: Record<string, number>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

async function queryStored(influx: InfluxHandle, db: string, farm: string, log?: (line: string) => void): Promise<StoredDevice[]> {
  const q = encodeURIComponent(
    `SELECT count(seq) AS n_rows, count(distinct(seq)) AS n_seq, min(seq) AS lo, max(seq) AS hi, count(flow_lpm) AS n_flow FROM pump WHERE farm = '${farm}' GROUP BY device`,
  )
  const res = await fetch(`${influx.directUrl}/query?db=${db}&epoch=ms&q=${q}`, { signal: AbortSignal.timeout(120_000) })
  const body = (await res.json()) as {
    error?: string
    results?: Array<{ series?: Array<{ tags?: { device?: string }; columns: string[]; values: number[][] }>; error?: string }>
  }
  const result = body.results?.[0]
  const error = body.error ?? result?.error
  if (error !== undefined) throw new Error(`InfluxQL: ${error}`)
  return (result?.series ?? []).map((s) => {
    const row = s.values[0] ?? []
    const col = (name: string) => Number(row[s.columns.indexOf(name)] ?? 0)
    if (col('n_flow') !== col('n_rows')) log?.(`${s.tags?.device}: ${col('n_rows')} rows with seq but ${col('n_flow')} with flow_lpm`)
    return { device: s.tags?.device ?? '', rows: col('n_rows'), distinct: col('n_seq'), minSeq: col('lo'), maxSeq: col('hi') }
  })
}

export async function runPhase(spec: PhaseSpec): Promise<PhaseResult> {
  const durationMs = spec.warmupMs + spec.measureMs
  const load = spec.source
    ? await spec.source()
    : await startLoad({ host: '127.0.0.1', port: spec.mqttPort, devices: spec.devices, ratePerSec: spec.ratePerSec, durationMs, window: spec.window, boot: spec.boot })
  const pids = { ...spec.pids, sut: spec.sutPid, load: load.pid, bench: process.pid }
  const t0 = Date.now() + 300
  const sink = spec.sink
  sink.start(t0 + spec.warmupMs)
  const before = sampleAll(pids)
  const machineBefore = machineCpuMs()
  const ticker = setInterval(() => {
    const p = load.progress
    const t = ((Date.now() - t0) / 1000).toFixed(0)
    void sink.count().then(
      (n) => spec.log(`${spec.name}: t=${t}s sent ${p.sent} acked ${p.acked} stored ${n} outbox ${p.backlog}`),
      () => {},
    )
  }, 5_000)
  let report: LoadReport
  try {
    report = await load.go(t0)
  } catch (err) {
    load.kill()
    throw err
  } finally {
    clearInterval(ticker)
  }
  spec.log(`${spec.name}: published ${report.sent}, waiting for InfluxDB`)
  // Drained when everything is stored; or stalled (the peer lost the rest); or out of time.
  const drainDeadline = Date.now() + spec.drainTimeoutMs
  let lastCount = -1
  let lastChange = Date.now()
  for (;;) {
    const stored = await sink.count()
    if (stored >= report.sent) break
    if (stored !== lastCount) {
      lastCount = stored
      lastChange = Date.now()
    }
    if (Date.now() - lastChange > spec.stallMs || Date.now() > drainDeadline) break
    await sleep(stored === lastCount ? 250 : 20)
  }
  const endMs = Date.now()
  const after = sampleAll(pids)
  const machineAfter = machineCpuMs()
  const cpuMs = cpuBetween(before, after)
  cpuMs.load = report.cpuMs // the generator has exited by now: it measured itself
  if (load.pid === undefined && cpuMs.bench !== undefined) cpuMs.bench -= report.cpuMs // ran inside the bench process
  const ours = Object.values(cpuMs).reduce((a, b) => a + b, 0)
  const sutNow = sampleProc(spec.sutPid)
  const sutMetrics = await spec.sutMetrics?.().catch(() => undefined)
  await spec.stopSut()
  const store = judgeStored(report.sentPerDevice, await queryStored(spec.influx, spec.db, spec.farm, spec.log))
  const seen = await sink.report(t0 + spec.warmupMs)
  const devices = Object.keys(report.sentPerDevice).length
  const publishSpanMs = Math.max(1, report.lastPublishMs - report.startedMs)
  const lastStored = seen.lastStoredMs ?? endMs
  return {
    name: spec.name,
    offeredPerSec: spec.ratePerSec,
    devices,
    durationMs,
    warmupMs: spec.warmupMs,
    window: spec.window,
    load: report,
    publishedPerSec: Math.round((report.sent * 1000) / publishSpanMs),
    store,
    storedPerSec: Math.round((store.distinct * 1000) / Math.max(1, lastStored - report.startedMs)),
    drainMs: seen.lastStoredMs === undefined ? undefined : Math.max(0, seen.lastStoredMs - report.lastPublishMs),
    latency: seen.latency,
    latencyMethod: sink.method,
    writes: seen.writes,
    cpuMs,
    sysMs: cpuBetween(before, after, true),
    wallMs: endMs - t0,
    otherCpuMs: Math.max(0, machineAfter.busyMs - machineBefore.busyMs - ours),
    sutCpuUsPerReading: report.sent > 0 ? Math.round(((cpuMs.sut ?? 0) * 1000 * 100) / report.sent) / 100 : 0,
    sutSysUsPerReading: (() => {
      const b = before.sut
      const a = after.sut
      return a && b && report.sent > 0 ? Math.round(((a.sysMs - b.sysMs) * 1000 * 100) / report.sent) / 100 : 0
    })(),
    sutHwmBytes: sutNow?.hwmBytes,
    sutRssBytes: sutNow?.rssBytes,
    loadAverage: loadAverage(),
    storedPerSecondSeries: seen.perSecond,
    sutMetrics,
  }
}
