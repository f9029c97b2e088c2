/**
 * A lean MQTT 3.1.1 subscriber on mqtt-packet that acknowledges when the caller says so.
 * Why not mqtt.js: its `handleMessage` delays the PUBACK, but it handles one packet at a time, so
 * acking after a durable write would cost one fsync per message. Here PUBACKs are sent in
 * batches after each group commit, and many QoS 1 deliveries are in flight at once.
 */
import { EventEmitter } from 'node:events'
import { type Socket, connect } from 'node:net'
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet'
import type { Logger } from '../runtime/logger.js'

export interface SubscriberOptions {
  url: string
  clientId: string
  username: string
  password: string
  filters: readonly string[]
  keepaliveS?: number
  reconnectMinMs?: number
  reconnectMaxMs?: number
  log: Logger
}

/** Identifies one delivery: a message id is only meaningful on the connection that carried it. */
export interface AckToken {
  conn: number
  id: number
}

export interface Delivery {
  topic: string
  payload: Buffer
  /** undefined for QoS 0 (nothing to acknowledge). */
  token: AckToken | undefined
}

export class AckingSubscriber extends EventEmitter<{ message: [Delivery]; connected: [boolean]; disconnected: [] }> {
  private socket: Socket | undefined
  private conn = 0
  private closed = false
  private paused = false
  private attempt = 0
  private reconnectTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  private lastSentMs = 0
  private awaitingPong = false
  private nextId = 1

  constructor(private readonly opts: SubscriberOptions) {
    super()
  }

  start(): void {
    this.open()
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.paused
  }

  /** Sends the PUBACKs, in one socket write. Tokens from an older connection are dropped: the broker redelivers those. */
  ack(tokens: readonly AckToken[]): void {
    const socket = this.socket
    if (!socket || tokens.length === 0) return
    socket.cork()
    for (const t of tokens) {
      if (t.conn === this.conn) socket.write(mqttPacket.generate({ cmd: 'puback', messageId: t.id }))
    }
    socket.uncork()
    this.lastSentMs = Date.now()
  }

  /**
   * Stops taking messages by leaving the broker (the persistent session queues them there) until
   * resume(). Used when the local spool is full.
   */
  pause(): void {
    if (this.paused) return
    this.paused = true
    this.drop('paused')
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.attempt = 0
    this.open()
  }

  /** Stops reading new messages (acks can still be sent): the first step of a clean shutdown. */
  stopReading(): void {
    this.socket?.pause()
  }

  /** Disconnects without unsubscribing: the session and its queued messages stay on the broker. */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.reconnectTimer)
    const socket = this.socket
    if (!socket) return
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve())
      socket.end(mqttPacket.generate({ cmd: 'disconnect' }))
      setTimeout(() => socket.destroy(), 1_000).unref()
    })
  }

  private open(): void {
    if (this.closed || this.paused || this.socket) return
    const url = new URL(this.opts.url)
    const socket = connect({ host: url.hostname, port: Number(url.port || 1883), noDelay: true })
    const conn = ++this.conn
    this.socket = socket
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (p: Packet) => this.onPacket(p, conn))
    parser.on('error', (err: Error) => {
      this.opts.log.warn({ err: err.message }, 'mqtt parse error')
      socket.destroy()
    })
    socket.on('data', (chunk) => parser.parse(chunk))
    socket.on('error', (err) => this.opts.log.debug({ err: err.message }, 'mqtt socket error'))
    socket.on('close', () => {
      if (this.socket === socket) this.drop('closed')
    })
    socket.on('connect', () => {
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: false, // persistent session: the broker keeps QoS 1 messages while we are away
          clientId: this.opts.clientId,
          keepalive: this.opts.keepaliveS ?? 30,
          username: this.opts.username,
          password: Buffer.from(this.opts.password),
        }),
      )
      this.lastSentMs = Date.now()
    })
  }

  private drop(why: string): void {
    const socket = this.socket
    this.socket = undefined
    clearInterval(this.pingTimer)
    this.awaitingPong = false
    if (socket) {
      socket.destroy()
      this.emit('disconnected')
    }
    if (this.closed || this.paused) return
    const min = this.opts.reconnectMinMs ?? 500
    const max = this.opts.reconnectMaxMs ?? 30_000
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.5 + Math.random() / 2) // full backoff with jitter
    this.attempt += 1
    this.opts.log.info({ why, delayMs: Math.round(delay) }, 'mqtt reconnecting')
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = setTimeout(() => this.open(), delay)
  }

  private onPacket(p: Packet, conn: number): void {
    if (conn !== this.conn) return
    switch (p.cmd) {
      case 'connack':
        if (p.returnCode !== 0) {
          this.opts.log.error({ returnCode: p.returnCode, clientId: this.opts.clientId }, 'mqtt connection refused')
          this.drop('refused')
          return
        }
        this.attempt = 0
        this.startPing()
        // Subscribing again on a kept session is harmless and picks up changed filters.
        this.send({
          cmd: 'subscribe',
          messageId: this.newId(),
          subscriptions: this.opts.filters.map((topic) => ({ topic, qos: 1 as const })),
        })
        this.emit('connected', p.sessionPresent)
        return
      case 'publish': {
        const pub = p as IPublishPacket
        const payload = Buffer.isBuffer(pub.payload) ? pub.payload : Buffer.from(pub.payload)
        const token = pub.qos > 0 && pub.messageId !== undefined ? { conn, id: pub.messageId } : undefined
        this.emit('message', { topic: pub.topic, payload, token })
        return
      }
      case 'suback':
        if (p.granted.some((g) => (typeof g === 'number' ? g : (g as { qos?: number }).qos) === 128)) {
          this.opts.log.error({ filters: this.opts.filters }, 'mqtt subscription refused')
        }
        return
      case 'pingresp':
        this.awaitingPong = false
        return
      default:
        return
    }
  }

  private startPing(): void {
    const keepaliveMs = (this.opts.keepaliveS ?? 30) * 1_000
    clearInterval(this.pingTimer)
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) return this.drop('keepalive timeout')
      if (Date.now() - this.lastSentMs >= keepaliveMs / 2) {
        this.awaitingPong = true
        this.send({ cmd: 'pingreq' })
      }
    }, keepaliveMs / 2)
    this.pingTimer.unref()
  }

  private send(packet: Packet): void {
    this.socket?.write(mqttPacket.generate(packet))
    this.lastSentMs = Date.now()
  }

  private newId(): number {
    this.nextId = (this.nextId % 65_535) + 1
    return this.nextId
  }
}
