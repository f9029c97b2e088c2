/**
 * Issue 20: three guarantees the broker keeps only through patches of Aedes (broker/patches/),
 * tested on the real broker over TCP with real clients, so that any refactor of those patches,
 * or an Aedes that no longer needs them, keeps them. The end-to-end version of the first, through
 * ingest and InfluxDB, is in ingest-outages.test.ts ("broker SIGKILLed twice").
 */
import { connect } from 'node:net'
import { rm } from 'node:fs/promises'
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { RawClient } from '../bench/lib/raw-mqtt.js'
import { connectAs, connectCollecting, subackCodes } from '../bench/lib/mqttjs.js'
import { openOwnAccountStore } from '../registry/accounts-source.js'
import type { Credentials } from '../runtime/accounts.js'
import { type TestApp, makeDataDir, startTestApp } from './helpers/app.js'
import { freePort } from './helpers/daemon.js'
import { mosquittoPub, mosquittoSub } from './helpers/mosquitto.js'
import { CONNECT_FLAGS, StrictReader, encodeConnect } from './helpers/mqtt-wire.js'
import { startServiceProcess } from './helpers/service-process.js'
import { waitFor } from './helpers/wait-for.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined)
})

const TELEMETRY = 'farm/ranong-01/pump/pump-1/telemetry'
const reading = (seq: number) => JSON.stringify({ seq })

describe("a device's PUBACK means the reading is on disk or with ingest", () => {
  /**
   * The broker as its own process, killed with SIGKILL right after the device's PUBACKs. Queued
   * messages wait a second in memory before they are written (BROKER_QUEUE_FLUSH_MS and _HOLD_MS,
   * 200 ms and 5 s by default): Aedes alone acknowledges at once, so without durable-ack.ts the
   * kill lands while they are only in memory; with it, the PUBACKs come after the write.
   */
  async function brokerProcess() {
    const dataDir = await makeDataDir()
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const accounts = await openOwnAccountStore({ dataDir })
    const pump = await accounts.addDevice({ farm: 'ranong-01', kind: 'pump', device: 'pump-1' })
    const ingest = await accounts.setUser('ingest', 'service')
    await accounts.close()
    const env = { DATA_DIR: dataDir, MQTT_PORT: String(await freePort()), MQTT_WS_PORT: '0', BROKER_QUEUE_FLUSH_MS: '1000', BROKER_QUEUE_HOLD_MS: '1000' }
    const start = async (label: string) => {
      const broker = await startServiceProcess(['broker'], env, label)
      cleanups.push(() => broker.stop())
      return broker
    }
    return { pump, ingest, port: Number(env.MQTT_PORT), start }
  }

  const publishAll = async (url: string, pump: Credentials, seqs: number[]) => {
    const device: MqttClient = await connectAs(url, pump)
    await Promise.all(seqs.map((seq) => device.publishAsync(TELEMETRY, reading(seq), { qos: 1 })))
    device.stream.destroy() // no DISCONNECT: the device is told nothing more
  }
  const seqs = Array.from({ length: 10 }, (_, i) => i)

  it('while the subscriber is away: acknowledged, SIGKILL, restart: every reading reaches it', async () => {
    const { pump, ingest, port, start } = await brokerProcess()
    const broker = await start('broker')
    const away = await connectAs(`mqtt://127.0.0.1:${port}`, ingest, { clientId: 'ingest-1', clean: false })
    expect(await subackCodes(away, ['farm/+/+/+/telemetry'])).toEqual([1])
    await away.endAsync()
    await waitFor(async () => (await broker.metric('mqtt_clients_connected')) === 0, { message: 'the subscriber gone' })
    // The devices are mosquitto_pub: it exits 0 once the broker has acknowledged the reading.
    const sent = await Promise.all(seqs.map((seq) => mosquittoPub({ port, ...pump, clientId: `pump-1_${seq}`, qos: 1, topic: TELEMETRY, message: reading(seq) })))
    expect(sent.map((r) => r.code)).toEqual(seqs.map(() => 0))
    await broker.stop('SIGKILL')
    await start('broker-2')
    // (mosquitto_sub does not subscribe again when its session is present: its SUBACK never comes.)
    const { client, inbox } = await connectCollecting(`mqtt://127.0.0.1:${port}`, ingest, { clientId: 'ingest-1', clean: false })
    cleanups.push(() => client.endAsync())
    await waitFor(() => new Set(inbox.messages.map((m) => m.payload)).size === seqs.length, { message: () => `${seqs.length} readings (have ${inbox.messages.length})` })
    expect(new Set(inbox.messages.map((m) => m.payload))).toEqual(new Set(seqs.map(reading)))
  }, 60_000)

  it('while the subscriber is connected and has not acknowledged: acknowledged, SIGKILL, restart: every reading comes again', async () => {
    const { pump, ingest, port, start } = await brokerProcess()
    const broker = await start('broker')
    const slow = await RawClient.connect({ port, clientId: 'ingest-1', username: ingest.username, password: ingest.password, clean: false })
    slow.client.autoAck = false // ingest before its fsync
    const held: string[] = []
    slow.client.onPublish = (d) => held.push(d.payload.toString())
    expect(await slow.client.subscribe(['farm/+/+/+/telemetry'], 1)).toEqual([1])
    await publishAll(`mqtt://127.0.0.1:${port}`, pump, seqs)
    await broker.stop('SIGKILL')
    slow.client.kill()
    await start('broker-2')
    const { client, inbox } = await connectCollecting(`mqtt://127.0.0.1:${port}`, ingest, { clientId: 'ingest-1', clean: false })
    cleanups.push(() => client.endAsync())
    await waitFor(() => new Set(inbox.messages.map((m) => m.payload)).size === seqs.length, { message: () => `${seqs.length} readings again (have ${inbox.messages.length})` })
    expect(new Set(inbox.messages.map((m) => m.payload))).toEqual(new Set(seqs.map(reading)))
    expect(new Set(held)).toEqual(new Set(seqs.map(reading))) // the first time: delivered, never acknowledged
  }, 60_000)
})

describe('CONNACK precedes any delivery [MQTT-3.2.0-1]', () => {
  /** A persistent session resumed on a raw socket, with its Last Will: the first packet the broker sends. */
  function firstPacket(port: number, device: Credentials): Promise<{ type: number; close(): void }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port })
      const reader = new StrictReader()
      socket.on('data', (chunk) => {
        const [first] = reader.push(chunk)
        if (first) resolve({ type: first.type, close: () => socket.destroy() })
      })
      socket.on('error', reject)
      const flags = CONNECT_FLAGS.will | CONNECT_FLAGS.willQos(1) | CONNECT_FLAGS.willRetain | CONNECT_FLAGS.username | CONNECT_FLAGS.password // no clean session
      socket.write(encodeConnect({ flags, clientId: device.username, will: { topic: `farm/ranong-01/pump/${device.username}/status`, payload: Buffer.from('{"online":false}') }, username: device.username, password: device.password }))
    })
  }

  it('twenty devices resume their sessions at once while commands stream to them: each reads CONNACK first', async () => {
    const app: TestApp = await startTestApp(['broker'])
    cleanups.push(() => app.stop())
    const url = `mqtt://127.0.0.1:${app.mqttPort}`
    const devices: Credentials[] = []
    for (let i = 1; i <= 20; i++) devices.push(await app.accounts.addDevice({ farm: 'ranong-01', kind: 'pump', device: `pump-${i}` }))
    for (const device of devices) {
      const session = await connectAs(url, device, { clientId: device.username, clean: false })
      await subackCodes(session, [`farm/ranong-01/pump/${device.username}/cmd`])
      await session.endAsync()
    }
    // The alert service sending commands: some land while a session is being restored (Aedes
    // restores its subscriptions, then stores the Will, then writes the CONNACK).
    const operator = await connectAs(url, await app.accounts.setUser('alerts', 'service'))
    cleanups.push(() => operator.endAsync(true))
    let sent = 0
    const stream = setInterval(() => {
      for (const device of devices) operator.publish(`farm/ranong-01/pump/${device.username}/cmd`, JSON.stringify({ id: `c${sent++}`, cmd: 'stop' }), { qos: 1 })
    }, 2)
    cleanups.push(async () => clearInterval(stream))
    const firsts: number[] = []
    for (let round = 0; round < 2; round++) {
      const resumed = await Promise.all(devices.map((d) => firstPacket(app.mqttPort, d)))
      firsts.push(...resumed.map((r) => r.type))
      for (const r of resumed) r.close()
    }
    clearInterval(stream)
    expect(sent).toBeGreaterThan(devices.length * 10) // commands were in flight throughout
    expect(firsts.filter((type) => type !== 2)).toEqual([])
  }, 60_000)
})

describe('no QoS 1 delivery lost to the duplicate check', () => {
  it("a persistent subscriber (mosquitto_sub) gets every one of a device's retained statuses and readings, sent back to back", async () => {
    // Aedes drops a delivery whose broker counter is below one the session has seen, and a
    // retained status, stored before it is routed, is overtaken by the reading sent after it.
    const app: TestApp = await startTestApp(['broker'])
    cleanups.push(() => app.stop())
    const pump = await app.accounts.addDevice({ farm: 'ranong-01', kind: 'pump', device: 'pump-1' })
    const ingest = await app.accounts.setUser('ingest', 'service')
    const STATUS = 'farm/ranong-01/pump/pump-1/status'
    const device = await connectAs(`mqtt://127.0.0.1:${app.mqttPort}`, pump)
    cleanups.push(() => device.endAsync(true))
    // A retained status first: mosquitto_sub flushes its output (the SUBACK line) with a message.
    await device.publishAsync(STATUS, 'status -1', { qos: 1, retain: true })
    const sub = await mosquittoSub({ port: app.mqttPort, ...ingest, clientId: 'ingest-1', qos: 1, persistentSession: true, topics: [STATUS, 'farm/+/+/+/telemetry'] })
    cleanups.push(() => sub.close())
    const PAIRS = 30
    const sends: Array<Promise<unknown>> = []
    for (let i = 0; i < PAIRS; i++) sends.push(device.publishAsync(STATUS, `status ${i}`, { qos: 1, retain: true }), device.publishAsync(TELEMETRY, reading(i), { qos: 1 }))
    // Every one acknowledged: the device lets go of them. A PUBACK waits for the subscriber's own
    // (durable-ack.ts), so each has reached mosquitto_sub by now, or never will.
    await Promise.all(sends)
    await device.publishAsync(TELEMETRY, 'last', { qos: 1 })
    await sub.waitForMessages(1, { match: (m) => m.payload === 'last' })
    const got = new Set(sub.messages.map((m) => m.payload))
    expect(got.size).toBe(2 * PAIRS + 2)
  }, 60_000)
})
