/**
 * How a simulated device reaches a broker: one connection with a Last Will, QoS 1 publishes
 * with a completion callback, and two ways to go away (a clean `end`, or `kill`: the socket dies
 * and the broker publishes the will). `LoopBroker` is an in-memory broker on the simulated
 * clock for unit tests and for `runModel`; transport-mqtt.ts is the real one.
 */
import type { Scheduler } from './scheduler.js'

export interface Will {
  topic: string
  payload: string
  retain: boolean
  qos: 0 | 1
}

export interface TransportHandlers {
  onConnect(): void
  /** The connection failed or was lost (never after a local `end`). */
  onClose(reason: string): void
  onMessage(topic: string, payload: Buffer): void
}

export interface OpenOptions {
  will: Will
  subscribe: readonly string[]
}

/** `kill` and `end` are the device's own doing: neither calls a handler afterwards. */
export interface Transport {
  open(opts: OpenOptions, handlers: TransportHandlers): void
  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }, done: (err?: Error) => void): void
  kill(): void
  /** Sends what is queued, then closes. */
  end(): Promise<void> | void
}

export type TransportFactory = (device: string) => Transport

export interface Published {
  /** Simulated time the broker got it. */
  tMs: number
  topic: string
  payload: Record<string, unknown>
  retain: boolean
  /** True when the broker sent it as a Last Will. */
  will?: boolean
}

/** The broker side of the loopback: records every message and routes commands to devices. */
export class LoopBroker {
  readonly published: Published[] = []
  /** Every connection attempt: who, when, and whether the broker took it. */
  readonly connects: Array<{ device: string; tMs: number; ok: boolean }> = []
  private readonly sessions = new Map<string, LoopTransport>()
  /** Simulated connect and ack latency, ms. */
  latencyMs = 20
  /** Messages received, kept or not. */
  count = 0
  /** False: count messages without keeping them (load tests). */
  keep = true
  /** While down, connections are refused. */
  private down = false

  constructor(readonly sched: Scheduler) {}

  transport: TransportFactory = (device) => new LoopTransport(this, device)

  record(topic: string, payload: string, retain: boolean, will = false): void {
    this.count++
    if (!this.keep) return
    this.published.push({ tMs: this.sched.now(), topic, payload: JSON.parse(payload) as Record<string, unknown>, retain, ...(will ? { will } : {}) })
  }

  /** Delivers a message to every connected device subscribed to exactly `topic`. */
  deliver(topic: string, payload: unknown): number {
    let n = 0
    for (const s of this.sessions.values()) {
      if (s.subscribed(topic)) {
        s.receive(topic, Buffer.from(JSON.stringify(payload)))
        n++
      }
    }
    return n
  }

  get isDown(): boolean {
    return this.down
  }

  /** A broker outage: every session drops (no will: the broker is gone) and connects fail. */
  setDown(down: boolean): void {
    this.down = down
    if (!down) return
    for (const s of [...this.sessions.values()]) s.lose('broker down')
  }

  attach(id: string, t: LoopTransport): void {
    this.sessions.get(id)?.kill() // [MQTT-3.1.4-2] a second connection with the same id takes over
    this.sessions.set(id, t)
  }

  detach(id: string, t: LoopTransport): void {
    if (this.sessions.get(id) === t) this.sessions.delete(id)
  }
}

class LoopTransport implements Transport {
  private handlers: TransportHandlers | undefined
  private opts: OpenOptions | undefined
  private up = false

  constructor(
    private readonly broker: LoopBroker,
    private readonly id: string,
  ) {}

  open(opts: OpenOptions, handlers: TransportHandlers): void {
    this.opts = opts
    this.handlers = handlers
    this.broker.sched.after(this.broker.latencyMs, () => {
      if (this.handlers !== handlers) return
      this.broker.connects.push({ device: this.id, tMs: this.broker.sched.now(), ok: !this.broker.isDown })
      if (this.broker.isDown) return this.lose('connection refused')
      this.up = true
      this.broker.attach(this.id, this)
      handlers.onConnect()
    })
  }

  subscribed(topic: string): boolean {
    return this.up && (this.opts?.subscribe.includes(topic) ?? false)
  }

  receive(topic: string, payload: Buffer): void {
    const h = this.handlers
    this.broker.sched.after(this.broker.latencyMs, () => {
      if (this.up && this.handlers === h) h?.onMessage(topic, payload)
    })
  }

  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }, done: (err?: Error) => void): void {
    if (!this.up) {
      done(new Error('not connected'))
      return
    }
    this.broker.record(topic, payload, opts.retain)
    this.broker.sched.after(this.broker.latencyMs, () => done())
  }

  kill(): void {
    const wasUp = this.up
    this.drop()
    if (wasUp && this.opts) this.broker.record(this.opts.will.topic, this.opts.will.payload, this.opts.will.retain, true)
  }

  /** The connection is lost from the broker's side. */
  lose(reason: string): void {
    const h = this.handlers
    this.drop()
    if (h) this.broker.sched.after(0, () => h.onClose(reason))
  }

  end(): void {
    this.drop()
  }

  private drop(): void {
    this.up = false
    this.handlers = undefined
    this.broker.detach(this.id, this)
  }
}
