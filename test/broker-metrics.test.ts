/**
 * Issue 3, observability: what the broker reports on HTTP_PORT (/healthz, /metrics in the
 * Prometheus text format), scraped over HTTP as Prometheus would, after a known mix of traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Credentials } from '../runtime/accounts.js'
import { closeAll, collect, connectAs, publishOutcome, subackCodes } from '../bench/lib/mqttjs.js'
import { type TestApp, startTestApp } from './helpers/app.js'
import { waitFor } from './helpers/wait-for.js'

let app: TestApp
const who: Record<'pump' | 'soil' | 'ingest' | 'console', Credentials> = {} as never

/** `name{a="x",b="y"} 3` lines as a map from `name{a="x",b="y"}` (labels sorted) to the value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  const samples = new Map<string, number>()
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

const key = (name: string, labels: Record<string, string> = {}) => {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
  return parts.length ? `${name}{${parts.join(',')}}` : name
}

beforeAll(async () => {
  app = await startTestApp(['broker'])
  who.pump = await app.accounts.addDevice({ farm: 'ranong-01', kind: 'pump', device: 'pump-1' })
  who.soil = await app.accounts.addDevice({ farm: 'ranong-01', kind: 'soil', device: 'soil-1' })
  who.ingest = await app.accounts.setUser('ingest', 'service')
  who.console = await app.accounts.setUser('console', 'viewer', '*')
})

afterAll(async () => {
  await app?.stop()
})

describe('/healthz and /metrics', () => {
  it('healthz answers while the broker runs', async () => {
    const res = await fetch(`http://127.0.0.1:${app.httpPort}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok', services: ['broker'] })
  })

  it('reports clients by role, messages and bytes by channel, refusals by reason, and the offline queue', async () => {
    const url = `mqtt://127.0.0.1:${app.mqttPort}`
    const ingest = await connectAs(url, who.ingest)
    const consoleClient = await connectAs(url, who.console)
    const ingestSeen = collect(ingest)
    expect(await subackCodes(ingest, ['farm/+/+/+/telemetry'])).toEqual([1])
    expect(await subackCodes(consoleClient, ['farm/#', 'sim/control/#'])).toEqual([1, 128])
    const pump = await connectAs(url, who.pump)
    const payload = JSON.stringify({ ts: 1, seq: 1, flow_lpm: 30.5 })
    for (let i = 0; i < 5; i++) expect(await publishOutcome(pump, 'farm/ranong-01/pump/pump-1/telemetry', payload)).toBe('acked')
    expect(await publishOutcome(pump, 'farm/ranong-01/pump/pump-1/status', '{"online":true}', true)).toBe('acked')
    expect(await publishOutcome(pump, 'farm/ranong-01/pump/pump-1/event', '{"ts":1,"type":"boot"}')).toBe('acked')
    await waitFor(() => ingestSeen.messages.length === 5)
    await expect(connectAs(url, { username: 'pump-1', password: 'wrong' })).rejects.toThrow()
    const rogue = await connectAs(url, who.soil)
    expect(await publishOutcome(rogue, 'farm/ranong-01/pump/pump-1/telemetry', payload)).toBe('closed')

    const m = await waitFor(async () => {
      const s = await scrape()
      return s.get(key('mqtt_messages_out_total', { channel: 'telemetry' })) === 10 ? s : undefined
    })
    expect(m.get(key('mqtt_clients_connected', { role: 'device' }))).toBe(1)
    expect(m.get(key('mqtt_clients_connected', { role: 'service' }))).toBe(1)
    expect(m.get(key('mqtt_clients_connected', { role: 'viewer' }))).toBe(1)
    expect(m.get(key('mqtt_sockets_open', { listener: 'tcp' }))).toBe(3)
    expect(m.get(key('mqtt_messages_in_total', { channel: 'telemetry' }))).toBe(5)
    expect(m.get(key('mqtt_messages_in_total', { channel: 'status' }))).toBe(1)
    expect(m.get(key('mqtt_messages_in_total', { channel: 'event' }))).toBe(1)
    expect(m.get(key('mqtt_bytes_in_total', { channel: 'telemetry' }))).toBe(5 * payload.length)
    expect(m.get(key('mqtt_bytes_out_total', { channel: 'telemetry' }))).toBe(10 * payload.length)
    expect(m.get(key('mqtt_messages_out_total', { channel: 'status' }))).toBe(1) // the console only
    expect(m.get(key('mqtt_auth_failures_total', { reason: 'bad username or password' }))).toBe(1)
    expect(m.get(key('mqtt_denials_total', { action: 'publish', reason: 'device may publish only under its own farm/kind/id' }))).toBe(1)
    expect(m.get(key('mqtt_denials_total', { action: 'subscribe', reason: 'only services read simulator control' }))).toBe(1)
    expect(m.get('mqtt_queued_messages')).toBe(0)

    // A persistent session away while 3 messages arrive: the queue shows 3, then 0 once delivered.
    const away = await connectAs(url, who.ingest, { clientId: 'ingest-1', clean: false })
    await subackCodes(away, ['farm/+/+/+/event'])
    await away.endAsync()
    for (let i = 0; i < 3; i++) expect(await publishOutcome(pump, 'farm/ranong-01/pump/pump-1/event', `{"ts":${i},"type":"x"}`)).toBe('acked')
    await waitFor(async () => (await scrape()).get('mqtt_queued_messages') === 3, { message: '3 queued' })
    const back = await connectAs(url, who.ingest, { clientId: 'ingest-1', clean: false })
    await waitFor(async () => (await scrape()).get('mqtt_queued_messages') === 0, { message: 'the queue emptied' })
    // Nobody acknowledged them within BROKER_QUEUE_FLUSH_MS (or the reconnect read the queue back): all 3 went to disk.
    expect((await scrape()).get(key('mqtt_queue_messages_total', { outcome: 'written' }))).toBe(3)
    await closeAll([back, pump, rogue, ingest, consoleClient])
    await waitFor(async () => (await scrape()).get(key('mqtt_clients_connected', { role: 'device' })) === 0)
  })
})
