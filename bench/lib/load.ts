/**
 * The benchmark's load generator, the same for both brokers: pump devices publishing telemetry
 * on their own topics (authenticated, under the ACL), one ingest-like subscriber receiving all of
 * it, and publish-to-delivery latency measured in this process on one clock. Each PUBLISH is a
 * per-device template copied and patched (packet id, a 10-digit message number in the payload),
 * so the generator spends its CPU on the sockets, not on building messages.
 */
import { validPump } from '../../contracts/fixtures.js'
import type { Creds } from './fixture.js'
import { telemetryTopic } from './fixture.js'
import { RawClient, type RawConnectOptions, encodePublish } from './raw-mqtt.js'

export interface Target {
  port: number
  devices: Creds[]
  ingest: Creds
  farm: string
}

export interface RunResult {
  delivered: number
  msgPerS: number
  p50Ms: number
  p99Ms: number
  lost: number
  /** Deliveries of a message number already delivered (QoS 1 allows some; a broker bug shows here). */
  duplicates: number
  seconds: number
}

export interface LoadOptions {
  qos: 0 | 1
  publishers: number
  warmupMs: number
  measureMs: number
  /** The subscriber keeps its session (clean = false), as ingest does. */
  persistent?: boolean
}

const DIGITS = 10
const RING = 1 << 20

interface Publisher {
  client: RawClient
  template: Buffer
  idAt: number
}

function makeTemplate(device: string, qos: 0 | 1): { template: Buffer; idAt: number } {
  const payload = Buffer.from(JSON.stringify({ ...validPump, ts: Date.now(), bench: '0'.repeat(DIGITS) }))
  const topic = Buffer.from(telemetryTopic(device))
  const template = encodePublish(topic, payload, qos, 1)
  // packet id sits right before the payload
  return { template, idAt: template.length - payload.length - 2 }
}

/** The message number, written over the zeros of `"bench":"0000000000"}` at the end. */
function stamp(buf: Buffer, n: number): void {
  let at = buf.length - 2
  for (let i = 0; i < DIGITS; i++) {
    buf[--at] = 48 + (n % 10)
    n = Math.floor(n / 10)
  }
}

function readStamp(payload: Buffer): number {
  let n = 0
  for (let at = payload.length - 2 - DIGITS; at < payload.length - 2; at++) n = n * 10 + ((payload[at] ?? 48) - 48)
  return n
}

/** Counts deliveries of a message number already delivered (by its stamp). */
function duplicateCounter(): { see(n: number): void; readonly count: number } {
  const seen = new Uint8Array(RING)
  let count = 0
  return {
    see(n) {
      if (seen[n % RING] === 1) count++
      seen[n % RING] = 1
    },
    get count() {
      return count
    },
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/** Connects `n` publishers and the subscriber; returns the pieces of one run. */
async function setUp(target: Target, qos: 0 | 1, n: number, persistent = false) {
  // persistent: a kept session, as ingest's (the broker then queues every QoS 1 copy for it)
  const { client: subscriber, connack } = await RawClient.connect({ port: target.port, clientId: `${target.ingest.username}_bench`, ...target.ingest, keepalive: 60, clean: !persistent })
  if (connack.returnCode !== 0) throw new Error(`subscriber refused: CONNACK ${connack.returnCode}`)
  const granted = await subscriber.subscribe([`farm/${target.farm}/pump/+/telemetry`], qos)
  if (granted[0] !== qos) throw new Error(`subscription refused: SUBACK ${granted.join(',')}`)
  const clients = await inPool(target.devices.slice(0, n), CONNECT_CONCURRENCY, (d) => connectDevice(target.port, d, { keepalive: 60 }))
  const publishers: Publisher[] = clients.map(({ client }, i) => ({ client, ...makeTemplate(target.devices[i]?.username ?? '', qos) }))
  return { subscriber, publishers }
}

/**
 * Maximum throughput with at most `window` messages published but not yet delivered (a closed
 * loop: a faster broker gets more). Latency here includes the queueing inside that window.
 */
export async function closedLoop(target: Target, opts: LoadOptions & { window: number }): Promise<RunResult> {
  const { subscriber, publishers } = await setUp(target, opts.qos, opts.publishers, opts.persistent)
  const sentAt = new Float64Array(RING)
  const latencies = new Float64Array(4_000_000)
  let samples = 0
  let sent = 0
  let received = 0
  let lost = 0
  let next = 0
  let measuring = false
  let stopped = false

  const send = () => {
    while (!stopped && sent - received - lost < opts.window) {
      const p = publishers[next] as Publisher
      next = (next + 1) % publishers.length
      const buf = Buffer.allocUnsafe(p.template.length)
      p.template.copy(buf)
      if (opts.qos > 0) buf.writeUInt16BE(p.client.messageId(), p.idAt)
      stamp(buf, sent)
      sentAt[sent % RING] = performance.now()
      sent++
      p.client.socket.write(buf)
    }
  }
  let lastReceived = 0
  const duplicates = duplicateCounter()
  subscriber.onPublish = (d) => {
    const n = readStamp(d.payload)
    duplicates.see(n)
    received++
    if (measuring && samples < latencies.length) latencies[samples++] = performance.now() - (sentAt[n % RING] ?? 0)
    send()
  }
  // A message the broker dropped would hold a window slot forever: after 3 s without any
  // delivery, what is outstanding counts as lost and the run goes on.
  const watchdog = setInterval(() => {
    if (received === lastReceived && sent - received - lost > 0) {
      lost += sent - received - lost
      send()
    }
    lastReceived = received
  }, 3_000)

  send()
  await sleep(opts.warmupMs)
  const r0 = received
  measuring = true
  const t0 = performance.now()
  await sleep(opts.measureMs)
  const seconds = (performance.now() - t0) / 1000
  const delivered = received - r0
  measuring = false
  stopped = true
  clearInterval(watchdog)
  // Everything in flight is delivered before leaving: a kept session must not carry it into the next run.
  for (let i = 0; i < 100 && received + lost < sent; i++) await sleep(50)
  await tearDown(subscriber, publishers)
  const sorted = latencies.slice(0, samples).sort() // a Float64Array: sort() is numeric
  return { delivered, msgPerS: delivered / seconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), lost, duplicates: duplicates.count, seconds }
}

/** A steady offered rate (open loop), for latency below saturation. */
export async function fixedRate(target: Target, opts: LoadOptions & { ratePerS: number }): Promise<RunResult> {
  const { subscriber, publishers } = await setUp(target, opts.qos, opts.publishers, opts.persistent)
  const sentAt = new Float64Array(RING)
  const latencies = new Float64Array(2_000_000)
  let samples = 0
  let sent = 0
  let received = 0
  let next = 0
  let measuring = false
  const duplicates = duplicateCounter()
  subscriber.onPublish = (d) => {
    const n = readStamp(d.payload)
    duplicates.see(n)
    received++
    if (measuring && samples < latencies.length) latencies[samples++] = performance.now() - (sentAt[n % RING] ?? 0)
  }
  const start = performance.now()
  let running = true
  const tick = () => {
    if (!running) return
    const due = Math.floor(((performance.now() - start) * opts.ratePerS) / 1000)
    // Never more than 1 s of backlog in flight: an overloaded broker shows as lost throughput.
    while (sent < due && sent - received < opts.ratePerS) {
      const p = publishers[next] as Publisher
      next = (next + 1) % publishers.length
      const buf = Buffer.allocUnsafe(p.template.length)
      p.template.copy(buf)
      if (opts.qos > 0) buf.writeUInt16BE(p.client.messageId(), p.idAt)
      stamp(buf, sent)
      sentAt[sent % RING] = performance.now()
      sent++
      p.client.socket.write(buf)
    }
    setTimeout(tick, 1)
  }
  tick()
  await sleep(opts.warmupMs)
  const r0 = received
  measuring = true
  const t0 = performance.now()
  await sleep(opts.measureMs)
  const seconds = (performance.now() - t0) / 1000
  const delivered = received - r0
  measuring = false
  running = false
  await sleep(200)
  const lost = sent - received
  await tearDown(subscriber, publishers)
  const sorted = latencies.slice(0, samples).sort() // a Float64Array: sort() is numeric
  return { delivered, msgPerS: delivered / seconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), lost, duplicates: duplicates.count, seconds }
}

async function tearDown(subscriber: RawClient, publishers: Publisher[]): Promise<void> {
  for (const p of publishers) p.client.disconnect()
  subscriber.disconnect()
  await Promise.all([subscriber.closed, ...publishers.map((p) => p.client.closed)])
}

/** Devices connecting at once: a broker may ask the rest to come back (CONNACK 3) while it checks secrets. */
export const CONNECT_CONCURRENCY = 16

/** Runs `fn` over `items`, at most `concurrency` at a time; results in order. */
async function inPool<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return out
}

/** Connects a device, retrying after CONNACK 3 (server busy) with a backoff, as firmware does. */
async function connectDevice(port: number, d: Creds, opts: Partial<RawConnectOptions>): Promise<{ client: RawClient; retried: number }> {
  for (let attempt = 1; ; attempt++) {
    const { client, connack } = await RawClient.connect({ port, clientId: d.username, ...d, timeoutMs: 60_000, ...opts })
    if (connack.returnCode === 0) return { client, retried: attempt - 1 }
    client.kill()
    if (connack.returnCode !== 3 || attempt >= 20) throw new Error(`${d.username} refused: CONNACK ${connack.returnCode}`)
    await sleep(50 * attempt)
  }
}

export interface IdleFleet {
  connected: number
  retried: number
  seconds: number
  close(): Promise<void>
}

/**
 * `count` devices as they sit in the field: connected with a Last Will (offline, retained), a
 * subscription to their own `cmd`, a retained `online` birth, then idle.
 */
export async function idleFleet(target: Target, count: number): Promise<IdleFleet> {
  const t0 = performance.now()
  const fleet = await inPool(target.devices.slice(0, count), CONNECT_CONCURRENCY, async (d) => {
    const status = `farm/${target.farm}/pump/${d.username}/status`
    const will = { topic: status, payload: '{"online":false}', qos: 1 as const, retain: true }
    const { client, retried } = await connectDevice(target.port, d, { keepalive: 300, will })
    await client.subscribe([`farm/${target.farm}/pump/${d.username}/cmd`], 1)
    client.publish(Buffer.from(status), Buffer.from(`{"online":true,"ts":${Date.now()},"boot":1,"fw":"bench"}`), 1, true)
    return { client, retried }
  })
  const seconds = (performance.now() - t0) / 1000
  return {
    connected: fleet.length,
    retried: fleet.reduce((n, f) => n + f.retried, 0),
    seconds,
    async close() {
      for (const { client } of fleet) client.disconnect()
      await Promise.all(fleet.map(({ client }) => client.closed))
    },
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
