/**
 * Issue 3, device status and persistence: the retained birth and the Last Will, and a persistent
 * session that gets every one of 1,000 QoS 1 messages published while it was away, across a
 * broker restart on the same DATA_DIR (the embedded LevelDB store).
 */
import { rm } from 'node:fs/promises'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Credentials } from '../runtime/accounts.js'
import { closeAll, collect, connectAs, connectCollecting, publishOutcome, subackCodes } from '../bench/lib/mqttjs.js'
import { type TestApp, makeDataDir, startTestApp } from './helpers/app.js'
import { mosquittoSub } from './helpers/mosquitto.js'
import { waitFor } from './helpers/wait-for.js'

let dir: string
let app: TestApp
let pump: Credentials
let soil: Credentials
let ingest: Credentials

const STATUS = 'farm/ranong-01/pump/pump-1/status'
const status = (online: boolean, boot = 4) => JSON.stringify({ online, ts: Date.now(), boot, fw: '1.4.2' })
const url = () => `mqtt://127.0.0.1:${app.mqttPort}`

beforeAll(async () => {
  dir = await makeDataDir()
  app = await startTestApp(['broker'], {}, dir)
  pump = await app.accounts.addDevice({ farm: 'ranong-01', kind: 'pump', device: 'pump-1' })
  soil = await app.accounts.addDevice({ farm: 'ranong-01', kind: 'soil', device: 'soil-1' })
  ingest = await app.accounts.setUser('ingest', 'service')
})

afterAll(async () => {
  await app?.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('device status: retained birth and Last Will', () => {
  const connectDevice = () =>
    connectAs(url(), pump, { clientId: 'pump-1', keepalive: 30, will: { topic: STATUS, payload: Buffer.from(status(false)), qos: 1, retain: true } })

  it('killing the socket delivers the retained offline will; a reconnect publishes online', async () => {
    const watcher = await connectAs(url(), ingest)
    const seen = collect(watcher)
    await subackCodes(watcher, ['farm/+/+/+/status'])

    let device: MqttClient = await connectDevice()
    expect(await publishOutcome(device, STATUS, status(true), true)).toBe('acked')
    await seen.waitFor((m) => m.payload.includes('"online":true'))

    device.stream.destroy() // the 4G link drops: no DISCONNECT
    const will = await seen.waitFor((m) => m.payload.includes('"online":false'))
    expect(will.topic).toBe(STATUS)
    await closeAll([device])

    // Someone who subscribes later (here mosquitto_sub) is told the device is offline: retained.
    const late = await mosquittoSub({ port: app.mqttPort, ...ingest, clientId: 'ingest_late', qos: 1, topics: STATUS })
    try {
      const [retained] = await late.waitForMessages(1)
      expect(retained).toMatchObject({ topic: STATUS, retain: true })
      expect(JSON.parse(retained?.payload ?? '{}')).toMatchObject({ online: false })

      device = await connectDevice()
      expect(await publishOutcome(device, STATUS, status(true, 5), true)).toBe('acked')
      const [, online] = await late.waitForMessages(2)
      expect(JSON.parse(online?.payload ?? '{}')).toMatchObject({ online: true, boot: 5 })
    } finally {
      await late.close()
    }

    // A clean DISCONNECT is not a failure: no will ([MQTT-3.14.4-3]).
    const before = seen.messages.length
    await device.endAsync()
    const marker = await connectAs(url(), soil)
    await publishOutcome(marker, 'farm/ranong-01/soil/soil-1/status', status(true), true)
    await seen.waitFor((m) => m.topic.includes('soil-1'))
    expect(seen.messages.slice(before).map((m) => m.topic)).toEqual(['farm/ranong-01/soil/soil-1/status'])
    await closeAll([marker, watcher])
  })

  it('a will forged for another device is refused at CONNECT (return code 5) and logged', async () => {
    const forged = connectAs(url(), soil, { will: { topic: STATUS, payload: Buffer.from(status(false)), qos: 1, retain: true } })
    await expect(forged).rejects.toThrow(/not authorized/i)
    expect(app.logs.find('connection refused', { username: 'soil-1' }).some((l) => String(l.reason).startsWith('will refused'))).toBe(true)
  })
})

describe('persistence across a restart', () => {
  const TOTAL = 1_000
  const TELEMETRY = 'farm/ranong-01/pump/pump-1/telemetry'

  const publishMany = async (from: number, to: number) => {
    const device = await connectAs(url(), pump)
    await Promise.all(Array.from({ length: to - from }, (_, i) => device.publishAsync(TELEMETRY, JSON.stringify({ seq: from + i }), { qos: 1 })))
    await device.endAsync()
  }
  const queued = async () => {
    const text = await (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text()
    return Number(/^mqtt_queued_messages (\S+)$/m.exec(text)?.[1])
  }

  it(`a persistent subscriber offline for ${TOTAL} QoS 1 messages and a broker restart gets all of them`, async () => {
    const subscriber = await connectAs(url(), ingest, { clientId: 'ingest-1', clean: false })
    expect(await subackCodes(subscriber, ['farm/+/+/+/telemetry'])).toEqual([1])
    await subscriber.endAsync()
    // Until the broker has read the DISCONNECT it still delivers to the closing client.
    await waitFor(() => /^mqtt_clients_connected\{role="service"\} 0$/m.test(app.metrics.render()), { message: 'the subscriber gone' })

    await publishMany(0, TOTAL / 2)
    await app.stop() // graceful: waits for acknowledged publishes to reach storage
    app = await startTestApp(['broker'], {}, dir)
    // The retained status survived the restart too (the will of the test above, then online).
    const look = await connectAs(url(), ingest)
    const retained = collect(look)
    await subackCodes(look, [STATUS])
    expect(JSON.parse((await retained.waitFor((m) => m.topic === STATUS)).payload)).toMatchObject({ online: true, boot: 5 })
    await look.endAsync()
    await publishMany(TOTAL / 2, TOTAL)
    await waitFor(async () => (await queued()) === TOTAL, { message: () => `${TOTAL} messages queued` })

    const { client: back, inbox } = await connectCollecting(url(), ingest, { clientId: 'ingest-1', clean: false })
    await waitFor(() => new Set(inbox.messages.map((m) => m.payload)).size >= TOTAL, { timeoutMs: 20_000, message: () => `${TOTAL} messages (have ${inbox.messages.length})` })
    const seqs = new Set(inbox.messages.map((m) => (JSON.parse(m.payload) as { seq: number }).seq))
    expect(seqs.size).toBe(TOTAL)
    expect(Math.min(...seqs)).toBe(0)
    expect(Math.max(...seqs)).toBe(TOTAL - 1)
    await waitFor(async () => (await queued()) === 0, { message: 'the queue emptied once acknowledged' })
    await back.endAsync()
  })
})
