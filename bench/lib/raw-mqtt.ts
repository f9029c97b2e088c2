/**
 * A lean MQTT 3.1.1 client on a raw socket, for load: no reconnect, no stores, no timers. The
 * benchmark uses it so the load generator costs far less CPU than the broker it measures, and the
 * tests use it for what mqtt.js refuses to do (keepalive 0, silence after CONNECT, 10,000 quick
 * failed logins). PUBLISH and PUBACK are encoded by hand: a few bytes, no allocation beyond one
 * Buffer per packet.
 */
import { type Socket, connect } from 'node:net'
import mqttPacket from 'mqtt-packet'

export interface RawConnectOptions {
  host?: string
  port: number
  /** Source address: any 127.x.y.z on Linux loopback, so a test can play several hosts. */
  localAddress?: string
  clientId: string
  username?: string
  password?: string
  keepalive?: number
  clean?: boolean
  will?: { topic: string; payload: Buffer | string; qos: 0 | 1; retain: boolean }
  timeoutMs?: number
}

export interface Connack {
  returnCode: number
  sessionPresent: boolean
}

export interface Delivery {
  topic: string
  payload: Buffer
  qos: number
  messageId: number | undefined
  retain: boolean
}

/** Remaining Length, [MQTT-2.2.3]: seven bits a byte, high bit = more. */
export function remainingLength(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return out
}

/** A PUBLISH packet, [MQTT-3.3]. `topic` pre-encoded, as a device reuses its topic. */
export function encodePublish(topic: Buffer, payload: Buffer, qos: 0 | 1, messageId: number, retain = false): Buffer {
  const idBytes = qos > 0 ? 2 : 0
  const rest = 2 + topic.length + idBytes + payload.length
  const header = remainingLength(rest)
  const buf = Buffer.allocUnsafe(1 + header.length + rest)
  let i = 0
  buf[i++] = 0x30 | (qos << 1) | (retain ? 1 : 0)
  for (const b of header) buf[i++] = b
  buf.writeUInt16BE(topic.length, i)
  i += 2
  topic.copy(buf, i)
  i += topic.length
  if (qos > 0) {
    buf.writeUInt16BE(messageId, i)
    i += 2
  }
  payload.copy(buf, i)
  return buf
}

export function encodePuback(messageId: number): Buffer {
  return Buffer.from([0x40, 0x02, messageId >> 8, messageId & 0xff])
}

export class RawClient {
  onPublish: (d: Delivery) => void = () => {}
  onPuback: (messageId: number) => void = () => {}
  /** Answer each QoS 1 delivery with PUBACK (off: a subscriber that never acknowledges). */
  autoAck = true
  private nextId = 0
  private readonly waiting = new Map<number, (granted: number[]) => void>()
  private readonly closedPromise: Promise<void>

  private constructor(readonly socket: Socket) {
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()))
  }

  get closed(): Promise<void> {
    return this.closedPromise
  }

  /** Connects and resolves with the CONNACK (or rejects on a socket error or timeout). */
  static connect(opts: RawConnectOptions): Promise<{ client: RawClient; connack: Connack }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: opts.host ?? '127.0.0.1', port: opts.port, noDelay: true, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) })
      const client = new RawClient(socket)
      const parser = mqttPacket.parser({ protocolVersion: 4 })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`no CONNACK from ${opts.port} within ${opts.timeoutMs ?? 10_000} ms`))
      }, opts.timeoutMs ?? 10_000)
      let connacked = false
      socket.on('error', (err) => {
        clearTimeout(timer)
        if (!connacked) reject(err)
      })
      socket.on('close', () => {
        clearTimeout(timer)
        if (!connacked) reject(new Error('connection closed before CONNACK'))
      })
      socket.on('data', (chunk: Buffer) => parser.parse(chunk))
      parser.on('error', (err) => socket.destroy(err))
      parser.on('packet', (packet) => {
        switch (packet.cmd) {
          case 'connack':
            connacked = true
            clearTimeout(timer)
            resolve({ client, connack: { returnCode: packet.returnCode ?? 0, sessionPresent: packet.sessionPresent } })
            break
          case 'publish': {
            const d = { topic: packet.topic, payload: packet.payload as Buffer, qos: packet.qos, messageId: packet.messageId, retain: packet.retain }
            if (d.qos > 0 && d.messageId !== undefined && client.autoAck) socket.write(encodePuback(d.messageId))
            client.onPublish(d)
            break
          }
          case 'puback':
            if (packet.messageId !== undefined) client.onPuback(packet.messageId)
            break
          case 'suback':
            if (packet.messageId !== undefined) {
              client.waiting.get(packet.messageId)?.(packet.granted as number[])
              client.waiting.delete(packet.messageId)
            }
            break
          default:
        }
      })
      socket.once('connect', () => {
        const will = opts.will && { topic: opts.will.topic, payload: Buffer.from(opts.will.payload), qos: opts.will.qos, retain: opts.will.retain }
        socket.write(
          mqttPacket.generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clientId: opts.clientId,
            clean: opts.clean ?? true,
            keepalive: opts.keepalive ?? 60,
            ...(opts.username !== undefined ? { username: opts.username } : {}),
            ...(opts.password !== undefined ? { password: Buffer.from(opts.password) } : {}),
            ...(will ? { will } : {}),
          }),
        )
      })
    })
  }

  /** Next packet id, 1..65535 ([MQTT-2.3.1-1]: never 0). */
  messageId(): number {
    this.nextId = (this.nextId % 65_535) + 1
    return this.nextId
  }

  subscribe(filters: string[], qos: 0 | 1): Promise<number[]> {
    const messageId = this.messageId()
    return new Promise((resolve) => {
      this.waiting.set(messageId, resolve)
      this.socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: filters.map((topic) => ({ topic, qos })) }))
    })
  }

  /** Writes a PUBLISH; returns the packet id used (0 for QoS 0). */
  publish(topic: Buffer, payload: Buffer, qos: 0 | 1, retain = false): number {
    const id = qos > 0 ? this.messageId() : 0
    this.socket.write(encodePublish(topic, payload, qos, id, retain))
    return id
  }

  /** A clean DISCONNECT (no Last Will), then close. */
  disconnect(): void {
    this.socket.end(Buffer.from([0xe0, 0x00]))
  }

  /** Drop the socket without DISCONNECT: the broker publishes the Last Will. */
  kill(): void {
    this.socket.destroy()
  }
}
