/**
 * A broker stand-in that feeds ingest directly: ingest connects to it as to the broker, and it
 * pushes QoS 1 PUBLISHes of pump readings as fast as ingest acknowledges them (a window of
 * unacknowledged deliveries), or at a fixed rate. No authentication, no persistence, no fan-out:
 * it measures ingest alone (its CPU per reading and how many readings per second it can take
 * into InfluxDB), which the end-to-end steps cannot when the broker is the bottleneck.
 */
import { type Server, type Socket, createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { LatencyHistogram } from './ingest-latency.js'
import type { LoadProgress, LoadReport, LoadRun } from './ingest-load.js'
import { encodePublishQos1, pumpPayload } from './ingest-payload.js'

export interface FeederOptions {
  farm: string
  devices: number
  /** Readings per second; undefined: as fast as the window lets. */
  ratePerSec: number | undefined
  durationMs: number
  /** Unacknowledged deliveries to ingest. */
  window: number
  boot: number
}

export interface Feeder {
  readonly url: string
  /** Resolves once ingest has connected and subscribed. */
  subscribed(): Promise<void>
  run(): LoadRun
  close(): Promise<void>
}

export async function startFeeder(opts: FeederOptions): Promise<Feeder> {
  let socket: Socket | undefined
  let onSubscribed: (() => void) | undefined
  const subscribedP = new Promise<void>((resolve) => (onSubscribed = resolve))
  const sentAt = new Map<number, number>()
  let acked = 0
  let lastAckMs = 0
  const rtt = new LatencyHistogram()

  const server: Server = createServer({ noDelay: true }, (s) => {
    socket = s
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connect') s.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }))
      else if (p.cmd === 'subscribe') {
        s.write(mqttPacket.generate({ cmd: 'suback', messageId: p.messageId, granted: p.subscriptions.map(() => 1) }))
        onSubscribed?.()
      } else if (p.cmd === 'pingreq') s.write(mqttPacket.generate({ cmd: 'pingresp' }))
      else if (p.cmd === 'puback' && p.messageId !== undefined) {
        const at = sentAt.get(p.messageId)
        if (at === undefined) return
        sentAt.delete(p.messageId)
        acked++
        lastAckMs = Date.now()
        rtt.add(lastAckMs - at)
      }
    })
    s.on('data', (chunk) => parser.parse(chunk))
    s.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port

  const devices = Array.from({ length: opts.devices }, (_, i) => {
    const device = `feed-${String(i + 1).padStart(4, '0')}`
    return { device, topic: Buffer.from(`farm/${opts.farm}/pump/${device}/telemetry`), sent: 0, lastTs: 0 }
  })

  return {
    url: `mqtt://127.0.0.1:${port}`,
    subscribed: () => subscribedP,
    run() {
      const progress: LoadProgress = { sent: 0, acked: 0, backlog: 0 }
      let sent = 0
      let nextId = 0
      let next = 0
      const lag = new LatencyHistogram()
      return {
        pid: undefined,
        get progress() {
          progress.sent = sent
          progress.acked = acked
          return progress
        },
        kill() {},
        go(t0) {
          return new Promise<LoadReport>((resolve) => {
            let startedMs = 0
            let lastPublishMs = 0
            const end = t0 + opts.durationMs
            const cpuAt = process.cpuUsage()
            const tick = () => {
              const now = Date.now()
              if (now < t0) return
              startedMs ||= now
              const s = socket
              if (now >= end || !s) {
                clearInterval(timer)
                void waitAcks().then(done)
                return
              }
              const due = opts.ratePerSec === undefined ? Infinity : Math.floor(((now - t0) * opts.ratePerSec) / 1000)
              if (sent >= due || sentAt.size >= opts.window) return
              s.cork()
              while (sent < due && sentAt.size < opts.window) {
                const d = devices[next]!
                next = (next + 1) % devices.length
                const ts = Math.max(now, d.lastTs + 1)
                d.lastTs = ts
                nextId = (nextId % 65_535) + 1
                sentAt.set(nextId, now)
                s.write(encodePublishQos1(d.topic, pumpPayload(ts, d.sent++, opts.boot), nextId))
                if (opts.ratePerSec !== undefined) lag.add(now - (t0 + ((sent + 1) * 1000) / opts.ratePerSec))
                sent++
              }
              s.uncork()
              lastPublishMs = now
            }
            const waitAcks = async () => {
              const until = Date.now() + 30_000
              while (sentAt.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5))
            }
            const done = () => {
              const u = process.cpuUsage(cpuAt)
              resolve({
                sentPerDevice: Object.fromEntries(devices.map((d) => [d.device, d.sent])),
                offered: opts.ratePerSec === undefined ? sent : Math.round((opts.ratePerSec * opts.durationMs) / 1000),
                sent,
                acked,
                unpublished: opts.ratePerSec === undefined ? 0 : Math.max(0, Math.round((opts.ratePerSec * opts.durationMs) / 1000) - sent),
                startedMs,
                lastPublishMs,
                endMs: lastAckMs,
                lag: lag.summary(),
                pubackRtt: rtt.summary(),
                disconnects: 0,
                cpuMs: Math.round((u.user + u.system) / 1000),
              })
            }
            const timer = setInterval(tick, 1)
          })
        },
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        socket?.destroy()
        server.close(() => resolve())
      }),
  }
}
