/**
 * A device's way to the broker, as its firmware handles it: one connection at a time with a
 * retained birth and Last Will; reconnects with exponential backoff and jitter; a bounded
 * offline buffer replayed in order with the original payloads, paced by a token bucket and at
 * most 10 unacknowledged messages. Messages in flight when a connection dies go back to the
 * front of the buffer (at least once: the broker may see one twice, never lose it).
 */
import type { Logger } from '../runtime/logger.js'
import { OfflineBuffer, type Queued } from './buffer.js'
import type { Rng } from './rng.js'
import type { Scheduler, TimerHandle } from './scheduler.js'
import type { Transport, TransportFactory } from './transport.js'

const MAX_INFLIGHT = 10
const BACKOFF_BASE_MS = 1_000
const BACKOFF_MAX_MS = 60_000

export interface UplinkHost {
  /** May the device try to connect now (powered, link up)? */
  mayConnect(): boolean
  /** When a connect attempt is worth making again, at the earliest (the link comes back). */
  earliestRetryMs(nowMs: number): number
  statusPayload(online: boolean): string
  onMessage(topic: string, payload: Buffer): void
}

export interface UplinkOptions {
  sched: Scheduler
  transport: TransportFactory
  clientId: string
  statusTopic: string
  cmdTopic: string
  /** Backoff jitter. */
  rng: Rng
  bufferCapacity: number
  /** Messages per simulated second while replaying (Infinity: only acks pace it). */
  replayPerS: () => number
  log: Logger
}

type Conn = 'down' | 'connecting' | 'up'

export class Uplink {
  private conn: Conn = 'down'
  private transport: Transport | undefined
  private gen = 0
  private attempts = 0
  private readonly buffer: OfflineBuffer
  private readonly inflight = new Map<number, Queued>()
  private nextId = 0
  private tokens = 1
  private tokensAt = 0
  private retryTimer: TimerHandle | undefined
  private flushTimer: TimerHandle | undefined

  constructor(
    private readonly o: UplinkOptions,
    private readonly host: UplinkHost,
  ) {
    this.buffer = new OfflineBuffer(o.bufferCapacity)
  }

  get connected(): boolean {
    return this.conn === 'up'
  }

  get isDown(): boolean {
    return this.conn === 'down'
  }

  get backlog(): number {
    return this.buffer.length + this.inflight.size
  }

  get dropped(): number {
    return this.buffer.dropped
  }

  /** Queues a QoS 1 message behind the backlog, and sends what it can. */
  enqueue(topic: string, payload: string): void {
    this.buffer.push({ topic, payload })
    this.flush()
  }

  /** Sends at once, ahead of the backlog (command acks); dropped when offline. */
  sendNow(topic: string, payload: string): void {
    if (this.conn === 'up') this.transport?.publish(topic, payload, { qos: 1, retain: false }, () => {})
  }

  connect(): void {
    this.retryTimer = undefined
    if (this.conn !== 'down') return
    if (!this.host.mayConnect()) return this.retryLater()
    this.conn = 'connecting'
    const gen = ++this.gen
    const t = this.o.transport(this.o.clientId)
    this.transport = t
    const will = { topic: this.o.statusTopic, payload: this.host.statusPayload(false), retain: true, qos: 1 as const }
    t.open({ will, subscribe: [this.o.cmdTopic] }, {
      onConnect: () => {
        if (gen !== this.gen) return
        this.conn = 'up'
        this.attempts = 0
        t.publish(this.o.statusTopic, this.host.statusPayload(true), { qos: 1, retain: true }, () => {})
        this.flush()
      },
      onClose: (reason) => {
        if (gen !== this.gen) return
        this.o.log.debug({ reason }, 'connection lost')
        this.forget()
        this.retryLater()
      },
      onMessage: (topic, payload) => {
        if (gen === this.gen) this.host.onMessage(topic, payload)
      },
    })
  }

  /** Connects now if down and not already waiting to retry, with the backoff reset (the link came back). */
  reconnectNow(): void {
    if (this.conn !== 'down' || this.retryTimer) return
    this.attempts = 0
    this.connect()
  }

  /** Exponential backoff with jitter (0.5-1.5x), so a fleet does not reconnect in one wave. */
  private retryLater(): void {
    if (this.retryTimer) return
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempts)
    this.attempts = Math.min(this.attempts + 1, 16)
    const now = this.o.sched.now()
    const at = Math.max(now + base * (0.5 + this.o.rng.next()), this.host.earliestRetryMs(now))
    this.retryTimer = this.o.sched.at(at, () => this.connect())
  }

  /** Forgets the connection; messages in flight go back to the front of the buffer. */
  private forget(): void {
    this.gen++
    this.conn = 'down'
    this.transport = undefined
    this.flushTimer?.cancel()
    this.flushTimer = undefined
    this.buffer.unshiftAll([...this.inflight.values()])
    this.inflight.clear()
  }

  /** The socket dies without DISCONNECT (power, link, reboot): the broker publishes the will. */
  kill(): void {
    this.retryTimer?.cancel()
    this.retryTimer = undefined
    this.transport?.kill()
    this.forget()
  }

  private flush(): void {
    const t = this.transport
    if (this.conn !== 'up' || !t) return
    const now = this.o.sched.now()
    const rate = this.o.replayPerS()
    this.tokens = rate === Infinity ? Infinity : Math.min(rate, this.tokens + ((now - this.tokensAt) / 1000) * rate)
    this.tokensAt = now
    while (this.inflight.size < MAX_INFLIGHT && this.buffer.length > 0 && this.tokens >= 1) {
      const item = this.buffer.shift() as Queued
      this.tokens -= 1
      const id = this.nextId++
      const gen = this.gen
      let failed = false
      this.inflight.set(id, item)
      t.publish(item.topic, item.payload, { qos: 1, retain: false }, (err) => {
        if (gen !== this.gen) return
        this.inflight.delete(id)
        if (!err) return this.flush()
        // Back to the front; the connection is going: its close brings the retry.
        this.buffer.unshiftAll([item])
        failed = true
      })
      if (failed) break
    }
    if (this.buffer.length > 0 && this.tokens < 1 && !this.flushTimer) {
      this.flushTimer = this.o.sched.after(1000 / rate, () => {
        this.flushTimer = undefined
        this.flush()
      })
    }
  }

  /** Stops for good. `graceful`: the retained status says offline first (a shutdown, not a crash). */
  close(graceful: boolean): Promise<void> | void {
    this.retryTimer?.cancel()
    this.retryTimer = undefined
    const t = this.transport
    if (t && this.conn === 'up' && graceful) t.publish(this.o.statusTopic, this.host.statusPayload(false), { qos: 1, retain: true }, () => {})
    this.forget()
    return t?.end()
  }
}
