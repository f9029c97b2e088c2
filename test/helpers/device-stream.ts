/**
 * Simulated devices for pipeline tests: real mqtt.js clients, QoS 1, each publishing pump
 * readings with consecutive `seq` and unique timestamps at a steady rate. mqtt.js keeps unacked
 * QoS 1 messages and re-sends them after a reconnect, as the firmware's buffer does.
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
  const clients: MqttClient[] = []
  const timers: NodeJS.Timeout[] = []
  const finished = opts.devices.map(
    (d) =>
      new Promise<void>((resolve) => {
        const client = mqtt.connect(opts.url, {
          clientId: d.device,
          username: d.username,
          password: d.password,
          protocolVersion: 4,
          reconnectPeriod: 250,
          connectTimeout: 5_000,
          keepalive: 10,
        })
        client.on('error', () => {})
        clients.push(client)
        let seq = 0
        let pending = 0
        const tick = () => {
          if (seq >= opts.count) {
            clearInterval(timer)
            if (pending === 0) resolve()
            return
          }
          const s = seq++
          sent++
          pending++
          client.publish(`farm/${d.farm}/pump/${d.device}/telemetry`, pumpReading(s, opts.startTs + s * 1000), { qos: 1 }, (err) => {
            if (err) return
            acked++
            pending--
            if (seq >= opts.count && pending === 0) resolve()
          })
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
      for (const t of timers) clearInterval(t)
      await Promise.all(clients.map((c) => c.endAsync(true)))
    },
  }
}
