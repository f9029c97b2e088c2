/**
 * Simulated devices for pipeline tests: real mqtt.js clients, QoS 1, each publishing pump
 * readings with consecutive `seq` and unique timestamps at a steady rate. Readings the broker has
 * not acknowledged are sent again on the next connection, as the firmware's buffer does.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { validPump } from '../../contracts/fixtures.js'
import type { DeviceCredentials } from './app.js'

export interface StreamOptions {
  url: string
  devices: DeviceCredentials[]
  /** Readings per second per device. */
  ratePerSec: number
  /** Readings per device. */
  count: number
  /** Timestamp of seq 0; each device's readings are 1 s apart. */
  startTs: number
}

export interface Stream {
  /** Readings handed to mqtt.js so far (all devices). */
  readonly sent: number
  /** Readings the broker acknowledged. */
  readonly acked: number
  done: Promise<void>
  close(): Promise<void>
}

export function pumpReading(seq: number, ts: number, boot = 1): string {
  return JSON.stringify({ ...validPump, seq, boot, ts, flow_lpm: (seq % 500) / 10 })
}

export function startStream(opts: StreamOptions): Stream {
  let sent = 0
  let acked = 0
  let closed = false
  const clients = new Set<MqttClient>()
  const timers: NodeJS.Timeout[] = []
  const finished = opts.devices.map(
    (d) =>
      new Promise<void>((resolve) => {
        const topic = `farm/${d.farm}/pump/${d.device}/telemetry`
        /** Readings handed out and not yet acknowledged, by seq: sent again on every new connection. */
        const unacked = new Map<number, string>()
        let seq = 0
        let client: MqttClient | undefined
        const settle = () => {
          if (seq >= opts.count && unacked.size === 0) resolve()
        }
        const send = (c: MqttClient, s: number, payload: string) => {
          c.publish(topic, payload, { qos: 1 }, (err) => {
            if (err || !unacked.delete(s)) return
            acked++
            settle()
          })
        }
        // One mqtt.js client per connection, as the firmware does (firmware-sim/uplink.ts): its own
        // reconnect replays its store one message at a time and, after a broker crash, stalled for
        // good with readings still in it.
        const connect = () => {
          if (closed) return
          const c = mqtt.connect(opts.url, {
            clientId: d.device,
            username: d.username,
            password: d.password,
            protocolVersion: 4,
            reconnectPeriod: 0,
            connectTimeout: 5_000,
            keepalive: 10,
          })
          clients.add(c)
          c.on('error', () => {})
          c.on('connect', () => {
            client = c
            for (const [s, payload] of unacked) send(c, s, payload)
          })
          c.once('close', () => {
            if (client === c) client = undefined
            clients.delete(c)
            c.end(true)
            if (!closed) timers.push(setTimeout(connect, 250))
          })
        }
        connect()
        const tick = () => {
          if (seq >= opts.count) {
            clearInterval(timer)
            settle()
            return
          }
          const s = seq++
          const payload = pumpReading(s, opts.startTs + s * 1000)
          sent++
          unacked.set(s, payload)
          if (client?.connected) send(client, s, payload)
        }
        const timer = setInterval(tick, 1000 / opts.ratePerSec)
        timers.push(timer)
      }),
  )
  return {
    get sent() {
      return sent
    },
    get acked() {
      return acked
    },
    done: Promise.all(finished).then(() => undefined),
    async close() {
      closed = true
      for (const t of timers) clearTimeout(t)
      await Promise.all([...clients].map((c) => c.endAsync(true)))
    },
  }
}
