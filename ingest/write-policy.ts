/**
 * The writer's decisions, pure: what a failed write means, how long to wait before the next
 * attempt, and what to tell the operator when the fault is the configuration (issue 13).
 */
import { HttpError } from '@influxdata/influxdb-client'

export interface Backoff {
  minMs: number
  maxMs: number
}

/** What a failed write request means. `key` names the kind of fault, for metrics and logs. */
export type Failure =
  /** InfluxDB unreachable, overloaded or asking us to slow down: wait and send the same batch again. */
  | { kind: 'transient'; key: string; reason: string; retryAfterMs?: number }
  /** Token, bucket, org or server version: nothing a retry soon would fix. `probe`: ask /ping which. */
  | { kind: 'config'; key: string; reason: string; probe?: boolean }
  /** InfluxDB refused points of the batch (400, 413, 422): narrow it down to the bad lines. */
  | { kind: 'refused'; reason: string }

export interface Target {
  url: string
  bucket: string
  org: string
}

/**
 * Retry-After in milliseconds from `nowMs`: delay-seconds or an HTTP-date (RFC 9110 10.2.3);
 * undefined when absent or unreadable. A date in the past is 0.
 */
export function retryAfterMs(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim()
  if (!value) return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  if (!/^[A-Za-z]{3}[, ]/.test(value)) return undefined // every HTTP-date form starts with the day's name
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

const header = (err: HttpError, name: string): string | undefined => {
  const v = err.headers?.[name]
  return Array.isArray(v) ? v[0] : v
}

/** The server's version from X-Influxdb-Version (`1.6.7~rc0`, `v2.7.11`), as [major, minor]. */
export function versionOf(text: string | undefined): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(text ?? '')
  return m ? [Number(m[1]), Number(m[2])] : undefined
}

/** A 404's meaning: the bucket (or org) is missing, or there is no v2 write API at this URL. */
function notFound(err: HttpError, t: Target): Failure {
  const body = err.body ?? ''
  if (/organi[sz]ation|\borg\b/i.test(body)) return { kind: 'config', key: 'org_not_found', reason: `organization ${JSON.stringify(t.org)} not found: fix INFLUX_ORG (${body.trim()})` }
  if (/not found/i.test(body) && /bucket|database/i.test(body)) {
    return { kind: 'config', key: 'bucket_not_found', reason: `bucket ${t.bucket} not found: create it or fix INFLUX_BUCKET (${body.trim()})` }
  }
  const version = header(err, 'x-influxdb-version')
  if (version !== undefined) return noWriteApi(t, version)
  return { kind: 'config', key: 'no_write_api', reason: `InfluxDB at ${t.url} answered 404 on /api/v2/write`, probe: true }
}

/** What to say about a 404 on /api/v2/write once the server's version is known (or not). */
export function noWriteApi(t: Target, version: string | undefined, pingError?: string): Failure & { kind: 'config' } {
  const v = versionOf(version)
  const key = 'no_write_api'
  if (pingError !== undefined) return { kind: 'config', key, reason: `no InfluxDB answers at ${t.url} (GET /ping: ${pingError}): check INFLUX_URL` }
  if (v && (v[0] < 1 || (v[0] === 1 && v[1] < 8))) {
    return { kind: 'config', key, reason: `InfluxDB at ${t.url} has no /api/v2/write: it needs 1.8+ (or 2.x/3.x); it reports version ${version}` }
  }
  return { kind: 'config', key, reason: `InfluxDB at ${t.url} answered 404 on /api/v2/write (version ${version ?? 'unknown'}): check INFLUX_URL` }
}

/** Pure: what one failed write means. Anything that is not an HTTP answer is the network's fault. */
export function classify(err: unknown, t: Target, nowMs: number): Failure {
  if (!(err instanceof HttpError)) return { kind: 'transient', key: 'network', reason: (err as Error)?.message ?? String(err) }
  const s = err.statusCode
  if (s === 429 || s === 408 || s >= 500) {
    const after = retryAfterMs(header(err, 'retry-after'), nowMs)
    return { kind: 'transient', key: `http_${s}`, reason: `InfluxDB answered ${s}: ${err.message}`, ...(after === undefined ? {} : { retryAfterMs: after }) }
  }
  if (s === 401 || s === 403) {
    return { kind: 'config', key: 'unauthorized', reason: `InfluxDB refused the token: check INFLUX_TOKEN (and its write permission on bucket ${t.bucket})` }
  }
  if (s === 404) return notFound(err, t)
  // InfluxDB 2.x answers 400 to a write without an org: not the points' fault, keep them. Its
  // exact words only: a point error may quote a device's text, which may say anything.
  if (s === 400 && /provide either orgID or org/i.test(err.body ?? '')) {
    return { kind: 'config', key: 'org_missing', reason: `InfluxDB needs an organization: set INFLUX_ORG (${(err.body ?? '').trim()})` }
  }
  // 400 partial write / 422: a bad point; 413: batch too big. Both are narrowed by halving.
  if (s === 400 || s === 413 || s === 422) return { kind: 'refused', reason: err.body ?? err.message }
  return { kind: 'config', key: `http_${s}`, reason: `InfluxDB answered ${s} to a write: ${err.message}` }
}

/**
 * Exponential backoff with full jitter (uniform between `minMs` and a ceiling that doubles from
 * `minMs` per failed attempt, capped at `maxMs`), so a fleet of writers does not retry in step.
 * `attempt` counts from 0. Never less than `minMs`: W ms of outage cost at most W/minMs + 1
 * attempts, whatever the jitter drew.
 */
export function backoffMs(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(b.maxMs, b.minMs * 2 ** Math.min(attempt, 52))
  return Math.round(b.minMs + random() * Math.max(0, ceiling - b.minMs))
}

/**
 * How long to wait after a failure: at least what Retry-After asked; a configuration error the
 * longest backoff (someone has to fix it, and may while we run).
 */
export function retryDelayMs(f: Exclude<Failure, { kind: 'refused' }>, attempt: number, b: Backoff, random: () => number = Math.random): number {
  if (f.kind === 'config') return b.maxMs
  return Math.max(f.retryAfterMs ?? 0, backoffMs(attempt, b, random))
}
