/**
 * A lean MQTT 3.1.1 subscriber on mqtt-packet that acknowledges when the caller says so.
 * Why not mqtt.js: its `handleMessage` delays the PUBACK, but it handles one packet at a time, so
 * acking after a durable write would cost one fsync per message. Here PUBACKs are sent in
 * batches after each group commit, and many QoS 1 deliveries are in flight at once.
 */
import { EventEmitter } from 'node:events'
import { type Socket, connect } from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'
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

/**
 * Identifies one delivery: connection * 65536 + message id (a message id is only meaningful on
 * the connection that carried it). A number, so a batch of them is one flat array.
 */
export type AckToken = number
/** A QoS 0 delivery: nothing to acknowledge. */
export const NO_TOKEN: AckToken = 0

/** Called for every PUBLISH, synchronously from the socket's data event. */
export type DeliveryHandler = (topic: string, payload: Buffer, token: AckToken) => void

export class AckingSubscriber extends EventEmitter<{ connected: [boolean]; disconnected: [] }> {
  /** Where PUBLISHes go (a plain callback: one call per message, no event object). */
  onDelivery: DeliveryHandler = () => {}
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
  private rest: Buffer | undefined

  constructor(private readonly opts: SubscriberOptions) {
    super()
  }

  start(): void {
    this.open()
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.paused
  }

  /** Sends the PUBACKs, encoded by hand into one Buffer and one socket write. Tokens from an older connection are dropped: the broker redelivers those. */
  ack(tokens: readonly AckToken[]): void {
    const socket = this.socket
    if (!socket || tokens.length === 0) return
    const buf = Buffer.allocUnsafe(tokens.length * 4)
    const base = this.conn * 65_536
    let o = 0
    for (const t of tokens) {
      const id = t - base
      if (id <= 0 || id > 65_535) continue
      buf[o] = 0x40 // PUBACK [MQTT-3.4]
      buf[o + 1] = 2
      buf[o + 2] = id >> 8
      buf[o + 3] = id & 0xff
      o += 4
    }
    if (o === 0) return
    socket.write(o === buf.length ? buf : buf.subarray(0, o))
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
    this.rest = undefined
    socket.on('data', (chunk: Buffer) => {
      if (conn !== this.conn) return
      if (!this.frames(chunk, conn, parser)) {
        this.opts.log.warn({}, 'mqtt framing error')
        socket.destroy()
      }
    })
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

  /**
   * Splits the stream into packets. PUBLISHes, nearly all the traffic, are decoded here without a
   * packet object; the rare control packets go whole to mqtt-packet. False on a malformed stream.
   */
  private frames(chunk: Buffer, conn: number, parser: { parse(buf: Buffer): unknown }): boolean {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk
    this.rest = undefined
    let i = 0
    while (i < buf.length) {
      const head = parseFixedHeader(buf, i)
      if (head === undefined) break // the rest has not arrived
      if (head < 0) return false
      const start = head % 8 // bytes of fixed header
      const end = i + start + Math.floor(head / 8)
      if (end > buf.length) break
      const type = (buf[i] as number) >> 4
      if (type === 3) {
        if (!this.publish(buf, buf[i] as number, i + start, end, conn)) return false
      } else parser.parse(buf.subarray(i, end))
      if (conn !== this.conn) return true // the handler or the parser dropped the connection
      i = end
    }
    // Copied: a view would keep the whole chunk alive until the next one.
    if (i < buf.length) this.rest = Buffer.from(buf.subarray(i))
    return true
  }

  /** A PUBLISH body [MQTT-3.3]: topic, message id when QoS > 0, payload. */
  private publish(buf: Buffer, flags: number, from: number, end: number, conn: number): boolean {
    const qos = (flags >> 1) & 3
    if (qos === 3 || from + 2 > end) return false
    const topicEnd = from + 2 + buf.readUInt16BE(from)
    const payloadStart = qos > 0 ? topicEnd + 2 : topicEnd
    if (payloadStart > end) return false
    const topic = buf.toString('utf8', from + 2, topicEnd)
    const token = qos > 0 ? conn * 65_536 + buf.readUInt16BE(topicEnd) : NO_TOKEN
    this.onDelivery(topic, buf.subarray(payloadStart, end), token)
    return true
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

/**
 * Fixed header at `i` [MQTT-2.2]: remaining length * 8 + header bytes (2 to 5); undefined when
 * incomplete, -1 when the length takes more than four bytes.
 */
export function parseFixedHeader(buf: Buffer, i: number): number | undefined {
  let length = 0
  let mul = 1
  for (let j = i + 1; j < buf.length; j++) {
    const b = buf[j] as number
    length += (b & 0x7f) * mul
    if ((b & 0x80) === 0) return length * 8 + (j - i + 1)
    mul *= 128
    if (mul > 128 ** 3) return -1
  }
  return undefined
}
