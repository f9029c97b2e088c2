/**
 * Ingest's part of /healthz and /readyz (issue 13), as state fed by samples and events: the
 * writer failing, the spool not draining or too big, the broker connection down. Pure: the
 * caller passes `now`; ingest/index.ts samples every quarter second and registers the checks.
 */
import { type CheckResult, Since, heldTooLong } from '../runtime/health.js'

export interface IngestHealthLimits {
  writeFailingMs: number
  spoolStallMs: number
  spoolMaxBytes: number
  brokerDownMs: number
}

export interface IngestSample {
  /** The InfluxDB writer's last write failed (undefined: no writer, readings stay in the spool). */
  writerFailing: boolean | undefined
  /** The last failed write's reason, shown with the storage verdict. */
  writerError?: string | undefined
  spoolBytes: number
  /** Ingest left the broker on purpose (spool full): not an unreachable broker. */
  spoolFull: boolean
}

export class IngestHealth {
  private readonly failing = new Since()
  /** Backlog present and not shrinking. */
  private readonly stalled = new Since()
  private readonly down = new Since()
  private lastBytes = 0
  private writerError: string | undefined
  private bytes = 0
  private full = false
  private hasWriter = false
  private everConnected = false

  constructor(
    private readonly limits: IngestHealthLimits,
    startMs: number,
  ) {
    this.down.set(true, startMs) // not connected yet
  }

  observe(s: IngestSample, nowMs: number): void {
    this.hasWriter = s.writerFailing !== undefined
    this.failing.set(s.writerFailing === true, nowMs)
    this.writerError = s.writerError
    this.stalled.set(s.spoolBytes > 0 && s.spoolBytes >= this.lastBytes, nowMs)
    this.lastBytes = s.spoolBytes
    this.bytes = s.spoolBytes
    this.full = s.spoolFull
    if (s.spoolFull) this.down.set(false, nowMs)
  }

  connected(nowMs: number): void {
    this.everConnected = true
    this.down.set(false, nowMs)
  }

  disconnected(nowMs: number): void {
    if (!this.full) this.down.set(true, nowMs)
  }

  storage(nowMs: number): CheckResult {
    const verdict = heldTooLong(this.failing, nowMs, this.limits.writeFailingMs, 'failing: InfluxDB writes have failed')
    return verdict.ok || this.writerError === undefined ? verdict : { ok: false, reason: `${verdict.reason} (${this.writerError})` }
  }

  /** Only with a writer: without one the spool is where readings are meant to stay. */
  spool(nowMs: number): CheckResult {
    if (!this.hasWriter) return { ok: true }
    if (this.full) return { ok: false, reason: 'full: not taking messages (the broker holds them)' }
    if (this.bytes > this.limits.spoolMaxBytes) return { ok: false, reason: `backlog too big: ${this.bytes} bytes (above ${this.limits.spoolMaxBytes})` }
    return heldTooLong(this.stalled, nowMs, this.limits.spoolStallMs, `growing: ${this.bytes} bytes waiting, not draining`)
  }

  broker(nowMs: number): CheckResult {
    return heldTooLong(this.down, nowMs, this.limits.brokerDownMs, 'unreachable')
  }

  /** Ready once connected (and subscribed: the subscription goes out with the CONNACK's answer). */
  ready(): CheckResult {
    return this.everConnected ? { ok: true } : { ok: false, reason: 'not connected to the broker yet' }
  }
}
