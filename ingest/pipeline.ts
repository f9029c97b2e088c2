/**
 * From delivery to acknowledgement: judge each message, append accepted lines to the spool in
 * one group per tick, and only then acknowledge them to the broker and hand the readings to the
 * alert engine. Rejected messages are acknowledged once their dead letter is written.
 */
import type { TopicAddress } from '../contracts/topics.js'
import type { DeadLetterInput, DeadLetterStore } from '../runtime/deadletter.js'
import type { ReadingHub } from '../runtime/hub.js'
import type { Logger } from '../runtime/logger.js'
import type { Metrics } from '../runtime/metrics.js'
import { type AcceptPolicy, Deduper, judge } from './accept.js'
import type { Spool } from './spool.js'
import { type AckToken, NO_TOKEN } from './subscriber.js'

/** One tick's accepted readings, as parallel arrays: no object per reading until the hub wants one. */
interface Group {
  lines: string[]
  /** Readings of training farms: their own spool and bucket (issue 16). */
  trainingLines: string[]
  tokens: AckToken[]
  ats: TopicAddress[]
  payloads: Array<Record<string, unknown>>
  receivedMs: number[]
  /** Indexes of the readings the deduper must remember. */
  seen: number[]
}

export interface PipelineDeps {
  spool: Spool
  /** Where training farms' readings go; unset: the one spool. */
  trainingSpool?: Spool
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
  private readonly malformedPackets

  constructor(private readonly deps: PipelineDeps) {
    const m = deps.metrics
    this.received = m.counter('ingest_received_total', 'Messages received from the broker')
    this.accepted = m.counter('ingest_accepted_total', 'Readings accepted and spooled, by channel')
    this.duplicates = m.counter('ingest_duplicates_total', 'Redelivered readings dropped by (device, boot, seq)')
    this.rejected = m.counter('ingest_rejected_total', 'Messages refused and dead-lettered, by reason code')
    this.ignored = m.counter('ingest_ignored_total', 'Messages not stored (other instance, commands), by reason')
    this.malformedPackets = m.counter('ingest_malformed_packets_total', 'Packets from the broker that were not valid MQTT 3.1.1 or not expected, dead-lettered, by reason')
  }

  /** A packet the subscriber could not take (subscriber.ts): kept, then acknowledged when it can be. */
  malformed(reason: string, packet: Buffer, topic: string | undefined, token: AckToken): void {
    this.malformedPackets.inc({ reason })
    this.deadLetter({ stage: 'ingest', code: 'malformed_packet', reason, ...(topic === undefined ? {} : { topic }), payload: packet }, token)
  }

  /** Acknowledged only once its dead letter is on disk: the dead letter is then the only copy. */
  private deadLetter(letter: DeadLetterInput, token: AckToken): void {
    this.deps.deadLetters.add(letter)
    if (token !== NO_TOKEN) this.rejectedTokens.push(token)
    this.rejectFlush ??= this.deps.deadLetters.flush().then(() => {
      const tokens = this.rejectedTokens
      this.rejectedTokens = []
      this.rejectFlush = undefined
      this.deps.ack(tokens)
    })
  }

  handle(topic: string, payload: Buffer, token: AckToken): void {
    this.received.inc()
    const now = this.deps.now()
    const v = judge(topic, payload, now, this.deps.policy)
    if (v.kind === 'ignore') {
      this.ignored.inc({ reason: v.reason })
      if (token !== NO_TOKEN) this.deps.ack([token])
      return
    }
    if (v.kind === 'reject') {
      this.rejected.inc({ code: v.code })
      this.deps.log.warn({ topic, code: v.code, reason: v.reason }, 'reading rejected')
      this.deadLetter({ stage: 'ingest', code: v.code, reason: v.reason, topic, payload }, token)
      return
    }
    if (v.dedup && this.dedup.has(v.at.device, v.payload.boot as number, v.payload.seq as number)) {
      this.duplicates.inc()
      if (token !== NO_TOKEN) this.deps.ack([token])
      return
    }
    const g = this.group ?? this.openGroup()
    if (v.dedup) g.seen.push(g.ats.length)
    if (v.training && this.deps.trainingSpool) g.trainingLines.push(v.line)
    else g.lines.push(v.line)
    if (token !== NO_TOKEN) g.tokens.push(token)
    g.ats.push(v.at)
    g.payloads.push(v.payload)
    g.receivedMs.push(now)
  }

  private openGroup(): Group {
    const g: Group = { lines: [], trainingLines: [], tokens: [], ats: [], payloads: [], receivedMs: [], seen: [] }
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
      const training = this.deps.trainingSpool
      await Promise.all([g.lines.length > 0 || !training ? this.deps.spool.append(g.lines) : undefined, training && g.trainingLines.length > 0 ? training.append(g.trainingLines) : undefined])
    } catch (err) {
      this.deps.log.error({ err, lines: g.lines.length + g.trainingLines.length }, 'spool append failed: messages left unacknowledged')
      this.deps.onSpoolError(err)
      return
    }
    // Seen only once durable: a reading lost before its fsync must be accepted when redelivered.
    for (const i of g.seen) {
      const payload = g.payloads[i] as Record<string, unknown>
      this.dedup.add((g.ats[i] as TopicAddress).device, payload.boot as number, payload.seq as number)
    }
    this.deps.ack(g.tokens)
    // Counted per channel per group: a labelled inc costs a label key each time.
    const perChannel = new Map<string, number>()
    const hub = this.deps.hub
    for (let i = 0; i < g.ats.length; i++) {
      const at = g.ats[i] as TopicAddress
      perChannel.set(at.channel, (perChannel.get(at.channel) ?? 0) + 1)
      if (hub.size > 0) hub.publish({ at, payload: g.payloads[i] as Record<string, unknown>, receivedMs: g.receivedMs[i] as number })
    }
    for (const [channel, n] of perChannel) this.accepted.inc({ channel }, n)
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
