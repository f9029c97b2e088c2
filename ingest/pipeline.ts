/**
 * From delivery to acknowledgement: judge each message, append accepted lines to the spool in
 * one group per tick, and only then acknowledge them to the broker and hand the readings to the
 * alert engine. Rejected messages are acknowledged once their dead letter is written.
 */
import type { DeadLetterStore } from '../runtime/deadletter.js'
import type { Reading, ReadingHub } from '../runtime/hub.js'
import type { Logger } from '../runtime/logger.js'
import type { Metrics } from '../runtime/metrics.js'
import { type AcceptPolicy, Deduper, judge } from './accept.js'
import type { Spool } from './spool.js'
import type { AckToken, Delivery } from './subscriber.js'

interface Group {
  lines: string[]
  tokens: AckToken[]
  readings: Reading[]
  seen: Array<[string, string]>
}

export interface PipelineDeps {
  spool: Spool
  deadLetters: DeadLetterStore
  hub: ReadingHub
  metrics: Metrics
  log: Logger
  policy: AcceptPolicy
  now: () => number
  ack(tokens: AckToken[]): void
  /** The spool refused a write (disk full, I/O error): the unacknowledged messages must be redelivered. */
  onSpoolError(err: unknown): void
}

export class IngestPipeline {
  private group: Group | undefined
  private rejectedTokens: AckToken[] = []
  private rejectFlush: Promise<void> | undefined
  private readonly dedup = new Deduper()
  private readonly inFlight = new Set<Promise<void>>()
  private readonly received
  private readonly accepted
  private readonly duplicates
  private readonly rejected
  private readonly ignored

  constructor(private readonly deps: PipelineDeps) {
    const m = deps.metrics
    this.received = m.counter('ingest_received_total', 'Messages received from the broker')
    this.accepted = m.counter('ingest_accepted_total', 'Readings accepted and spooled, by channel')
    this.duplicates = m.counter('ingest_duplicates_total', 'Redelivered readings dropped by (device, boot, seq)')
    this.rejected = m.counter('ingest_rejected_total', 'Messages refused and dead-lettered, by reason code')
    this.ignored = m.counter('ingest_ignored_total', 'Messages not stored (other instance, commands), by reason')
  }

  handle(d: Delivery): void {
    this.received.inc()
    const now = this.deps.now()
    const v = judge(d.topic, d.payload, now, this.deps.policy)
    if (v.kind === 'ignore') {
      this.ignored.inc({ reason: v.reason })
      if (d.token) this.deps.ack([d.token])
      return
    }
    if (v.kind === 'reject') {
      this.rejected.inc({ code: v.code })
      this.deps.log.warn({ topic: d.topic, code: v.code, reason: v.reason }, 'reading rejected')
      this.deps.deadLetters.add({ stage: 'ingest', code: v.code, reason: v.reason, topic: d.topic, payload: d.payload })
      if (d.token) this.rejectedTokens.push(d.token)
      this.rejectFlush ??= this.deps.deadLetters.flush().then(() => {
        const tokens = this.rejectedTokens
        this.rejectedTokens = []
        this.rejectFlush = undefined
        this.deps.ack(tokens)
      })
      return
    }
    if (v.dedupKey !== undefined && this.dedup.has(v.at.device, v.dedupKey)) {
      this.duplicates.inc()
      if (d.token) this.deps.ack([d.token])
      return
    }
    const g = this.openGroup()
    g.lines.push(v.line)
    if (d.token) g.tokens.push(d.token)
    g.readings.push({ at: v.at, payload: v.payload, receivedMs: now })
    if (v.dedupKey !== undefined) g.seen.push([v.at.device, v.dedupKey])
  }

  private openGroup(): Group {
    if (this.group) return this.group
    const g: Group = { lines: [], tokens: [], readings: [], seen: [] }
    this.group = g
    setImmediate(() => {
      this.group = undefined
      const p = this.commit(g).finally(() => this.inFlight.delete(p))
      this.inFlight.add(p)
    })
    return g
  }

  private async commit(g: Group): Promise<void> {
    try {
      await this.deps.spool.append(g.lines)
    } catch (err) {
      this.deps.log.error({ err, lines: g.lines.length }, 'spool append failed: messages left unacknowledged')
      this.deps.onSpoolError(err)
      return
    }
    // Seen only once durable: a reading lost before its fsync must be accepted when redelivered.
    for (const [device, key] of g.seen) this.dedup.add(device, key)
    this.deps.ack(g.tokens)
    for (const r of g.readings) {
      this.accepted.inc({ channel: r.at.channel })
      this.deps.hub.publish(r)
    }
  }

  /** Resolves when everything handled so far is spooled (or failed) and acknowledged. */
  async settle(): Promise<void> {
    while (this.group || this.inFlight.size > 0 || this.rejectFlush) {
      if (this.group) await new Promise((r) => setImmediate(r))
      await Promise.all([...this.inFlight])
      await this.rejectFlush
    }
  }
}
