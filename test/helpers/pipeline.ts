/**
 * A pipeline for outage tests: a real InfluxDB, the broker (in process, or as a process that can
 * be restarted), ingest as a process that can be SIGKILLed, and four registered pump devices.
 * Every reading has a unique timestamp, so rows in InfluxDB count readings stored once.
 */
import { afterEach, expect } from 'vitest'
import { type DeviceCredentials, type TestApp, addDevice, makeDataDir, startTestApp } from './app.js'
import { freePort } from './daemon.js'
import { startInflux } from './influx.js'
import { type ServiceProcess, startServiceProcess } from './service-process.js'
import { waitFor } from './wait-for.js'

export const T0 = Date.UTC(2026, 2, 1, 0, 0, 0)
export const cleanups: Array<() => Promise<unknown>> = []
/** Registers the cleanup hook in the calling test file. */
export function useCleanups(): void {
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {})
  })
}

export async function setup(opts: { brokerInProcess?: boolean; ingestEnv?: Record<string, string> } = {}) {
  const influx = await startInflux()
  cleanups.push(() => influx.close())
  const dataDir = await makeDataDir()
  const mqttPort = await freePort()
  const brokerEnv = { DATA_DIR: dataDir, MQTT_PORT: String(mqttPort), MQTT_WS_PORT: '0' }
  let broker: TestApp | ServiceProcess
  if (opts.brokerInProcess !== false) {
    broker = await startTestApp(['broker'], brokerEnv, dataDir)
    cleanups.push(() => (broker as TestApp).close())
  } else {
    broker = await startServiceProcess(['broker'], brokerEnv, 'broker')
    cleanups.push(() => (broker as ServiceProcess).stop())
  }
  const ingestEnv = {
    DATA_DIR: dataDir,
    MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
    INFLUX_URL: influx.url,
    INFLUX_BUCKET: influx.bucket,
    INFLUX_TOKEN: 'test',
    INGEST_FLUSH_MS: '50',
    INGEST_RETRY_MAX_MS: '2000',
    ...opts.ingestEnv,
  }
  const ingest = { current: await startServiceProcess(['ingest'], ingestEnv, 'ingest') }
  cleanups.push(() => ingest.current.stop())
  const devices: DeviceCredentials[] = []
  for (let i = 1; i <= 4; i++) devices.push(await addDevice(dataDir, `farm-${i % 2}`, 'pump', `pump-${i}`))
  const stored = async () => Number((await influx.queryRows('SELECT count(flow_lpm) FROM pump'))[0]?.count ?? 0)
  const perDevice = async () =>
    Object.fromEntries((await influx.queryRows('SELECT count(flow_lpm) FROM pump GROUP BY device')).map((r) => [r.device, r.count]))
  return { influx, dataDir, mqttPort, broker, ingest, ingestEnv, brokerEnv, devices, stored, perDevice }
}

export async function expectAllStoredOnce(s: Awaited<ReturnType<typeof setup>>, perDeviceCount: number, timeoutMs = 60_000) {
  const total = perDeviceCount * s.devices.length
  await waitFor(async () => (await s.stored()) >= total, { timeoutMs, message: `${total} rows in InfluxDB` })
  expect(await s.stored()).toBe(total)
  expect(await s.perDevice()).toEqual(Object.fromEntries(s.devices.map((d) => [d.device, perDeviceCount])))
  // every seq of every device, exactly: min 0, max count-1, count = count
  const seqs = await s.influx.queryRows('SELECT min(seq), max(seq), count(seq) FROM pump GROUP BY device')
  for (const r of seqs) expect([r.min, r.max, r.count]).toEqual([0, perDeviceCount - 1, perDeviceCount])
}

