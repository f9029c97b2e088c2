/**
 * Drains the spool into InfluxDB through @influxdata/influxdb-client's transport (the
 * /api/v2/write API: InfluxDB 2.x, 3.x, 1.8+). Batches by size and time, gzip, and retries
 * for as long as it takes, by the rules of ./write-policy.ts: exponential backoff with full
 * jitter, at least what Retry-After asks, the longest wait for configuration errors; new
 * readings never cut a wait short. One log line and one metric increment when an outage starts
 * (and a line for each new kind of fault in it), one line when it ends: not one per attempt.
 * A batch InfluxDB refuses (400) is narrowed down by halving it, whole lines at a time: the good
 * lines land, each bad one goes to the dead-letter store with InfluxDB's message.
 */
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { InfluxDB } from '@influxdata/influxdb-client'
import type { DeadLetterStore } from '../runtime/deadletter.js'
import type { Logger } from '../runtime/logger.js'
import type { Metrics } from '../runtime/metrics.js'
import type { Spool } from './spool.js'
import { type Failure, type Target, classify, noWriteApi, retryDelayMs } from './write-policy.js'

export interface WriterOptions {
  /** Ping InfluxDB after IDLE_CHECK_MS of silence (default on): off for a second writer to the same server. */
  idleCheck?: boolean
  url: string
  token: string
  org: string
  bucket: string
  batchBytes: number
  flushMs: number
  timeoutMs: number
  minRetryMs: number
  maxRetryMs: number
}

/** The writer's health, read-only, for /healthz: set while writes are failing. */
export interface WriterStatus {
  /** When the current outage began (epoch ms); absent while writes succeed. */
  failingSinceMs?: number
  lastError?: string
  /** Failed attempts in the current outage. */
  attempts: number
}

interface Outage {
  sinceMs: number
  attempts: number
  lastError: string
  /** Kinds of fault already logged in this outage. */
  told: Set<string>
  /** The /ping probe's verdict, asked once per outage. */
  probed?: Failure & { kind: 'config' }
}

const gzipAsync = promisify(gzip)
/** Bodies below this go uncompressed (the client's own threshold). */
const GZIP_MIN_BYTES = 1_000
const GZIP_LEVEL = 1
/** Silence after which an idle writer checks that InfluxDB still answers (/healthz). */
const IDLE_CHECK_MS = 5_000

export class InfluxWriter {
  private readonly influx: InfluxDB
  private readonly path: string
  private readonly target: Target
  private stopped = false
  private running: Promise<void> | undefined
  /** Ends the current wait: on stop always, on new data only while idle. */
  private wake: { resolve(): void; onData: boolean } | undefined
  private outage: Outage | undefined
  /** Last time InfluxDB answered a write or a check (epoch ms). */
  private lastContactMs: number
  private readonly batches
  private readonly retries
  private readonly outages
  private readonly written
  private readonly latency
  private readonly rejected

  constructor(
    private readonly opts: WriterOptions,
    private readonly spool: Spool,
    private readonly deadLetters: DeadLetterStore,
    private readonly log: Logger,
    metrics: Metrics,
    private readonly clock: { now: () => number; random: () => number } = { now: Date.now, random: Math.random },
  ) {
    this.lastContactMs = clock.now()
    this.influx = new InfluxDB({ url: opts.url, token: opts.token, timeout: opts.timeoutMs })
    const q = new URLSearchParams({ org: opts.org, bucket: opts.bucket, precision: 'ms' })
    this.path = `/api/v2/write?${q}`
    this.target = { url: opts.url, bucket: opts.bucket, org: opts.org }
    this.batches = metrics.counter('ingest_write_batches_total', 'Write requests to InfluxDB, by result (ok, retry, split)')
    this.retries = metrics.counter('ingest_write_retries_total', 'Write requests that will be retried, by kind of fault')
    this.outages = metrics.counter('ingest_write_outages_total', 'Times InfluxDB writes started failing, by the first kind of fault')
    this.written = metrics.counter('ingest_points_written_total', 'Points confirmed by InfluxDB')
    this.rejected = metrics.counter('ingest_points_rejected_by_influx_total', 'Points InfluxDB refused (dead-lettered)')
    this.latency = metrics.histogram('ingest_write_seconds', 'InfluxDB write request duration', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    spool.onData(() => {
      if (this.wake?.onData) this.wake.resolve()
    })
  }

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => this.log.fatal({ err }, 'writer loop died'))
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.wake?.resolve()
    await this.running
  }

  /** Read-only, for the health check (ingest/health.ts). */
  status(): WriterStatus {
    const o = this.outage
    return o ? { failingSinceMs: o.sinceMs, lastError: o.lastError, attempts: o.attempts } : { attempts: 0 }
  }

  /** Waits `ms`, or less if stopped; new data ends the wait only when `onData` (idle, not backing off). */
  private wait(ms: number, onData: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = { resolve: done, onData }
    }).finally(() => {
      this.wake = undefined
    })
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const batch = await this.spool.next(this.opts.batchBytes)
      if (!batch) {
        if (this.opts.idleCheck !== false && this.clock.now() - this.lastContactMs >= IDLE_CHECK_MS) await this.checkIdle()
        await this.wait(this.opts.flushMs, true)
        continue
      }
      if (!(await this.deliver(batch.data, batch.count, () => batch.lines))) {
        this.spool.rewind() // stopped before InfluxDB had it all: read it again next time
        return
      }
      await this.spool.confirm(batch.end)
    }
  }

  /**
   * Writes a body of `count` lines until InfluxDB has them all, or has refused the bad ones and
   * they are dead-lettered. False when stopped first.
   */
  private async deliver(body: Buffer, count: number, lines: () => string[]): Promise<boolean> {
    while (!this.stopped) {
      const started = performance.now()
      try {
        await this.post(body)
        this.latency.observe((performance.now() - started) / 1000)
        this.batches.inc({ result: 'ok' })
        this.written.inc(undefined, count)
        this.lastContactMs = this.clock.now()
        this.recovered()
        return true
      } catch (err) {
        let failure = classify(err, this.target, this.clock.now())
        if (failure.kind === 'refused') {
          this.batches.inc({ result: 'split' })
          this.recovered() // InfluxDB is there and answering
          return this.narrow(lines(), failure.reason)
        }
        const outage = this.outage ?? this.open(failure)
        if (failure.kind === 'config' && failure.probe) failure = outage.probed ??= await this.probe()
        this.batches.inc({ result: 'retry' })
        this.retries.inc({ reason: failure.key })
        const attempt = this.failed(outage, failure, count)
        await this.wait(retryDelayMs(failure, attempt, { minMs: this.opts.minRetryMs, maxMs: this.opts.maxRetryMs }, this.clock.random), false)
      }
    }
    return false
  }

  private open(f: Exclude<Failure, { kind: 'refused' }>): Outage {
    const o: Outage = { sinceMs: this.clock.now(), attempts: 0, lastError: f.reason, told: new Set() }
    this.outage = o
    this.outages.inc({ reason: f.key })
    return o
  }

  /** Counts a failed attempt in the outage; returns its index from 0. */
  private failed(o: Outage, f: Exclude<Failure, { kind: 'refused' }>, lines: number): number {
    o.attempts++
    o.lastError = f.reason
    if (!o.told.has(f.key)) {
      // once per kind of fault per outage; a configuration error needs someone, so it is an error
      const first = o.told.size === 0
      o.told.add(f.key)
      const fields = { reason: f.reason, fault: f.key, lines }
      const msg = first ? 'influxdb writes failing, retrying with backoff' : 'influxdb writes failing, now for another reason'
      if (f.kind === 'config') this.log.error(fields, msg)
      else this.log.warn(fields, msg)
    }
    return o.attempts - 1
  }

  /**
   * With nothing to write, /healthz would go on saying ok through an outage: every IDLE_CHECK_MS
   * of silence, GET /ping tells whether InfluxDB still answers. A failure opens an outage (logged
   * once, like a failed write); the next answer, or write, ends it. Probes are not writes: they
   * back off no batch.
   */
  private async checkIdle(): Promise<void> {
    this.lastContactMs = this.clock.now()
    let failure: (Failure & { kind: 'transient' }) | undefined
    try {
      const res = await fetch(new URL('/ping', this.opts.url), { signal: AbortSignal.timeout(this.opts.timeoutMs) })
      await res.arrayBuffer()
      if (res.status >= 500) failure = { kind: 'transient', key: `http_${res.status}`, reason: `InfluxDB answered ${res.status} to GET /ping` }
    } catch (err) {
      failure = { kind: 'transient', key: 'network', reason: `InfluxDB does not answer GET /ping: ${(err as Error).message}` }
    }
    if (failure === undefined) return this.recovered()
    this.failed(this.outage ?? this.open(failure), failure, 0)
  }

  private recovered(): void {
    const o = this.outage
    if (!o) return
    this.outage = undefined
    this.log.info({ durationMs: this.clock.now() - o.sinceMs, attempts: o.attempts }, 'influxdb writes recovered')
  }

  /** A 404 that does not say why: the server's version from GET /ping (asked once per outage). */
  private async probe(): Promise<Failure & { kind: 'config' }> {
    try {
      const res = await fetch(new URL('/ping', this.opts.url), { signal: AbortSignal.timeout(this.opts.timeoutMs) })
      await res.arrayBuffer()
      const version = res.headers.get('x-influxdb-version') ?? undefined
      return res.ok || version !== undefined ? noWriteApi(this.target, version) : noWriteApi(this.target, undefined, `answered ${res.status}`)
    } catch (err) {
      return noWriteApi(this.target, undefined, (err as Error).message)
    }
  }

  /** Halves a refused batch until each refused line stands alone; those are dead-lettered. */
  private async narrow(lines: string[], reason: string): Promise<boolean> {
    if (lines.length === 1) {
      this.rejected.inc()
      this.log.warn({ line: lines[0], message: reason }, 'influxdb refused a point: dead-lettered')
      this.deadLetters.add({ stage: 'writer', code: 'influx_rejected', reason, payload: lines[0] })
      await this.deadLetters.flush()
      return true
    }
    // Whole lines only: a newline always ends one (contracts/points.ts never writes one inside).
    const mid = Math.ceil(lines.length / 2)
    for (const half of [lines.slice(0, mid), lines.slice(mid)]) {
      if (!(await this.deliver(Buffer.from(half.join('\n')), half.length, () => half))) return false
    }
    return true
  }

  /**
   * One POST through the client's transport. The body is gzipped here, at level 1: on these
   * repetitive lines it compresses nearly as well as the default level at a fraction of the CPU.
   * `send` takes the bytes as they are (its Buffer.from accepts a Buffer; typed as string).
   */
  private async post(body: Buffer): Promise<void> {
    const gzipped = body.length >= GZIP_MIN_BYTES
    const payload = gzipped ? await gzipAsync(body, { level: GZIP_LEVEL }) : body
    await new Promise<void>((resolve, reject) => {
      this.influx.transport.send(
        this.path,
        payload as unknown as string,
        { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8', ...(gzipped ? { 'content-encoding': 'gzip' } : {}) } },
        { complete: () => resolve(), error: (err) => reject(err) },
      )
    })
  }
}
