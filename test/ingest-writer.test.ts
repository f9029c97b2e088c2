/**
 * Issue 13, the writer alone against a real InfluxDB (through the harness shim): a refused batch
 * is narrowed by whole lines, a stop in the middle of it loses nothing, and configuration errors
 * (token, bucket, an InfluxDB without /api/v2/write) are told once per outage, with what to fix.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURE_TS, validEvent, validPump } from '../contracts/fixtures.js'
import { toLineProtocol, toPoint } from '../contracts/points.js'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { createLogger } from '../runtime/logger.js'
import { Metrics } from '../runtime/metrics.js'
import { Spool } from '../ingest/spool.js'
import { InfluxWriter, type WriterOptions } from '../ingest/writer.js'
import { LogCapture } from './helpers/app.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { waitFor } from './helpers/wait-for.js'

let influx: InfluxHandle
const cleanups: Array<() => Promise<unknown>> = []
beforeAll(async () => {
  influx = await startInflux()
})
afterAll(async () => {
  await influx?.close()
})
afterEach(async () => {
  influx.shim.setMode('ok')
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function startWriter(opts: Partial<WriterOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'writer-'))
  const spool = await Spool.open(join(dir, 'spool'))
  const deadLetters = new DeadLetterStore(join(dir, 'deadletter'))
  const logs = new LogCapture()
  const metrics = new Metrics()
  const options: WriterOptions = { url: influx.url, token: 't', org: '', bucket: influx.bucket, batchBytes: 1 << 20, flushMs: 20, timeoutMs: 5_000, minRetryMs: 20, maxRetryMs: 100, ...opts }
  const writer = new InfluxWriter(options, spool, deadLetters, createLogger('debug', logs), metrics)
  writer.start()
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await writer.stop()
    await spool.close()
  }
  cleanups.push(async () => {
    await stop()
    await rm(dir, { recursive: true, force: true })
  })
  return { writer, spool, deadLetters, logs, metrics, dir, stop }
}

const at = { farm: 'farm-a', kind: 'pump', device: 'pump-1' } as const
const pumpLine = (i: number) => toLineProtocol(toPoint({ ...at, channel: 'telemetry' }, { ...validPump, seq: i, ts: FIXTURE_TS + i * 1000 })!)
const rowCount = async (where = '') => Number((await influx.queryRows(`SELECT count(seq) FROM pump ${where}`))[0]?.count ?? 0)

describe('narrowing a refused batch', () => {
  it('isolates the one bad line among 400 by whole lines: it alone is dead-lettered, whole; every other line is stored once', async () => {
    await influx.exec('DROP SERIES FROM pump')
    // detail is a float in this shard: an event with a text detail is a field type conflict (400)
    await influx.exec('DROP MEASUREMENT device_event')
    const seeded = await fetch(`${influx.directUrl}/write?db=${influx.db}&precision=ms`, { method: 'POST', body: `device_event,device=seed,farm=seed detail=1 ${FIXTURE_TS}` })
    expect(seeded.status).toBe(204)
    // The bad line carries what a device's text must never split: a line break before a forged
    // line for another farm, quotes, backslashes, commas, spaces and equals signs.
    const detail = 'x"\npump,device=pump-9,farm=farm-b seq=666 1772334000000\n he said "stop" \\ a=b, c'
    const bad = toLineProtocol(toPoint({ ...at, channel: 'event' }, { ...validEvent, ts: FIXTURE_TS + 200_500, detail })!)
    const lines = [...Array.from({ length: 200 }, (_, i) => pumpLine(i)), bad, ...Array.from({ length: 200 }, (_, i) => pumpLine(200 + i))]
    const w = await startWriter()
    influx.shim.resetCounters()
    await w.spool.append(lines)
    const letters = await waitFor(async () => {
      const all = await w.deadLetters.list()
      return all.length > 0 && w.spool.bytes === 0 && all
    })
    expect(letters).toHaveLength(1)
    expect(letters[0]).toMatchObject({ stage: 'writer', code: 'influx_rejected', payload: bad })
    expect(letters[0]?.reason).toContain('field type conflict')
    expect(await rowCount()).toBe(400)
    expect(await rowCount(`WHERE farm = 'farm-b'`)).toBe(0) // nothing forged
    expect(await influx.queryRows('SELECT count(*) FROM device_event WHERE farm = \'farm-a\'')).toEqual([])
    // one POST for the batch, then two halves per level down to the line: 1 + 2 * ceil(log2(401))
    expect(influx.shim.writes).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(lines.length)))
  })

  it('stopped while narrowing (InfluxDB went away after the 400), it confirms nothing: every line is still in the spool', async () => {
    await influx.exec('DROP MEASUREMENT device_event')
    await fetch(`${influx.directUrl}/write?db=${influx.db}&precision=ms`, { method: 'POST', body: `device_event,device=seed,farm=seed detail=1 ${FIXTURE_TS}` })
    const bad = toLineProtocol(toPoint({ ...at, channel: 'event' }, { ...validEvent, ts: FIXTURE_TS + 1 })!)
    const lines = [pumpLine(0), bad, pumpLine(1), pumpLine(2)]
    influx.shim.setMode('down', { afterWrites: 1 }) // the batch gets its 400, the halves a 503
    const w = await startWriter()
    await w.spool.append(lines)
    await waitFor(() => influx.shim.log.some((r) => r.status === 503))
    await w.stop()
    const reopened = await Spool.open(join(w.dir, 'spool'))
    cleanups.push(() => reopened.close())
    expect((await reopened.next(1 << 20))?.lines).toEqual(lines)
    expect(await w.deadLetters.list()).toEqual([])
  })
})

describe('configuration errors', () => {
  const failing = (logs: LogCapture) => logs.lines.filter((l) => l.msg.startsWith('influxdb writes failing'))

  it('401: says to check INFLUX_TOKEN, once however often it retries; recovers by itself and says how long it took', async () => {
    influx.shim.setMode('401')
    influx.shim.resetCounters()
    const w = await startWriter()
    await w.spool.append([pumpLine(1_000)])
    await waitFor(() => influx.shim.writes >= 3)
    expect(failing(w.logs)).toHaveLength(1)
    expect(failing(w.logs)[0]?.reason).toBe(`InfluxDB refused the token: check INFLUX_TOKEN (and its write permission on bucket ${influx.bucket})`)
    expect(w.writer.status()).toMatchObject({ failingSinceMs: expect.any(Number), lastError: expect.stringContaining('INFLUX_TOKEN') })
    influx.shim.setMode('ok')
    const recovered = await waitFor(() => w.logs.find('influxdb writes recovered')[0])
    expect(recovered).toMatchObject({ attempts: expect.any(Number), durationMs: expect.any(Number) })
    expect(recovered.attempts).toBeGreaterThanOrEqual(3)
    await waitFor(async () => (await rowCount('WHERE seq = 1000')) === 1)
    expect(w.writer.status()).toEqual({ attempts: 0 })
    expect(w.metrics.counter('ingest_write_outages_total', '').total()).toBe(1)
  })

  it('404 from a real InfluxDB for an unknown database: says the bucket is not found', async () => {
    const w = await startWriter({ bucket: 'nope/autogen' })
    await w.spool.append([pumpLine(1_001)])
    await waitFor(() => failing(w.logs)[0])
    expect(failing(w.logs)[0]?.reason).toMatch(/^bucket nope\/autogen not found: create it or fix INFLUX_BUCKET/)
  })

  it('404 with no such endpoint: probes /ping once, and says InfluxDB 1.8+ is needed', async () => {
    influx.shim.setMode('404')
    influx.shim.resetCounters()
    const w = await startWriter()
    await w.spool.append([pumpLine(1_002)])
    await waitFor(() => influx.shim.writes >= 3)
    expect(failing(w.logs)).toHaveLength(1)
    expect(failing(w.logs)[0]?.reason).toBe(`InfluxDB at ${influx.url} has no /api/v2/write: it needs 1.8+ (or 2.x/3.x); it reports version 1.6.7~rc0`)
    expect(influx.shim.log.filter((r) => r.url === '/ping')).toHaveLength(1) // once per outage
  })
})

describe('Retry-After', () => {
  it('as an HTTP-date: the next attempt waits until then', async () => {
    influx.shim.setMode('429', { retryAfterS: 2, retryAfterAsDate: true })
    influx.shim.resetCounters()
    const w = await startWriter()
    await w.spool.append([pumpLine(1_003)])
    await waitFor(() => influx.shim.writes >= 2, { timeoutMs: 15_000 })
    const [first, second] = influx.shim.log.filter((r) => r.isWrite)
    // the date has whole seconds, so "2 s from now" is at least 1 s from now
    expect(second!.atMs - first!.atMs).toBeGreaterThanOrEqual(1_000)
  })
})
