/**
 * Issue 3, accounts and ACL over real sockets: one matrix of roles x topics x publish/subscribe,
 * run over TCP, TLS (a certificate made here with openssl) and WebSocket with mqtt.js, a part of it
 * again with mosquitto_pub/mosquitto_sub, plus client-id ownership and a persistent-session leak.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Credentials } from '../runtime/accounts.js'
import { type Account, closeAll, collect, connectAs, connectCollecting, publishOutcome, subackCodes } from '../bench/lib/mqttjs.js'
import { type TestApp, makeDataDir, startTestApp } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'
import { mosquittoPub, mosquittoSub } from './helpers/mosquitto.js'
import { waitFor } from './helpers/wait-for.js'

let dir: string
let app: TestApp
let ca: Buffer
let witness: MqttClient
let seen: ReturnType<typeof collect>
const who: Record<string, Credentials> = {}

const PUMP1 = 'farm/ranong-01/pump/pump-1'
const SOIL1 = 'farm/ranong-01/soil/soil-1'
const PUMP9 = 'farm/ranong-02/pump/pump-9'

beforeAll(async () => {
  dir = await makeDataDir()
  // A self-signed certificate for 127.0.0.1, made fresh for this run.
  execFileSync(requireBinary('openssl', 'openssl'), [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' })
  ca = readFileSync(join(dir, 'cert.pem'))
  app = await startTestApp(['broker'], { MQTT_TLS_PORT: '0', MQTT_TLS_CERT: join(dir, 'cert.pem'), MQTT_TLS_KEY: join(dir, 'key.pem') }, dir)
  const a = app.accounts
  who.pump1 = await a.addDevice({ farm: 'ranong-01', kind: 'pump', device: 'pump-1' })
  who.soil1 = await a.addDevice({ farm: 'ranong-01', kind: 'soil', device: 'soil-1' })
  who.pump9 = await a.addDevice({ farm: 'ranong-02', kind: 'pump', device: 'pump-9' })
  who.ingest = await a.setUser('ingest', 'service')
  who.witness = await a.setUser('witness', 'service')
  who.console = await a.setUser('console', 'viewer', '*')
  who.trainer = await a.setUser('trainer', 'viewer', ['ranong-02'])
  who.techA = await a.setUser('tech-a', 'operator', ['ranong-01'])
  witness = await connectAs(`mqtt://127.0.0.1:${app.mqttPort}`, as('witness'))
  seen = collect(witness)
  expect(await subackCodes(witness, ['#'])).toEqual([1])
})

afterAll(async () => {
  await closeAll([witness])
  await app?.stop()
  await rm(dir, { recursive: true, force: true })
})

function as(name: string): Account {
  const creds = who[name]
  if (!creds) throw new Error(`no account ${name}`)
  return creds
}

// [case, account, topic, retain, allowed]
const PUBLISH: Array<[string, string, string, boolean, boolean]> = [
  ['device telemetry on its own topic', 'pump1', `${PUMP1}/telemetry`, false, true],
  ['device retained status birth', 'pump1', `${PUMP1}/status`, true, true],
  ['device event', 'pump1', `${PUMP1}/event`, false, true],
  ['device command ack', 'pump1', `${PUMP1}/cmd/ack`, false, true],
  ['device as another device', 'pump1', 'farm/ranong-01/pump/pump-2/telemetry', false, false],
  ['device on another farm', 'pump1', 'farm/ranong-02/pump/pump-1/telemetry', false, false],
  ['device under another kind', 'pump1', 'farm/ranong-01/soil/pump-1/telemetry', false, false],
  ['device forging a status for another device', 'soil1', `${PUMP1}/status`, true, false],
  ['device sending itself a command', 'pump1', `${PUMP1}/cmd`, false, false],
  ['device retained telemetry', 'pump1', `${PUMP1}/telemetry`, true, false],
  ['device unknown channel', 'pump1', `${PUMP1}/debug`, false, false],
  ['device $SYS', 'pump1', '$SYS/fake/heartbeat', false, false],
  ['device outside the farm tree', 'pump1', 'hello/world', false, false],
  ['service command', 'ingest', `${PUMP1}/cmd`, false, true],
  ['service forging telemetry', 'ingest', `${PUMP1}/telemetry`, false, false],
  ['operator command on its farm', 'techA', `${SOIL1}/cmd`, false, true],
  ['operator command on another farm', 'techA', `${PUMP9}/cmd`, false, false],
  ['operator forging telemetry', 'techA', `${PUMP1}/telemetry`, false, false],
  ['operator simulator control', 'techA', 'sim/control', false, true],
  ['operator forging a simulator ack', 'techA', 'sim/control/ack', false, false],
  ['viewer command', 'console', `${PUMP1}/cmd`, false, false],
  ['limited viewer telemetry', 'trainer', `${PUMP9}/telemetry`, false, false],
  ['viewer simulator control', 'console', 'sim/control', false, false],
]

// [case, account, filter, SUBACK return code]
const SUBSCRIBE: Array<[string, string, string, number]> = [
  ['device its own cmd', 'pump1', `${PUMP1}/cmd`, 1],
  ['device another device cmd', 'pump1', 'farm/ranong-01/pump/pump-2/cmd', 128],
  ['device wildcard cmd', 'pump1', 'farm/ranong-01/pump/+/cmd', 128],
  ['device its own telemetry', 'pump1', `${PUMP1}/telemetry`, 128],
  ['device everything', 'pump1', '#', 128],
  ['service telemetry of every farm', 'ingest', 'farm/+/+/+/telemetry', 1],
  ['service $SYS', 'ingest', '$SYS/#', 128],
  ['viewer of every farm', 'console', 'farm/#', 1],
  ['limited viewer, its farm', 'trainer', 'farm/ranong-02/#', 1],
  ['limited viewer, another farm', 'trainer', 'farm/ranong-01/#', 128],
  ['limited viewer, every farm', 'trainer', 'farm/+/pump/+/telemetry', 128],
  ['operator acks of its farm', 'techA', 'farm/ranong-01/+/+/cmd/ack', 1],
  ['operator acks of another farm', 'techA', 'farm/ranong-03/+/+/cmd/ack', 128],
  ['viewer simulator control', 'console', 'sim/control/#', 128],
  ['viewer shared subscription', 'console', '$share/g/farm/#', 128],
]

const TRANSPORTS = ['tcp', 'tls', 'ws'] as const
type Transport = (typeof TRANSPORTS)[number]

function connectOver(t: Transport, account: Account): Promise<MqttClient> {
  const ports = app.info.broker?.ports as { tcp: number; tls: number; ws: number }
  if (t === 'tls') return connectAs(`mqtts://127.0.0.1:${ports.tls}`, account, { ca })
  if (t === 'ws') return connectAs(`ws://127.0.0.1:${ports.ws}/mqtt`, account)
  return connectAs(`mqtt://127.0.0.1:${ports.tcp}`, account)
}

describe.each(TRANSPORTS)('ACL matrix over %s', (transport) => {
  const deniedMarkers: string[] = []

  it.each(PUBLISH.map((c, i) => [...c, i] as const))('publish: %s', async (name, account, topic, retain, allowed, i) => {
    const marker = `${transport}-${i}-${name}`
    const client = await connectOver(transport, as(account))
    try {
      const outcome = await publishOutcome(client, topic, JSON.stringify({ marker }), retain)
      expect(outcome).toBe(allowed ? 'acked' : 'closed')
      if (allowed) {
        const got = await seen.waitFor((m) => m.payload.includes(marker))
        expect(got.topic).toBe(topic)
      } else {
        deniedMarkers.push(marker)
        await waitFor(() => app.logs.find('publish denied', { topic }).length > 0, { message: `a logged denial of ${topic}` })
      }
    } finally {
      await closeAll([client])
    }
  })

  it.each(SUBSCRIBE)('subscribe: %s', async (_name, account, filter, code) => {
    const client = await connectOver(transport, as(account))
    try {
      expect(await subackCodes(client, [filter])).toEqual([code])
      expect(client.connected).toBe(true) // a refused filter does not cost the connection
    } finally {
      await closeAll([client])
    }
  })

  it('delivered none of the refused publishes', async () => {
    expect(deniedMarkers.length).toBe(PUBLISH.filter((c) => !c[4]).length)
    // Every allowed publish of this transport arrived after the refused ones were sent.
    const lastAllowed = PUBLISH.findLastIndex((c) => c[4])
    await seen.waitFor((m) => m.payload.includes(`${transport}-${lastAllowed}-`))
    for (const marker of deniedMarkers) expect(seen.messages.some((m) => m.payload.includes(marker))).toBe(false)
  })
})

describe('the same policy through mosquitto clients', () => {
  it('a limited viewer gets SUBACK 0x80 for another farm, and only its own farm', async () => {
    // mosquitto_sub flushes its SUBACK line to a pipe only with a message: a retained one comes first.
    const birth = await mosquittoPub({ port: app.mqttPort, ...as('pump9'), clientId: 'pump-9', qos: 1, retain: true, topic: `${PUMP9}/status`, message: '{"online":true}' })
    expect(birth.code, birth.stderr).toBe(0)
    const sub = await mosquittoSub({ port: app.mqttPort, ...as('trainer'), clientId: 'trainer_mq', qos: 1, topics: ['farm/ranong-02/#', 'farm/ranong-01/#'] })
    try {
      expect(sub.granted).toEqual([1, 128])
      for (const [d, topic] of [['pump1', `${PUMP1}/telemetry`], ['pump9', `${PUMP9}/telemetry`]] as const) {
        const r = await mosquittoPub({ port: app.mqttPort, ...as(d), clientId: as(d).username, qos: 1, topic, message: `{"from":"${d}"}` })
        expect(r.code, r.stderr).toBe(0)
      }
      await seen.waitFor((m) => m.payload === '{"from":"pump9"}') // the witness saw both, in order
      const got = await sub.waitForMessages(2)
      expect(got.map((m) => [m.topic, m.retain])).toEqual([[`${PUMP9}/status`, true], [`${PUMP9}/telemetry`, false]])
    } finally {
      await sub.close()
    }
  })

  it('mosquitto_pub forging a status for another device is refused and logged', async () => {
    const r = await mosquittoPub({ port: app.mqttPort, ...as('pump9'), clientId: 'pump-9', qos: 1, retain: true, topic: `${PUMP1}/status`, message: '{"online":false,"forged":true}' })
    expect(r.code).not.toBe(0)
    await waitFor(() => app.logs.find('publish denied', { topic: `${PUMP1}/status`, username: 'pump-9' }).length > 0)
    expect(seen.messages.some((m) => m.payload.includes('forged'))).toBe(false)
  })
})

describe('client ids and sessions', () => {
  const url = () => `mqtt://127.0.0.1:${app.mqttPort}`

  it('refuses a client id that belongs to another account (CONNACK 2), and logs it', async () => {
    await expect(connectAs(url(), as('soil1'), { clientId: 'pump-1' })).rejects.toThrow(/identifier rejected/i)
    await expect(connectAs(url(), as('ingest'), { clientId: 'witness_1' })).rejects.toThrow(/identifier rejected/i)
    expect(app.logs.find('connection refused', { username: 'soil-1', reason: 'client id must be the username or start with it' })).toHaveLength(1)
  })

  it('a second connection of the same account takes the session over; the takeover is logged', async () => {
    const first = await connectAs(url(), as('pump1'), { clientId: 'pump-1' })
    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()))
    const second = await connectAs(url(), as('pump1'), { clientId: 'pump-1' })
    await closed
    expect(second.connected).toBe(true)
    await waitFor(() => app.logs.find('client id takeover: previous connection closed', { clientId: 'pump-1' }).length === 1)
    await closeAll([first, second])
  })

  it('a persistent session stores and queues only the filters the ACL granted', async () => {
    const metric = async () => {
      const text = await (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text()
      return Number(/^mqtt_queued_messages (\S+)$/m.exec(text)?.[1])
    }
    const device = await connectAs(url(), as('soil1'), { clientId: 'soil-1', clean: false })
    expect(await subackCodes(device, [`${SOIL1}/cmd`, 'farm/#'])).toEqual([1, 128])
    await device.endAsync()
    const pump = await connectAs(url(), as('pump1'))
    const tech = await connectAs(url(), as('techA'))
    expect(await publishOutcome(pump, `${PUMP1}/telemetry`, '{"leak":"telemetry"}')).toBe('acked')
    expect(await publishOutcome(tech, `${SOIL1}/cmd`, '{"id":"c1","cmd":"stop"}')).toBe('acked')
    await waitFor(async () => (await metric()) >= 1, { message: 'the command queued' })
    await new Promise((resolve) => setTimeout(resolve, 1_100)) // the gauge is recounted at most once a second
    expect(await metric()).toBe(1)

    const { client: back, inbox } = await connectCollecting(url(), as('soil1'), { clientId: 'soil-1', clean: false })
    await inbox.waitFor((m) => m.payload.includes('"c1"'))
    expect(await publishOutcome(tech, `${SOIL1}/cmd`, '{"id":"c2","cmd":"start"}')).toBe('acked')
    await inbox.waitFor((m) => m.payload.includes('"c2"'))
    expect(inbox.messages.map((m) => m.topic)).toEqual([`${SOIL1}/cmd`, `${SOIL1}/cmd`])
    await back.endAsync()
    await closeAll([pump, tech])
  })
})
