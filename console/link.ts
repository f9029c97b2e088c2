/**
 * The console server's own MQTT connection (a service account): it keeps the last hour of
 * telemetry for pages that open later, reads the simulator's retained state (viewers may not
 * subscribe to sim/control: broker/acl.ts), and publishes trainer actions on `sim/control`,
 * waiting for the answer on `sim/control/ack`.
 */
import { randomBytes } from 'node:crypto'
import { type MqttClient, connect } from 'mqtt'
import { decodeMessage } from '../contracts/decode.js'
import { SIM_ACK_TOPIC, SIM_CONTROL_TOPIC, SIM_STATE_TOPIC, SimAck, type SimControl, SimState } from '../contracts/sim-control.js'
import { filterOf } from '../contracts/topics.js'
import type { Credentials } from '../runtime/accounts.js'
import type { Logger } from '../runtime/logger.js'
import type { History } from './history.js'

export type ControlResult = { ok: true; ack: SimAck } | { ok: false; status: number; reason: string }

export interface LinkOptions {
  url: string
  credentials: Credentials
  history: History
  timeoutMs: number
  now(): number
  log: Logger
}

export class ConsoleLink {
  /** The simulator's retained state; undefined while no simulator runs. */
  simState: SimState | undefined
  private readonly client: MqttClient
  private readonly waiting = new Map<string, (ack: SimAck) => void>()
  private counter = 0
  private readonly prefix = `console-${randomBytes(3).toString('hex')}-`

  constructor(private readonly opts: LinkOptions) {
    const { username, password } = opts.credentials
    this.client = connect(opts.url, {
      username,
      password,
      // [broker/client-id.ts] a client id is the username, or the username and `_` and a suffix.
      clientId: `${username}_${randomBytes(3).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2_000,
    })
    this.client.on('connect', () => {
      this.client.subscribe([SIM_STATE_TOPIC, SIM_ACK_TOPIC, filterOf('telemetry')], { qos: 0 }, (err) => {
        if (err) opts.log.warn({ err: err.message }, 'console subscriptions refused')
      })
    })
    this.client.on('error', (err) => opts.log.debug({ err: err.message }, 'console mqtt error'))
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload))
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === SIM_STATE_TOPIC) {
      // An empty retained message means the simulator stopped (firmware-sim/control.ts).
      const parsed = payload.length === 0 ? undefined : parseJson(payload, SimState)
      this.simState = parsed
      return
    }
    if (topic === SIM_ACK_TOPIC) {
      const ack = parseJson(payload, SimAck)
      const wake = ack?.id === undefined ? undefined : this.waiting.get(ack.id)
      if (ack && wake) wake(ack)
      return
    }
    const decoded = decodeMessage(topic, payload)
    if (decoded.ok) this.opts.history.add(decoded.at, decoded.payload, this.opts.now())
  }

  get connected(): boolean {
    return this.client.connected
  }

  /** Publishes one trainer action and waits for the simulator's answer. */
  async control(action: SimControl): Promise<ControlResult> {
    if (!this.client.connected) return { ok: false, status: 503, reason: 'console is not connected to the broker' }
    const id = `${this.prefix}${++this.counter}`
    let timer: NodeJS.Timeout | undefined
    const answered = new Promise<SimAck | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.opts.timeoutMs)
      this.waiting.set(id, resolve)
    })
    try {
      await this.client.publishAsync(SIM_CONTROL_TOPIC, JSON.stringify({ ...action, id }), { qos: 1 })
    } catch (err) {
      clearTimeout(timer)
      this.waiting.delete(id)
      return { ok: false, status: 503, reason: `not published: ${(err as Error).message}` }
    }
    const ack = await answered
    clearTimeout(timer)
    this.waiting.delete(id)
    if (!ack) return { ok: false, status: 504, reason: 'no answer from the simulator' }
    return { ok: true, ack }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.client.end(false, {}, () => resolve())
      setTimeout(() => this.client.end(true, {}, () => resolve()), 2_000).unref()
    })
  }
}

function parseJson<T>(payload: Buffer, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): T | undefined {
  try {
    const r = schema.safeParse(JSON.parse(payload.toString('utf8')))
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}
