/**
 * What `/healthz` and `/readyz` answer (issue 13: health that tells the truth). Each service
 * registers its own checks on `ctx.health`; the HTTP routes know no service.
 * - `/healthz` runs every `check`: all ok is `{status: 'ok'}` (200), else `{status: 'degraded',
 *   reasons}` (503): storage failing, spool not draining, broker unreachable, disk nearly full.
 * - `/readyz` is 200 once every service has finished starting and every `ready` check passes
 *   (listeners up, ingest connected), 503 before, for orchestrators that wait on it.
 */
import { statfs } from 'node:fs/promises'

export type CheckResult = { ok: true } | { ok: false; reason: string }
export type Check = () => CheckResult | Promise<CheckResult>

export interface Health {
  /** A condition `/healthz` reports while it is not ok, as "`name` `reason`" ("disk nearly full: ..."). */
  check(name: string, fn: Check): void
  /** A condition `/readyz` waits for (a start-up step that finishes after start() returned). */
  ready(name: string, fn: Check): void
}

export interface Verdict {
  ok: boolean
  reasons: string[]
}

async function run(checks: ReadonlyMap<string, Check>): Promise<Verdict> {
  const results = await Promise.all(
    [...checks].map(async ([name, fn]): Promise<string | undefined> => {
      try {
        const r = await fn()
        return r.ok ? undefined : `${name} ${r.reason}`
      } catch (err) {
        return `${name} check failed: ${(err as Error).message}` // a broken check is not "ok"
      }
    }),
  )
  const reasons = results.filter((r): r is string => r !== undefined)
  return { ok: reasons.length === 0, reasons }
}

export class HealthRegistry implements Health {
  private readonly checks = new Map<string, Check>()
  private readonly readiness = new Map<string, Check>()

  check(name: string, fn: Check): void {
    this.checks.set(name, fn)
  }

  ready(name: string, fn: Check): void {
    this.readiness.set(name, fn)
  }

  health(): Promise<Verdict> {
    return run(this.checks)
  }

  /** `starting`: the services whose start() has not returned yet. */
  async readyNow(starting: readonly string[]): Promise<Verdict> {
    const v = await run(this.readiness)
    const reasons = [...starting.map((s) => `${s} starting`), ...v.reasons]
    return { ok: reasons.length === 0, reasons }
  }
}

/** Since when a condition has held, from samples or events; forgotten as soon as it stops. */
export class Since {
  private at: number | undefined
  set(holds: boolean, nowMs: number): void {
    this.at = holds ? (this.at ?? nowMs) : undefined
  }
  heldMs(nowMs: number): number {
    return this.at === undefined ? 0 : nowMs - this.at
  }
}

/** Not ok once the condition has held for longer than `limitMs`: "`what` for 12 s". */
export function heldTooLong(since: Since, nowMs: number, limitMs: number, what: string): CheckResult {
  const ms = since.heldMs(nowMs)
  return ms > limitMs ? { ok: false, reason: `${what} for ${Math.round(ms / 1000)} s` } : { ok: true }
}

/** Pure: a disk with less than `minFreeBytes` available is nearly full. */
export function diskVerdict(freeBytes: number, minFreeBytes: number, path: string): CheckResult {
  const mb = (n: number) => Math.round(n / 1024 / 1024)
  return freeBytes < minFreeBytes ? { ok: false, reason: `nearly full: ${mb(freeBytes)} MB free under ${path} (below ${mb(minFreeBytes)} MB)` } : { ok: true }
}

/** The free space check of a directory (statfs: blocks available to an unprivileged user). */
export function diskCheck(path: string, minFreeBytes: number): Check {
  return async () => {
    const s = await statfs(path)
    return diskVerdict(s.bavail * s.bsize, minFreeBytes, path)
  }
}
