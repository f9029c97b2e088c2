/**
 * Drains the spool into InfluxDB through @influxdata/influxdb-client's transport (the
 * /api/v2/write API: InfluxDB 2.x, 3.x, 1.8+). Batches by size and time, gzip, and retries
 * network errors, 5xx and 429 (honouring Retry-After) with exponential backoff and jitter for as
 * long as it takes. A 4xx that names a bad point is narrowed down by halving the batch: the
 * good points land, the bad one goes to the dead-letter store with InfluxDB's message.
 */
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { HttpError, InfluxDB } from '@influxdata/influxdb-client'
import type { DeadLetterStore } from '../runtime/deadletter.js'
import type { Logger } from '../runtime/logger.js'
import type { Metrics } from '../runtime/metrics.js'
import type { Spool } from './spool.js'

export interface WriterOptions {
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

const gzipAsync = promisify(gzip)
/** Bodies below this go uncompressed (the client's own threshold). */
const GZIP_MIN_BYTES = 1_000
const GZIP_LEVEL = 1

/** What to do after a failed request. */
export type Verdict = { retry: true; delayMs?: number } | { retry: false; split: boolean }

/** Pure: the retry decision for one write error (influxdb-client's own rule plus point errors). */
export function classify(err: unknown): Verdict {
  if (err instanceof HttpError) {
    const s = err.statusCode
    if (s === 429 || s >= 500 || s === 408) {
      const afterS = err.retryAfter() // the Retry-After header, in seconds
      return afterS > 0 ? { retry: true, delayMs: afterS * 1000 } : { retry: true }
    }
    // 400 partial write / 422: a bad point; 413: batch too big. Both are narrowed by halving.
    if (s === 400 || s === 413 || s === 422) return { retry: false, split: true }
    // 401, 403, 404: configuration (token, bucket) - nothing is wrong with the points, keep them
    return { retry: true }
  }
  return { retry: true } // network error, timeout
}

export function backoffMs(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** attempt)
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

export class InfluxWriter {
  private readonly influx: InfluxDB
  private readonly path: string
  private stopped = false
  private running: Promise<void> | undefined
  private wake: (() => void) | undefined
  private sleepTimer: NodeJS.Timeout | undefined
  private readonly batches
  private readonly retries
  private readonly written
  private readonly latency
  private readonly rejected
  private failing = false

  constructor(
    private readonly opts: WriterOptions,
    private readonly spool: Spool,
    private readonly deadLetters: DeadLetterStore,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.influx = new InfluxDB({ url: opts.url, token: opts.token, timeout: opts.timeoutMs })
    const q = new URLSearchParams({ org: opts.org, bucket: opts.bucket, precision: 'ms' })
    this.path = `/api/v2/write?${q}`
    this.batches = metrics.counter('ingest_write_batches_total', 'Write requests to InfluxDB, by result')
    this.retries = metrics.counter('ingest_write_retries_total', 'Write requests that will be retried, by reason')
    this.written = metrics.counter('ingest_points_written_total', 'Points confirmed by InfluxDB')
    this.rejected = metrics.counter('ingest_points_rejected_by_influx_total', 'Points InfluxDB refused (dead-lettered)')
    this.latency = metrics.histogram('ingest_write_seconds', 'InfluxDB write request duration', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    spool.onData(() => this.wake?.())
  }

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => this.log.fatal({ err }, 'writer loop died'))
  }

  /** True from a failed write until one succeeds: read-only, for the health check (ingest/health.ts). */
  get failingNow(): boolean {
    return this.failing
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.sleepTimer)
    this.wake?.()
    await this.running
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = () => resolve()
      this.sleepTimer = setTimeout(resolve, ms)
    }).finally(() => {
      this.wake = undefined
    })
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const batch = await this.spool.next(this.opts.batchBytes)
      if (!batch) {
        await this.sleep(this.opts.flushMs)
        continue
      }
      await this.deliver(batch.data, batch.count, () => batch.lines)
      if (this.stopped && !this.deliveredAll) {
        this.spool.rewind()
        return
      }
      await this.spool.confirm(batch.end)
    }
  }

  private deliveredAll = true

  /** Writes a body of `count` lines until InfluxDB has them all (or dead-lettered the bad ones). */
  private async deliver(body: Buffer, count: number, lines: () => string[]): Promise<void> {
    this.deliveredAll = false
    for (let attempt = 0; !this.stopped; attempt++) {
      const started = performance.now()
      try {
        await this.post(body)
        this.latency.observe((performance.now() - started) / 1000)
        this.batches.inc({ result: 'ok' })
        this.written.inc(undefined, count)
        if (this.failing) this.log.info({ attempt }, 'influxdb writes recovered')
        this.failing = false
        this.deliveredAll = true
        return
      } catch (err) {
        const verdict = classify(err)
        const status = err instanceof HttpError ? err.statusCode : undefined
        if (!verdict.retry) {
          this.batches.inc({ result: 'split' })
          await this.narrow(lines(), err)
          this.deliveredAll = true
          return
        }
        this.batches.inc({ result: 'retry' })
        this.retries.inc({ reason: status ? String(status) : 'network' })
        const delay = verdict.delayMs ?? backoffMs(attempt, this.opts.minRetryMs, this.opts.maxRetryMs)
        if (!this.failing || attempt % 10 === 0) {
          this.log.warn({ err: (err as Error).message, status, attempt, delayMs: delay, lines: count }, 'influxdb write failed, retrying')
        }
        this.failing = true
        await this.sleep(delay)
      }
    }
  }

  /** Halves a refused batch until each refused point stands alone; those are dead-lettered. */
  private async narrow(lines: string[], err: unknown): Promise<void> {
    if (lines.length === 1) {
      const message = err instanceof HttpError ? (err.body ?? err.message) : (err as Error).message
      this.rejected.inc()
      this.log.warn({ line: lines[0], message }, 'influxdb refused a point: dead-lettered')
      this.deadLetters.add({ stage: 'writer', code: 'influx_rejected', reason: message, payload: lines[0] })
      await this.deadLetters.flush()
      return
    }
    const mid = Math.ceil(lines.length / 2)
    for (const half of [lines.slice(0, mid), lines.slice(mid)]) await this.deliver(Buffer.from(half.join('\n')), half.length, () => half)
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
