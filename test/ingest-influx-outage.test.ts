/**
 * Issue 5: InfluxDB down for a minute in the middle of a steady stream. Its own file so it runs
 * beside the other outage drills instead of after them (it mostly waits).
 */
import { describe, it } from 'vitest'
import { startStream } from './helpers/device-stream.js'
import { T0, cleanups, expectAllStoredOnce, setup, useCleanups } from './helpers/pipeline.js'
import { waitFor } from './helpers/wait-for.js'

useCleanups()

describe('ingest through an InfluxDB outage', () => {
  it('InfluxDB stopped for 60 s during a steady stream: every reading stored once', async () => {
    const s = await setup()
    const count = 20 * 75 // 20 readings/s per device for 75 s
    const stream = startStream({ url: `mqtt://127.0.0.1:${s.mqttPort}`, devices: s.devices, ratePerSec: 20, count, startTs: T0 })
    cleanups.push(() => stream.close())
    await waitFor(async () => (await s.stored()) > 200)
    await s.influx.stopInflux()
    const stoppedAt = Date.now()
    await waitFor(async () => (await s.ingest.current.metric('ingest_write_retries_total')) > 3, { timeoutMs: 30_000 })
    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - stoppedAt))))
    await s.influx.startInflux()
    await stream.done
    await expectAllStoredOnce(s, count)
  }, 180_000)
})
