/**
 * The load generator's process (forked by ./ingest-load.ts): one raw MQTT connection per device,
 * the schedule, the outbox, and the report. See ./ingest-load.ts for the method.
 */
import { type Socket, connect } from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { LatencyHistogram } from './ingest-latency.js'
import type { FromChild, LoadConfig, LoadDevice, LoadProgress, LoadReport, ToChild } from './ingest-load.js'
import { encodePublishQos1, pumpPayload } from './ingest-payload.js'

interface Conn {
  d: LoadDevice
  socket: Socket
  topic: Buffer
  phase: number
  sent: number
  acked: number
  inFlight: number
  nextId: number
  lastTs: number
  /** Send time of each unacknowledged message id. */
  sentAt: Map<number, number>
}

function connectDevice(cfg: LoadConfig, d: LoadDevice, onPuback: (c: Conn, id: number) => void, onClose: () => void): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: cfg.host, port: cfg.port, noDelay: true })
    const c: Conn = {
      d,
      socket,
      topic: Buffer.from(`farm/${d.farm}/pump/${d.device}/telemetry`),
      phase: 0,
      sent: 0,
      acked: 0,
      inFlight: 0,
      nextId: 0,
      lastTs: 0,
      sentAt: new Map(),
    }
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    let connected = false
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connack') {
        if (p.returnCode !== 0) return reject(new Error(`${d.device}: CONNACK ${p.returnCode}`))
        connected = true
        resolve(c)
      } else if (p.cmd === 'puback' && p.messageId !== undefined) onPuback(c, p.messageId)
    })
    socket.on('data', (chunk) => parser.parse(chunk))
    socket.on('error', (err) => {
      if (!connected) reject(err)
    })
    socket.on('close', () => {
      if (connected) onClose()
      else reject(new Error(`${d.device}: closed before CONNACK`))
    })
    socket.on('connect', () => {
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: d.device,
          keepalive: 300,
          username: d.username,
          password: Buffer.from(d.password),
        }),
      )
    })
  })
}

async function childMain(): Promise<void> {
  const send = (m: FromChild) => process.send?.(m)
  const cfg = await new Promise<LoadConfig>((resolve) => {
    process.once('message', (m: ToChild) => {
      if (m.type === 'config') resolve(m.config)
    })
  })
  const lag = new LatencyHistogram()
  const rtt = new LatencyHistogram()
  let acked = 0
  let disconnects = 0
  let closing = false
  let lastAckMs = 0
  const onPuback = (c: Conn, id: number) => {
    const at = c.sentAt.get(id)
    if (at === undefined) return // not ours, or a duplicate PUBACK
    c.sentAt.delete(id)
    c.inFlight--
    c.acked++
    acked++
    lastAckMs = Date.now()
    rtt.add(lastAckMs - at)
  }
  const onClose = () => {
    if (!closing) disconnects++
  }
  const conns: Conn[] = []
  try {
    // A few at a time, as a fleet coming back does (each CONNECT is one account check and a few disk writes).
    for (let i = 0; i < cfg.devices.length; i += 8) {
      const batch = cfg.devices.slice(i, i + 8).map((d) => connectDevice(cfg, d, onPuback, onClose))
      conns.push(...(await Promise.all(batch)))
    }
  } catch (err) {
    send({ type: 'failed', error: (err as Error).message })
    return
  }
  conns.forEach((c, i) => (c.phase = i / conns.length))
  send({ type: 'ready' })
  const t0 = await new Promise<number>((resolve) => {
    process.on('message', (m: ToChild) => {
      if (m.type === 'go') resolve(m.t0)
    })
  })
  const perDeviceRate = cfg.ratePerSec / conns.length
  const perDevice = Math.round((perDeviceRate * cfg.durationMs) / 1000)
  const offered = perDevice * conns.length
  let sent = 0
  let lastPublishMs = 0
  const progress: LoadProgress = { sent: 0, acked: 0, backlog: 0 }

  const endOfSchedule = t0 + cfg.durationMs
  const tick = () => {
    const now = Date.now()
    // The schedule ends on time: what is still in the outbox then was offered, never published.
    if (now >= endOfSchedule) {
      clearInterval(timer)
      return
    }
    let backlog = 0
    for (const c of conns) {
      const due = Math.min(perDevice, Math.floor(((now - t0) * perDeviceRate) / 1000 + c.phase))
      if (c.sent < due && c.inFlight < cfg.window) {
        c.socket.cork()
        while (c.sent < due && c.inFlight < cfg.window) {
          const seq = c.sent++
          const ts = Math.max(now, c.lastTs + 1)
          c.lastTs = ts
          c.nextId = (c.nextId % 65_535) + 1
          c.sentAt.set(c.nextId, now)
          c.inFlight++
          c.socket.write(encodePublishQos1(c.topic, pumpPayload(ts, seq, cfg.boot), c.nextId))
          lag.add(now - (t0 + ((seq + 1 - c.phase) * 1000) / perDeviceRate)) // due once elapsed * rate + phase reaches seq + 1
          sent++
        }
        c.socket.uncork()
        lastPublishMs = now
      }
      backlog += due - c.sent
    }
    progress.backlog = backlog
  }
  await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, t0 - Date.now())))
  const startedMs = Date.now()
  const cpuAtStart = process.cpuUsage()
  const timer = setInterval(tick, 2)
  const reporter = setInterval(() => {
    progress.sent = sent
    progress.acked = acked
    send({ type: 'progress', progress })
  }, 1_000)
  // Publishing ends on schedule; then wait (bounded) for the last PUBACKs.
  const deadline = endOfSchedule + 30_000
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      const now = Date.now()
      if ((now >= endOfSchedule && acked >= sent) || now > deadline || disconnects === conns.length) {
        clearInterval(check)
        resolve()
      }
    }, 5)
  })
  clearInterval(timer)
  clearInterval(reporter)
  closing = true
  const report: LoadReport = {
    sentPerDevice: Object.fromEntries(conns.map((c) => [c.d.device, c.sent])),
    offered,
    sent,
    acked,
    unpublished: offered - sent,
    startedMs,
    lastPublishMs,
    endMs: lastAckMs,
    lag: lag.summary(),
    pubackRtt: rtt.summary(),
    disconnects,
    cpuMs: (() => {
      const u = process.cpuUsage(cpuAtStart)
      return Math.round((u.user + u.system) / 1000)
    })(),
  }
  for (const c of conns) c.socket.end(mqttPacket.generate({ cmd: 'disconnect' }))
  send({ type: 'done', report })
  process.disconnect?.() // nothing keeps the child alive after this, even if the parent never kills it
}

childMain().catch((err: unknown) => {
  process.send?.({ type: 'failed', error: (err as Error).message } satisfies FromChild)
})
