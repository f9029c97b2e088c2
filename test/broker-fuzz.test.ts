/**
 * Issue 13, one bad device must never hurt the others, at the MQTT packet level: generated
 * CONNECT, PUBLISH and SUBSCRIBE packets (malformed or not) over raw TCP sockets to the real
 * broker, while the real ingest writes to a real InfluxDB and one good device publishes
 * throughout. The broker must never pass a malformed packet on (a raw subscriber reads every
 * byte it is sent with a strict reader), answer every packet it is sent, and ingest must neither
 * stall nor reconnect: every reading of the good device is stored exactly once.
 */
import { type Server, type Socket, connect, createServer } from 'node:net'
import fc from 'fast-check'
import mqtt, { type MqttClient } from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseTopic } from '../contracts/topics.js'
import type { Credentials } from '../runtime/accounts.js'
import { AckingSubscriber } from '../ingest/subscriber.js'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { createLogger } from '../runtime/logger.js'
import { type DeviceCredentials, type TestApp, startTestApp } from './helpers/app.js'
import { pumpReading, startStream } from './helpers/device-stream.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { CONNECT_FLAGS, StrictReader, connectWithWill, encodeConnect, encodePublishRaw, encodeSubscribeRaw, field, packet } from './helpers/mqtt-wire.js'
import { waitFor } from './helpers/wait-for.js'

const SEED = 20_260_613
const CASES = 1_200 // each a connection: a CONNECT (or not), then up to eight more packets when it is accepted
const MIN_PACKETS = 2_000
const WORKERS = 4
const FUZZ_DEVICES = 3
const T0 = Date.UTC(2026, 5, 1)

let influx: InfluxHandle
let app: TestApp
const fuzzDevices: Credentials[] = []
let watcher: Watcher

const counter = (name: string, labels?: Record<string, string>) => {
  const c = app.metrics.counter(name, '')
  return labels ? c.get(labels) : c.total()
}
const ingestConnections = () => app.logs.find('ingest connected').length
const rows = async (device: string) => Number((await influx.queryRows(`SELECT count(flow_lpm) FROM pump WHERE device = '${device}'`))[0]?.count ?? 0)

async function goodDevice(device: string): Promise<DeviceCredentials> {
  const c = await app.accounts.addDevice({ farm: 'good', kind: 'pump', device })
  return { farm: 'good', kind: 'pump', device, ...c }
}

/** Stores `count` readings of a fresh good device and checks each is in InfluxDB exactly once. */
async function expectStoredOnce(device: string, count: number, stream: ReturnType<typeof startStream>) {
  await stream.done
  expect(stream.acked).toBe(count)
  await waitFor(async () => (await rows(device)) >= count, { timeoutMs: 20_000, message: () => `${count} rows of ${device}` })
  const [r] = await influx.queryRows(`SELECT min(seq), max(seq), count(seq) FROM pump WHERE device = '${device}'`)
  expect([r?.min, r?.max, r?.count]).toEqual([0, count - 1, count])
}

/** A raw subscriber to everything under farm/, that validates every byte the broker sends it. */
class Watcher {
  readonly reader = new StrictReader()
  readonly violations: string[] = []
  readonly topics = new Set<string>()
  private constructor(readonly socket: Socket) {}

  static async start(port: number, who: Credentials): Promise<Watcher> {
    const socket = connect({ port, host: '127.0.0.1' })
    const w = new Watcher(socket)
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const p of w.reader.push(chunk)) {
          if (p.type !== 3) continue
          if ((p.qos as number) > 1) throw new Error(`QoS ${p.qos} on a QoS 1 subscription [MQTT-3.8.4-6]: ${p.topic}`)
          w.topics.add(p.topic as string)
          if (p.messageId !== undefined) socket.write(Buffer.from([0x40, 2, p.messageId >> 8, p.messageId & 0xff]))
        }
      } catch (err) {
        w.violations.push((err as Error).message)
        socket.destroy()
      }
    })
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `${who.username}_raw`, clean: true, keepalive: 120, ...who, password: Buffer.from(who.password) }))
    socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'farm/#', qos: 1 }] }))
    await waitFor(() => w.reader.packets.some((p) => p.type === 9), { message: 'the watcher subscribed' })
    return w
  }
}

beforeAll(async () => {
  influx = await startInflux()
  app = await startTestApp(['broker', 'ingest'], { INFLUX_URL: influx.url, INFLUX_BUCKET: influx.bucket, INFLUX_TOKEN: 't', LOG_LEVEL: 'info' })
  await waitFor(() => ingestConnections() === 1, { message: 'ingest connected' })
  watcher = await Watcher.start(app.mqttPort, await app.accounts.setUser('watcher', 'viewer'))
})
afterAll(async () => {
  watcher?.socket.destroy()
  await app?.stop()
  await influx?.close()
})

/** What a raw connection got: 'closed' with no answer, or the CONNACK code; 'silent': neither within the bound. */
type Outcome = 'closed' | 'silent' | number

/** Sends bytes on a new connection and waits for the broker to answer (or close). */
class RawConnection {
  readonly reader = new StrictReader()
  closed = false
  private constructor(readonly socket: Socket, readonly violations: string[]) {}

  static open(port: number, violations: string[]): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' })
      const c = new RawConnection(socket, violations)
      socket.on('error', () => {})
      socket.once('close', () => (c.closed = true))
      socket.on('data', (chunk: Buffer) => {
        try {
          c.reader.push(chunk)
        } catch (err) {
          violations.push((err as Error).message)
          socket.destroy()
        }
      })
      socket.once('connect', () => resolve(c))
      socket.once('error', reject)
    })
  }

  /** Writes, then waits until a packet of `type` arrives or the broker closes: a bounded wait, never a sleep. */
  async exchange(bytes: Buffer, type: number): Promise<'answered' | 'closed' | 'silent'> {
    const before = this.reader.packets.length
    if (!this.closed) this.socket.write(bytes)
    const got = () => this.reader.packets.slice(before).some((p) => p.type === type)
    const settled = await waitFor(() => got() || this.closed, { timeoutMs: 5_000, intervalMs: 2 }).catch(() => false)
    if (!settled) return 'silent'
    return got() ? 'answered' : 'closed'
  }
}

// ---- the generated packets ----

const BAD_UTF8 = [Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xff])]
const withBad = (s: string) => fc.constantFrom(...BAD_UTF8).map((b) => Buffer.concat([Buffer.from(s), b]))
/** Topic names for fuzz device `d`: its own (valid), another's, and every way a name can be wrong. */
const topicFor = (d: number) => {
  const own = `farm/fz/pump/fz-${d}`
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(`${own}/telemetry`, `${own}/status`) },
    fc.constant<string | Buffer>(''),
    fc.constantFrom('farm/fz/pump/+/status', 'farm/#', '#', 'farm/good/pump/pump-good-2/telemetry', '$SYS/broker', `${own}/status\u0000`, `${own}/cmd`),
    withBad(`${own}/status`),
    fc.string({ maxLength: 30 }),
    fc.constant('farm/'.repeat(300)),
  )
}
const FILTERS: Array<string | Buffer> = ['farm/fz/pump/fz-0/cmd', 'farm/#', '#', '', 'a+', 'farm/+b/x', '#/x', 'farm/#/x', 'x\u0000', Buffer.from([0x66, 0xc3])]
const payload = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }).map((seq) => Buffer.from(pumpReading(seq, T0 + seq * 1000, 7))),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
)
const messageId = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 65_535 }) }, fc.constant(0))

const followUp = (d: number) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({ flags: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 2, 3) }, fc.integer({ min: 0, max: 15 })), topic: topicFor(d), id: messageId, payload, idMismatch: fc.boolean() })
        .map((r) => {
          const numbered = ((r.flags >> 1) & 3) !== 0
          return encodePublishRaw(0x30 | r.flags, r.topic, numbered !== (r.idMismatch && r.flags % 5 === 0) ? r.id : undefined, r.payload)
        }),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          first: fc.oneof({ weight: 4, arbitrary: fc.constant(0x82) }, fc.integer({ min: 0x80, max: 0x8f })),
          id: messageId,
          filters: fc.array(fc.record({ filter: fc.constantFrom(...FILTERS), options: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1) }, fc.integer({ min: 0, max: 255 })) }), { maxLength: 3 }),
        })
        .map((r) => encodeSubscribeRaw(r.first, r.id, r.filters)),
    },
    fc.record({ first: fc.constantFrom(0xa2, 0xa0), filter: fc.constantFrom(...FILTERS) }).map((r) => packet(r.first, Buffer.concat([Buffer.from([0, 9]), field(r.filter)]))),
    // any type, any flags, any body: complete packets (their length is right), so nothing waits for more
    fc.record({ first: fc.integer({ min: 0, max: 255 }), body: fc.uint8Array({ maxLength: 24 }) }).map((r) => packet(r.first, Buffer.from(r.body))),
  )

const fuzzCase = fc.integer({ min: 0, max: FUZZ_DEVICES - 1 }).chain((d) =>
  fc.record({
    d: fc.constant(d),
    protocol: fc.oneof({ weight: 30, arbitrary: fc.constant(['MQTT', 4] as const) }, fc.constantFrom(['MQTT', 3], ['MQIsdp', 3], ['MQIsdp', 4], ['MQTT', 5], ['MQTT', 0x84], ['MQTX', 4], ['', 4], ['MQTT', 0]) as fc.Arbitrary<readonly [string, number]>),
    flagsMode: fc.oneof({ weight: 12, arbitrary: fc.constant('consistent' as const) }, fc.constant('random' as const)),
    randomFlags: fc.integer({ min: 0, max: 255 }),
    clean: fc.boolean(),
    will: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, fc.record({ qos: fc.integer({ min: 0, max: 3 }), retain: fc.boolean(), topic: topicFor(d), payload })),
    auth: fc.oneof({ weight: 12, arbitrary: fc.constant('good' as const) }, fc.constantFrom('wrong' as const, 'passwordOnly' as const, 'usernameOnly' as const, 'none' as const)),
    clientId: fc.oneof({ weight: 12, arbitrary: fc.constant<string | Buffer>(`fz-${d}`) }, fc.constant(''), fc.constant(`fz-${d}\u0000`), withBad(`fz-${d}`), fc.constant('f'.repeat(300)), fc.string({ maxLength: 12 })),
    keepalive: fc.oneof({ weight: 12, arbitrary: fc.constant(30) }, fc.constantFrom(0, 65_535)),
    oversized: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
    // a PUBLISH, SUBSCRIBE... first, with no CONNECT [MQTT-3.1.0-1]
    noConnect: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, fc.constant(true)),
    followUps: fc.array(followUp(d), { minLength: 1, maxLength: 8 }),
  }),
)

/**
 * Plays a broker that holds a persistent session for ingest: on every connection it sends again,
 * in order, each queued packet not acknowledged yet, as Aedes does after a restart.
 */
class FakeBroker {
  connections = 0
  readonly acked = new Set<number>()
  /** When each connection came (performance.now()). */
  readonly connectedAt: number[] = []
  private socket: Socket | undefined
  private constructor(
    readonly server: Server,
    readonly queue: Array<{ id?: number; bytes: Buffer; sticky?: boolean }>,
  ) {}

  static async start(queue: Array<{ id?: number; bytes: Buffer; sticky?: boolean }>): Promise<FakeBroker> {
    const server = createServer()
    const b = new FakeBroker(server, queue)
    server.on('connection', (socket) => b.serve(socket))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return b
  }

  get url(): string {
    return `mqtt://127.0.0.1:${(this.server.address() as { port: number }).port}`
  }

  private serve(socket: Socket): void {
    this.connections++
    this.connectedAt.push(performance.now())
    this.socket = socket
    socket.on('error', () => {})
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (p) => {
      if (p.cmd === 'connect') socket.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: true }))
      else if (p.cmd === 'subscribe') {
        socket.write(mqttPacket.generate({ cmd: 'suback', messageId: p.messageId as number, granted: p.subscriptions.map(() => 1) }))
        socket.write(Buffer.concat(this.queue.filter((q) => q.id === undefined || !this.acked.has(q.id)).map((q) => q.bytes)))
        // what has no packet id is not kept for a redelivery, unless the test wants a broker that does
        this.queue.splice(0, this.queue.length, ...this.queue.filter((q) => q.id !== undefined || q.sticky))
      } else if (p.cmd === 'puback') this.acked.add(p.messageId as number)
      else if (p.cmd === 'pingreq') socket.write(mqttPacket.generate({ cmd: 'pingresp' }))
    })
    socket.on('data', (chunk: Buffer) => parser.parse(chunk))
  }

  deliver(id: number, bytes: Buffer): void {
    this.queue.push({ id, bytes })
    this.socket?.write(bytes)
  }

  close(): Promise<void> {
    this.socket?.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

const sampleCases = () => fc.sample(fuzzCase, { numRuns: CASES, seed: SEED })
type FuzzCase = ReturnType<typeof sampleCases>[number]

function connectBytes(c: FuzzCase): Buffer {
  const who = fuzzDevices[c.d] as Credentials
  const username = c.auth === 'good' || c.auth === 'wrong' || c.auth === 'usernameOnly' ? who.username : undefined
  const password = c.auth === 'good' ? who.password : c.auth === 'wrong' || c.auth === 'passwordOnly' ? 'not-the-password' : undefined
  const consistent =
    (c.clean ? CONNECT_FLAGS.clean : 0) |
    (c.will ? CONNECT_FLAGS.will | CONNECT_FLAGS.willQos(c.will.qos) | (c.will.retain ? CONNECT_FLAGS.willRetain : 0) : 0) |
    (username !== undefined ? CONNECT_FLAGS.username : 0) |
    (password !== undefined ? CONNECT_FLAGS.password : 0)
  return encodeConnect({
    protocolName: c.protocol[0],
    level: c.protocol[1],
    flags: c.flagsMode === 'consistent' ? consistent : c.randomFlags,
    keepalive: c.keepalive,
    clientId: c.clientId,
    ...(c.oversized ? { clientIdDeclared: 60_000 } : {}), // a field that claims more bytes than the packet has
    ...(c.will ? { will: { topic: c.will.topic, payload: c.will.payload } } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  })
}

describe('one bad device, at the MQTT packet level', () => {
  it('Will QoS 3 regression: a device connecting with a Will of QoS 3 on its status topic, then dropping, hurts nobody', async () => {
    const bad = await app.accounts.addDevice({ farm: 'f1', kind: 'pump', device: 'pump-bad' })
    const good = await goodDevice('pump-good-1')
    const connectionsBefore = ingestConnections()
    const violations: string[] = []
    const c = await RawConnection.open(app.mqttPort, violations)
    const bytes = connectWithWill({ clientId: 'pump-bad', ...bad, willTopic: 'farm/f1/pump/pump-bad/status', willQos: 3 })
    // [MQTT-3.1.2-14], [MQTT-3.1.4-1]: refused without a CONNACK, so the Will never exists
    expect(await c.exchange(bytes, 2)).toBe('closed')
    expect(c.reader.packets).toEqual([])
    expect(counter('mqtt_auth_failures_total', { reason: 'will QoS 3' })).toBe(1)
    expect(app.logs.find('connection refused: malformed CONNECT', { reason: 'will QoS 3' })).toHaveLength(1)

    const stream = startStream({ url: `mqtt://127.0.0.1:${app.mqttPort}`, devices: [good], ratePerSec: 40, count: 80, startTs: T0 })
    try {
      await expectStoredOnce('pump-good-1', 80, stream)
    } finally {
      await stream.close()
    }
    expect(ingestConnections()).toBe(connectionsBefore) // no reconnect, let alone a loop
    expect(app.logs.find('mqtt reconnecting')).toEqual([])
    expect([...violations, ...watcher.violations]).toEqual([])
  })

  it(`${CASES} generated connections (>= ${MIN_PACKETS} packets): nothing malformed is passed on, every packet is answered, ingest never stalls`, async () => {
    const t0 = performance.now()
    for (let d = 0; d < FUZZ_DEVICES; d++) {
      const creds = await app.accounts.addDevice({ farm: 'fz', kind: 'pump', device: `fz-${d}` })
      fuzzDevices.push(creds)
      // proven once, as a deployed device is: later logins skip scrypt, and the failed logins of
      // the fuzz (which throttle 127.0.0.1) do not lock it out
      const c = await RawConnection.open(app.mqttPort, [])
      expect(await c.exchange(encodeConnect({ flags: 0xc2, clientId: `fz-${d}`, ...creds }), 2)).toBe('answered')
      c.socket.destroy()
    }
    const good = await goodDevice('pump-good-2')
    const stream = startStream({ url: `mqtt://127.0.0.1:${app.mqttPort}`, devices: [good], ratePerSec: 50, count: 250, startTs: T0 })
    await waitFor(() => stream.acked > 0, { message: 'the good device under way' })
    const viewer: MqttClient = await mqtt.connectAsync(`ws://127.0.0.1:${app.wsPort}/mqtt`, { ...(await app.accounts.setUser('console', 'viewer')), clientId: 'console_fuzz', protocolVersion: 4, reconnectPeriod: 0 })
    let viewerClosed = 0
    viewer.on('close', () => viewerClosed++)
    await viewer.subscribeAsync('farm/#', { qos: 1 })
    const connectionsBefore = ingestConnections()

    const cases = sampleCases()
    const violations: string[] = []
    const silent: string[] = []
    const outcomes = new Map<Outcome, number>()
    let sent = 0
    const runCase = async (i: number) => {
      const c = cases[i] as FuzzCase
      const conn = await RawConnection.open(app.mqttPort, violations)
      try {
        const connect = c.noConnect ? (c.followUps[0] as Buffer) : connectBytes(c)
        sent++
        const answer = await conn.exchange(connect, 2)
        const connack = conn.reader.packets.find((p) => p.type === 2)?.returnCode
        const outcome: Outcome = answer === 'silent' ? 'silent' : (connack ?? 'closed')
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
        if (answer === 'silent') silent.push(`CONNECT ${connect.toString('hex')}`)
        if (connack !== 0 || c.followUps.length === 0) return
        const more = Buffer.concat([...c.followUps, Buffer.from([0xc0, 0x00])]) // then PINGREQ: answered once all before it are handled
        sent += c.followUps.length
        if ((await conn.exchange(more, 13)) === 'silent') silent.push(`after CONNECT ${more.toString('hex')}`)
      } finally {
        conn.socket.destroy() // no DISCONNECT: an accepted Will is published
      }
    }
    let next = 0
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < cases.length) await runCase(next++)
      }),
    )
    await expectStoredOnce('pump-good-2', 250, stream)
    await stream.close()
    const ms = performance.now() - t0
    console.log(`fuzz: ${sent} packets on ${cases.length} connections in ${Math.round(ms)} ms; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`)

    expect(sent).toBeGreaterThanOrEqual(MIN_PACKETS)
    expect(violations).toEqual([]) // every byte the broker sent the fuzz sockets was valid MQTT 3.1.1
    expect(watcher.violations).toEqual([]) // and every byte it passed on to a subscriber of everything
    expect(silent).toEqual([]) // it answered every CONNECT and every PINGREQ (or closed)
    for (const topic of watcher.topics) expect(parseTopic(topic).ok, topic).toBe(true)
    expect(viewerClosed).toBe(0) // the console's mqtt.js over WebSocket kept its connection
    expect(ingestConnections()).toBe(connectionsBefore)
    expect(app.logs.find('mqtt reconnecting')).toEqual([])
    // The generator reached every answer: refused unanswered, CONNACK 0, 1, 2, 4 and 5.
    for (const o of ['closed', 0, 1, 2, 4, 5] as const) expect(outcomes.get(o) ?? 0, String(o)).toBeGreaterThan(0)
    expect(counter('mqtt_malformed_packets_total')).toBeGreaterThan(0)
    expect(counter('mqtt_auth_failures_total', { reason: 'will QoS 3' })).toBeGreaterThan(1)
    await viewer.endAsync()
  }, 120_000)

  it('a malformed packet already waiting in ingest\'s persistent session (a QoS 3 Will) is dead-lettered, acknowledged, and the stream goes on', async () => {
    const topic = 'farm/fb/pump/pump-q/telemetry'
    const reading = (seq: number, id: number) => encodePublishRaw(0x32, topic, id, Buffer.from(pumpReading(seq, T0 + seq * 1000)))
    const unframeable = Buffer.concat([Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x01]), field(topic), Buffer.from([0, 5]), Buffer.from('{}')])
    const broker = await FakeBroker.start([
      { id: 1, bytes: reading(0, 1) },
      { id: 2, bytes: encodePublishRaw(0x37, 'farm/fb/pump/pump-w/status', 2, Buffer.from('{"online":false,"ts":1,"boot":1,"fw":"x"}')) }, // the Will of QoS 3
      { id: 3, bytes: encodePublishRaw(0x32, Buffer.from([0x66, 0x2f, 0xc3]), 3, Buffer.from('{}')) },
      { bytes: Buffer.from([0x00, 0x00]) }, // a reserved packet type
      { bytes: Buffer.from([0x32, 0x04, 0x00, 0x09, 0x61, 0x62]) }, // topic longer than the packet
      { bytes: Buffer.from([0x90, 0x03, 0x00, 0x01, 0x07]) }, // SUBACK with an invalid return code
      { id: 4, bytes: reading(1, 4) },
      { id: 5, bytes: unframeable }, // no end: the stream is lost after it
      { id: 6, bytes: reading(2, 6) },
    ])
    const ingest = await startTestApp(['ingest'], {
      MQTT_URL: broker.url,
      INGEST_MQTT_USERNAME: 'ingest',
      INGEST_MQTT_PASSWORD: 'x',
      INFLUX_URL: influx.url,
      INFLUX_BUCKET: influx.bucket,
      INFLUX_TOKEN: 't',
      LOG_LEVEL: 'info',
    })
    try {
      await waitFor(() => [1, 2, 3, 4, 5, 6].every((id) => broker.acked.has(id)), { message: () => `every packet id acknowledged, got ${[...broker.acked]}` })
      broker.deliver(7, reading(3, 7)) // live, on the connection that is up
      await waitFor(async () => (await rows('pump-q')) === 4 && broker.acked.has(7), { timeoutMs: 20_000, message: '4 readings stored' })
      const [r] = await influx.queryRows(`SELECT min(seq), max(seq), count(seq) FROM pump WHERE device = 'pump-q'`)
      expect([r?.min, r?.max, r?.count]).toEqual([0, 3, 4])
      // one reconnect, for the packet without an end, and no more: its PUBACK made the broker forget it
      expect(broker.connections).toBe(2)
      const letters = (await DeadLetterStore.forDataDir(ingest.dataDir).list()).filter((l) => l.code === 'malformed_packet')
      expect(letters.map((l) => [l.reason, l.topic]).sort()).toEqual(
        [
          ['QoS 3', 'farm/fb/pump/pump-w/status'],
          ['malformed suback', undefined],
          ['remaining length over 4 bytes', topic],
          ['topic not well-formed UTF-8', 'f/\uFFFD'],
          ['truncated topic', undefined],
          ['unexpected packet type 0', undefined],
        ].sort(),
      )
      expect(ingest.metrics.counter('ingest_malformed_packets_total', '').total()).toBe(6)
    } finally {
      await ingest.stop()
      await broker.close()
    }
  })

  it('a packet without an end and without a readable packet id, sent first on every connection: the reconnect delay grows instead of looping', async () => {
    // e.g. a SUBACK whose remaining length runs over four bytes, from a broken broker
    const broker = await FakeBroker.start([{ bytes: Buffer.from([0x90, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 1, 1]), sticky: true }])
    const reasons: string[] = []
    const sub = new AckingSubscriber({ url: broker.url, clientId: 'ingest-x', username: 'ingest', password: 'x', filters: ['farm/#'], reconnectMinMs: 100, log: createLogger('silent') })
    sub.onMalformed = (reason) => reasons.push(reason)
    try {
      sub.start()
      await waitFor(() => broker.connections >= 5, { message: () => `5 connections, got ${broker.connections}` })
      const gaps = broker.connectedAt.slice(1).map((t, i) => t - (broker.connectedAt[i] as number))
      // full backoff with jitter: gap n is within [0.5, 1] x 100 ms x 2^n, so gap n+2 is at least twice gap n's bound
      for (let i = 2; i < gaps.length; i++) expect(gaps[i], JSON.stringify(gaps)).toBeGreaterThan(gaps[i - 2] as number)
      expect(gaps.at(-1)).toBeGreaterThanOrEqual(0.5 * 100 * 2 ** 3)
      expect(reasons.slice(0, 4)).toEqual(Array(4).fill('remaining length over 4 bytes'))
    } finally {
      await sub.close()
      await broker.close()
    }
  })
})
