/**
 * The real transport: one MQTT.js client per simulated device, MQTT 3.1.1 (protocolVersion 4),
 * clean session, its own credentials, a retained Last Will. MQTT.js never reconnects by itself
 * (reconnectPeriod 0): the firmware model decides when, with backoff and jitter.
 */
import { type MqttClient, connect } from 'mqtt'
import type { Logger } from '../runtime/logger.js'
import type { OpenOptions, Transport, TransportFactory, TransportHandlers } from './transport.js'

export interface MqttTransportOptions {
  url: string
  /** Password per device; undefined connects without credentials (a test broker). */
  passwordOf(device: string): string | undefined
  log: Logger
  keepaliveS?: number
}

export function mqttTransport(opts: MqttTransportOptions): TransportFactory {
  return (device) => new MqttTransport(device, opts)
}

class MqttTransport implements Transport {
  private client: MqttClient | undefined
  /** Set once the device let go: later socket events are not its business. */
  private released = false

  constructor(
    private readonly device: string,
    private readonly opts: MqttTransportOptions,
  ) {}

  open(o: OpenOptions, h: TransportHandlers): void {
    const password = this.opts.passwordOf(this.device)
    const client = connect(this.opts.url, {
      protocolVersion: 4,
      clientId: this.device,
      ...(password === undefined ? {} : { username: this.device, password }),
      clean: true,
      keepalive: this.opts.keepaliveS ?? 30,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      resubscribe: false,
      will: { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: o.will.qos, retain: o.will.retain },
    })
    this.client = client
    let closed = false
    client.on('connect', () => {
      client.subscribe([...o.subscribe], { qos: 1 }, (err, granted) => {
        if (this.released) return
        if (err) this.opts.log.warn({ device: this.device, err: err.message }, 'subscribe failed')
        else if (granted?.some((g) => g.qos === 128)) this.opts.log.warn({ device: this.device, topics: o.subscribe }, 'subscription refused by the broker')
        h.onConnect()
      })
    })
    client.on('message', (topic, payload) => {
      if (!this.released) h.onMessage(topic, payload)
    })
    client.on('error', (err) => {
      if (!this.released) this.opts.log.debug({ device: this.device, err: err.message }, 'mqtt error')
    })
    client.on('close', () => {
      if (closed || this.released) return
      closed = true
      client.end(true)
      h.onClose('connection closed')
    })
  }

  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }, done: (err?: Error) => void): void {
    const client = this.client
    if (!client || !client.connected) {
      done(new Error('not connected'))
      return
    }
    client.publish(topic, payload, opts, (err) => done(err ?? undefined))
  }

  /** The socket dies without DISCONNECT, as when power fails: the broker sends the will. */
  kill(): void {
    this.released = true
    const client = this.client
    if (!client) return
    client.stream?.destroy()
    client.end(true)
  }

  end(): Promise<void> {
    this.released = true
    const client = this.client
    if (!client) return Promise.resolve()
    return new Promise((resolve) => {
      client.end(false, {}, () => resolve())
      // A dead socket never completes a graceful end.
      setTimeout(() => {
        client.end(true)
        resolve()
      }, 2_000).unref()
    })
  }
}
