/**
 * A lean MQTT 3.1.1 subscriber on mqtt-packet that acknowledges when the caller says so.
 * Why not mqtt.js: its `handleMessage` delays the PUBACK, but it handles one packet at a time, so
 * acking after a durable write would cost one fsync per message. Here PUBACKs are sent in
 * batches after each group commit, and many QoS 1 deliveries are in flight at once.
 *
 * Any packet the broker sends is survived (issue 13): a malformed or unexpected one goes to
 * `onMalformed` (dead-lettered, then acknowledged when it has a packet id, so the broker does not
 * redeliver it forever) and the stream goes on with the next (frames.ts). Only a packet without a
 * readable end drops the connection: after its PUBACK when its packet id was read, and with a
 * reconnect delay that grows until a connection delivers again.
 */
import { EventEmitter } from 'node:events'
import { type Socket, connect } from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'
import type { Logger } from '../runtime/logger.js'
import { newFrame, readFrame } from './frames.js'

export interface SubscriberOptions {
  url: string
  clientId: string
  username: string
  password: string
  filters: readonly string[]
  keepaliveS?: number
  reconnectMinMs?: number
  reconnectMaxMs?: number
  /** A SUBSCRIBE not answered this long: logged, and the connection made again (default 10 s). */
  subackTimeoutMs?: number
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

/**
 * A packet ingest cannot take, with its reason (a fixed text), its bytes, the topic when it could
 * be read, and the token to acknowledge once it is kept (NO_TOKEN: nothing to acknowledge).
 */
export type MalformedHandler = (reason: string, packet: Buffer, topic: string | undefined, token: AckToken) => void

/** After a packet without an end, how long its PUBACK may take before the connection is dropped anyway. */
const ACK_BEFORE_DROP_MS = 5_000
const PACKET_NAMES = ['reserved', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'reserved']

export class AckingSubscriber extends EventEmitter<{ connected: [boolean]; disconnected: [] }> {
  /** Where PUBLISHes go (a plain callback: one call per message, no event object). */
  onDelivery: DeliveryHandler = () => {}
  onMalformed: MalformedHandler = () => {}
  private socket: Socket | undefined
  private conn = 0
  private closed = false
  private paused = false
  private attempt = 0
  private reconnectTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  private subackTimer: NodeJS.Timeout | undefined
  private lastSentMs = 0
  private awaitingPong = false
  private nextId = 1
  private rest: Buffer | undefined
  private readonly frame = newFrame()
  /** Whether this connection has delivered a PUBLISH; connections in a row that lost their stream before one did. */
  private delivered = false
  private brokenStreak = 0
  /** The token whose PUBACK ends this connection (after a packet without an end). */
  private dropAfterAck: AckToken | undefined

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
    // The PUBACK is written before the FIN: the broker forgets the message before the reconnect.
    if (this.dropAfterAck !== undefined && tokens.includes(this.dropAfterAck)) {
      socket.end()
      socket.resume() // read (and ignore) the rest, so the broker's close reaches us
    }
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
    clearTimeout(this.subackTimer)
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
    this.rest = undefined
    this.delivered = false
    this.dropAfterAck = undefined
    socket.on('data', (chunk: Buffer) => {
      if (conn === this.conn && this.dropAfterAck === undefined) this.frames(chunk, conn, parser)
    })
    socket.on('error', (err) => this.opts.log.debug({ err: err.message }, 'mqtt socket error'))
    socket.on('close', () => {
      if (this.socket === socket) this.drop('closed', this.dropAfterAck !== undefined)
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

  /** `broken`: the stream was lost to a packet without an end (or a malformed CONNACK). */
  private drop(why: string, broken = false): void {
    const socket = this.socket
    this.socket = undefined
    clearInterval(this.pingTimer)
    clearTimeout(this.subackTimer)
    this.awaitingPong = false
    if (socket) {
      socket.destroy()
      this.emit('disconnected')
    }
    if (this.closed || this.paused) return
    // A CONNACK resets the delay to this streak, not to zero: a connection that loses its stream
    // again before it delivers anything (the same broken packet first in the queue) waits longer.
    if (broken) this.brokenStreak = this.delivered ? 1 : this.brokenStreak + 1
    else if (this.delivered) this.brokenStreak = 0
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
        this.attempt = this.brokenStreak
        this.startPing()
        // Subscribing again on a kept session is harmless and picks up changed filters.
        this.send({
          cmd: 'subscribe',
          messageId: this.newId(),
          subscriptions: this.opts.filters.map((topic) => ({ topic, qos: 1 as const })),
        })
        // Connected but not subscribed receives nothing, while devices get their PUBACKs: a broker
        // that never answers (aedes on Redis did, issue 14) must not pass for a working one.
        clearTimeout(this.subackTimer)
        this.subackTimer = setTimeout(() => {
          if (conn !== this.conn) return
          this.opts.log.error({ filters: this.opts.filters, waitedMs: this.opts.subackTimeoutMs ?? 10_000 }, 'no SUBACK from the broker: not subscribed, nothing reaches ingest; connecting again')
          this.drop('no SUBACK')
        }, this.opts.subackTimeoutMs ?? 10_000)
        this.subackTimer.unref()
        this.emit('connected', p.sessionPresent)
        return
      case 'suback':
        clearTimeout(this.subackTimer)
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
   * Splits the stream into packets (frames.ts). PUBLISHes, nearly all the traffic, are decoded
   * without a packet object; the rare control packets go whole to mqtt-packet.
   */
  private frames(chunk: Buffer, conn: number, parser: mqttPacket.Parser): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk
    this.rest = undefined
    const f = this.frame
    let i = 0
    while (i < buf.length) {
      const kind = readFrame(buf, i, f)
      if (kind === 'incomplete') break
      const token = f.messageId === 0 ? NO_TOKEN : conn * 65_536 + f.messageId
      if (kind === 'unframeable') {
        // The stream is lost from here: the packet is kept with what could be read of it.
        this.malformed(f.reason, buf.subarray(i), f.topic || undefined, token)
        if (token === NO_TOKEN) this.drop('packet without an end', true)
        else this.endAfterAck(token, conn)
        return
      }
      if (kind === 'publish') {
        this.delivered = true
        this.onDelivery(f.topic, buf.subarray(f.payloadStart, f.end), token)
      } else if (kind === 'malformed') this.malformed(f.reason, buf.subarray(i, f.end), f.topic || undefined, token)
      else this.control(buf.subarray(i, f.end), f.type, parser)
      if (conn !== this.conn || this.socket === undefined) return // a handler dropped the connection
      i = f.end
    }
    // Copied: a view would keep the whole chunk alive until the next one.
    if (i < buf.length) this.rest = Buffer.from(buf.subarray(i))
  }

  private malformed(reason: string, packet: Buffer, topic: string | undefined, token: AckToken): void {
    this.opts.log.warn({ reason, topic, bytes: packet.length, acknowledged: token !== NO_TOKEN }, 'malformed packet from the broker: dead-lettered')
    // Copied: the dead letter is written a tick later, and the chunk's bytes are not ours to keep.
    this.onMalformed(reason, Buffer.from(packet), topic, token)
  }

  /** One whole control packet to mqtt-packet; one it refuses is dead-lettered and the stream goes on. */
  private control(packet: Buffer, type: number, parser: mqttPacket.Parser): void {
    let refused: Error | undefined
    const onError = (err: Error) => (refused = err)
    parser.on('error', onError)
    parser.parse(packet)
    parser.off('error', onError)
    if (refused === undefined) return
    this.malformed(`malformed ${PACKET_NAMES[type]}`, packet, undefined, NO_TOKEN)
    if (type === 2) this.drop('malformed connack', true) // without a CONNACK the connection is no use
  }

  /** Stops reading; the PUBACK of `token` (written once its dead letter is kept) ends the connection. */
  private endAfterAck(token: AckToken, conn: number): void {
    this.dropAfterAck = token
    this.socket?.pause()
    setTimeout(() => {
      if (conn === this.conn && this.socket) this.drop('packet without an end', true)
    }, ACK_BEFORE_DROP_MS).unref()
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
