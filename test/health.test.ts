/**
 * Issue 13, health that tells the truth, against a real InfluxDB and broker: /healthz turns
 * degraded (503, with its reasons) within 10 s of InfluxDB going away while readings flow, and
 * ok again once it is back; /readyz is 503 until ingest (and alerts, on its own) has reached the
 * broker; a nearly full disk and an unreachable broker are reported too. The thresholds are shortened through their
 * environment variables (2 s instead of 30 s): what is proven is that each condition is noticed
 * and reported within its window, and forgotten once it ends.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { addDevice, makeDataDir, startTestApp, type TestApp } from './helpers/app.js'
import { freePort } from './helpers/daemon.js'
import { startStream } from './helpers/device-stream.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { T0 } from './helpers/pipeline.js'
import { waitFor } from './helpers/wait-for.js'

interface Answer {
  code: number
  status: string
  reasons: string[]
}

const get = async (app: TestApp, path: string): Promise<Answer> => {
  const res = await fetch(`http://127.0.0.1:${app.httpPort}${path}`)
  const body = (await res.json()) as { status: string; reasons: string[] }
  return { code: res.status, status: body.status, reasons: body.reasons }
}

const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

const FAST = { INGEST_HEALTH_WRITE_FAILING_S: '2', INGEST_HEALTH_SPOOL_STALL_S: '2', HEALTH_BROKER_DOWN_S: '2', INGEST_RETRY_MAX_MS: '500' }

const STORAGE_FAILING = /^ingest storage failing: InfluxDB writes have failed for \d+ s \((.+)\)$/

/**
 * Kills influxd and waits (10 s at most) for /healthz to say degraded with storage failing among
 * its reasons (a growing spool may be reported a moment before the first write has failed).
 */
async function degradedAfterKill(app: TestApp, influx: InfluxHandle, label: string): Promise<Answer> {
  await influx.stopInflux({ signal: 'SIGKILL' })
  const stoppedAt = Date.now()
  const degraded = await waitFor(async () => {
    const h = await get(app, '/healthz')
    return h.code === 503 && h.reasons.some((r) => STORAGE_FAILING.test(r)) && h
  }, { timeoutMs: 10_000, message: `/healthz degraded, storage failing, within 10 s of InfluxDB going away (${label})` })
  console.log(`${label}: /healthz degraded ${Date.now() - stoppedAt} ms after influxd was killed: ${JSON.stringify(degraded)}`)
  return degraded
}

describe('/healthz', () => {
  it('degraded within 10 s of InfluxDB going away while readings flow, and ok again once it is back', async () => {
    const influx: InfluxHandle = await startInflux()
    cleanups.push(() => influx.close())
    const app = await startTestApp(['broker', 'ingest'], { ...FAST, INFLUX_URL: influx.url, INFLUX_BUCKET: influx.bucket, INFLUX_TOKEN: 'test' })
    cleanups.push(() => app.stop())
    const device = await addDevice(app.dataDir, 'health-01', 'pump', 'health-01-pump')
    const stream = startStream({ url: `mqtt://127.0.0.1:${app.mqttPort}`, devices: [device], ratePerSec: 10, count: 10 * 120, startTs: T0 })
    cleanups.push(() => stream.close())
    await waitFor(async () => (await influx.queryRows('SELECT count(flow_lpm) FROM pump'))[0]?.count, { message: 'readings in InfluxDB' })
    await waitFor(async () => (await get(app, '/readyz')).code === 200, { message: '/readyz 200' })
    expect(await get(app, '/healthz')).toEqual({ code: 200, status: 'ok', reasons: [] })

    const degraded = await degradedAfterKill(app, influx, 'readings flowing')
    expect(degraded.status).toBe('degraded')
    // Degraded is not "not ready": the service runs, and keeps every reading in its spool.
    expect((await get(app, '/readyz')).code).toBe(200)

    await influx.startInflux()
    const backAt = Date.now()
    await waitFor(async () => (await get(app, '/healthz')).code === 200, { timeoutMs: 20_000, message: '/healthz ok again' })
    console.log(`/healthz ok again ${Date.now() - backAt} ms after influxd answered again`)
    expect(await get(app, '/healthz')).toEqual({ code: 200, status: 'ok', reasons: [] })
  }, 90_000)

  it('degraded within 10 s of InfluxDB going away while nothing is written, and ok again once it is back', async () => {
    const influx: InfluxHandle = await startInflux()
    cleanups.push(() => influx.close())
    const app = await startTestApp(['broker', 'ingest'], { ...FAST, INFLUX_URL: influx.url, INFLUX_BUCKET: influx.bucket, INFLUX_TOKEN: 'test' })
    cleanups.push(() => app.stop())
    await waitFor(async () => (await get(app, '/readyz')).code === 200, { message: '/readyz 200' })
    expect(await get(app, '/healthz')).toEqual({ code: 200, status: 'ok', reasons: [] })

    const degraded = await degradedAfterKill(app, influx, 'nothing to write')
    expect(degraded.reasons).toEqual([expect.stringMatching(/^ingest storage failing: .* \(InfluxDB does not answer GET \/ping: .+\)$/)])

    await influx.startInflux()
    await waitFor(async () => (await get(app, '/healthz')).code === 200, { timeoutMs: 20_000, message: '/healthz ok again' })
  }, 60_000)
})

describe('/readyz and the other reasons', () => {
  it('503 until ingest reaches the broker; an unreachable broker and a nearly full disk are reasons', async () => {
    const dataDir = await makeDataDir()
    const mqttPort = await freePort()
    // No broker on that port yet, and a disk that is always "nearly full". Alerts on its own takes
    // its readings from the broker (ingest runs elsewhere), so it has a broker link of its own.
    const away = { ...FAST, MQTT_URL: `mqtt://127.0.0.1:${mqttPort}` }
    const [ingest, alerts] = await Promise.all([
      startTestApp(['ingest'], { ...away, HEALTH_DISK_MIN_FREE_MB: String(1024 * 1024 * 1024) }, dataDir),
      startTestApp(['alerts'], away, dataDir),
    ])
    cleanups.push(() => ingest.stop(), () => alerts.stop())
    expect(await get(alerts, '/readyz')).toEqual({ code: 503, status: 'not ready', reasons: ['alerts not connected to the broker yet'] })
    expect(await get(alerts, '/healthz')).toMatchObject({ code: 503, reasons: [expect.stringMatching(/^alerts broker unreachable for \d+ s$/)] })
    const notReady = await get(ingest, '/readyz')
    expect(notReady).toEqual({ code: 503, status: 'not ready', reasons: ['ingest not connected to the broker yet'] })
    const h = await waitFor(async () => {
      const a = await get(ingest, '/healthz')
      return a.reasons.some((r) => r.startsWith('ingest broker ')) && a
    }, { message: 'broker unreachable in /healthz' })
    expect(h.code).toBe(503)
    expect(h.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^ingest broker unreachable for \d+ s$/), expect.stringMatching(/^disk nearly full: \d+ MB free under /)]))

    const broker = await startTestApp(['broker'], { MQTT_PORT: String(mqttPort) }, dataDir)
    cleanups.push(() => broker.stop())
    await waitFor(async () => (await get(ingest, '/readyz')).code === 200, { timeoutMs: 20_000, message: '/readyz 200 once ingest is connected' })
    const after = await waitFor(async () => {
      const a = await get(ingest, '/healthz')
      return !a.reasons.some((r) => r.startsWith('ingest broker ')) && a
    }, { message: 'broker reason gone' })
    expect(after.reasons).toEqual([expect.stringMatching(/^disk nearly full: /)]) // still degraded: the disk
    expect((await get(broker, '/readyz')).code).toBe(200)
    await waitFor(async () => (await get(alerts, '/readyz')).code === 200, { timeoutMs: 20_000, message: 'alerts ready once connected' })
    expect(await get(alerts, '/healthz')).toEqual({ code: 200, status: 'ok', reasons: [] })
  }, 60_000)
})
