/**
 * The engine's MQTT side: pump commands (stop, start, reset) on farm/{farm}/pump/{device}/cmd
 * with their cmd/ack answers, and, when ingest runs in another process, the readings themselves
 * (a persistent session, so QoS 1 readings wait in the broker while alerts restarts).
 */
import { randomBytes } from 'node:crypto'
import { connectAsync, type MqttClient } from 'mqtt'
import { decodeMessage } from '../contracts/decode.js'
import { type Address, filterOf, topicOf } from '../contracts/topics.js'
import { Command, type CommandAck } from '../contracts/payloads.js'
import { Since } from '../runtime/health.js'
import type { Reading } from '../runtime/hub.js'
import type { Logger } from '../runtime/logger.js'

export const PUMP_COMMANDS = ['stop', 'start', 'reset'] as const
export type PumpCommand = (typeof PUMP_COMMANDS)[number]

export interface CommandRecord {
  id: string
  farm: string
  device: string
  cmd: PumpCommand
  by: string
  sentMs: number
  ack?: CommandAck & { atMs: number }
}

export interface MqttLinkOptions {
  url(): string
  credentials(): Promise<{ username: string; password: string }>
  /** Also take readings from the broker (ingest runs elsewhere). */
  readings: boolean
  onReading(reading: Reading): void
  now(): number
  log: Logger
}

const MAX_RECORDS = 200

export class MqttLink {
  private client: Promise<MqttClient> | undefined
  private readonly records = new Map<string, CommandRecord>()
  private readonly waiters = new Map<string, Array<() => void>>()
  /** Since when the broker connection has been down, once opened (for /healthz). */
  readonly down = new Since()

  constructor(private readonly opts: MqttLinkOptions) {}

  /** Connects (once); readings mode connects at start, command-only mode on the first command. */
  connect(): Promise<MqttClient> {
    this.client ??= this.open().catch((err: unknown) => {
      this.client = undefined // the next command or start-up retry tries again
      throw err
    })
    return this.client
  }

  private async open(): Promise<MqttClient> {
    const { username, password } = await this.opts.credentials()
    const client = await connectAsync(this.opts.url(), {
      username,
      password,
      // The broker wants client ids that start with the account name (no session takeover).
      clientId: this.opts.readings ? username : `${username}_cmd_${randomBytes(3).toString('hex')}`,
      clean: !this.opts.readings,
      reconnectPeriod: 2_000,
    })
    client.on('message', (topic, payload) => this.onMessage(topic, payload))
    client.on('error', (err) => this.opts.log.warn({ err }, 'alerts mqtt error'))
    this.down.set(false, this.opts.now()) // connected: connectAsync resolved on the first 'connect'
    client.on('close', () => this.down.set(true, this.opts.now()))
    client.on('connect', () => this.down.set(false, this.opts.now()))
    const filters = [filterOf('cmd/ack')]
    if (this.opts.readings) filters.push(filterOf('telemetry'), filterOf('status'), filterOf('event'))
    await client.subscribeAsync(filters, { qos: 1 })
    return client
  }

  private onMessage(topic: string, payload: Buffer): void {
    const decoded = decodeMessage(topic, payload)
    if (!decoded.ok) {
      this.opts.log.debug({ topic, reason: decoded.reason }, 'alerts ignored a message')
      return
    }
    if (decoded.at.channel === 'cmd/ack') {
      const ack = decoded.payload as unknown as CommandAck
      const record = this.records.get(ack.id)
      if (!record || record.device !== decoded.at.device) return
      record.ack = { ...ack, atMs: this.opts.now() }
      for (const wake of this.waiters.get(ack.id) ?? []) wake()
      this.waiters.delete(ack.id)
      return
    }
    if (this.opts.readings) this.opts.onReading({ at: decoded.at, payload: decoded.payload, receivedMs: this.opts.now() })
  }

  async send(at: Address, cmd: PumpCommand, by: string): Promise<CommandRecord> {
    const client = await this.connect()
    const id = `c-${this.opts.now().toString(36)}-${randomBytes(3).toString('hex')}`
    const payload = Command.parse({ id, cmd })
    const record: CommandRecord = { id, farm: at.farm, device: at.device, cmd, by, sentMs: this.opts.now() }
    this.records.set(id, record)
    if (this.records.size > MAX_RECORDS) this.records.delete(this.records.keys().next().value as string)
    await client.publishAsync(topicOf(at, 'cmd'), JSON.stringify(payload), { qos: 1 })
    return record
  }

  get(id: string): CommandRecord | undefined {
    return this.records.get(id)
  }

  /** The record once acknowledged, or as it is after `timeoutMs`. */
  async waitAck(id: string, timeoutMs: number): Promise<CommandRecord | undefined> {
    const record = this.records.get(id)
    if (!record || record.ack) return record
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      const list = this.waiters.get(id) ?? []
      list.push(() => {
        clearTimeout(timer)
        resolve()
      })
      this.waiters.set(id, list)
    })
    return this.records.get(id)
  }

  async close(): Promise<void> {
    const client = await this.client?.catch(() => undefined)
    await client?.endAsync()
  }
}
