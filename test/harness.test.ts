/**
 * The real-server harness itself (issue 2, item 7): influxd 1.6 behind the v2-write shim, the
 * mosquitto clients, and the loud failure for a missing binary.
 */
import { canRetryHttpCall, HttpError, InfluxDB, Point, setLogger, type WriteOptions } from '@influxdata/influxdb-client'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findBinary, requireBinary } from './helpers/binaries.js'
import { startInflux, type InfluxHandle } from './helpers/influx.js'
import { mapV2Write } from './helpers/influx-shim.js'
import { seriesToRows } from './helpers/influxql.js'
import { startMosquitto, type MosquittoBroker } from './helpers/mosquitto-broker.js'
import { mosquittoPub, mosquittoSub } from './helpers/mosquitto.js'
import { waitFor } from './helpers/wait-for.js'

// The client logs every failed write; these tests provoke failures on purpose.
setLogger({ error: () => {}, warn: () => {} })

const T0_MS = Date.UTC(2024, 2, 1, 6, 0, 0)

describe('binaries', () => {
  it('fails loudly with the apt-get line when a binary is missing', () => {
    expect(() => requireBinary('definitely-not-here', 'pkg')).toThrow(
      'definitely-not-here not found: install it with `apt-get install -y pkg`',
    )
  })

  it('finds the Debian binaries, including those in sbin', () => {
    expect(requireBinary('influxd', 'influxdb')).toMatch(/\/influxd$/)
    expect(findBinary('mosquitto')).toMatch(/\/mosquitto$/)
  })
})

describe('v2 write mapping (what InfluxDB 1.8 does)', () => {
  it('maps bucket db/rp and the v2 precision names', () => {
    const map = (query: string) => mapV2Write(new URLSearchParams(query))
    expect(map('org=&bucket=farm%2Fautogen&precision=ms')).toEqual({ ok: true, path: '/write?db=farm&rp=autogen&precision=ms' })
    expect(map('bucket=farm&precision=ns')).toEqual({ ok: true, path: '/write?db=farm&precision=n' })
    expect(map('bucket=farm&precision=us')).toEqual({ ok: true, path: '/write?db=farm&precision=u' })
    expect(map('bucket=farm')).toEqual({ ok: true, path: '/write?db=farm&precision=n' })
    expect(map('bucket=farm&precision=n')).toMatchObject({ ok: false, status: 400 })
    expect(map('org=x')).toMatchObject({ ok: false, status: 400 })
  })
})

describe('waitFor', () => {
  it('says what it waited for and the last error', async () => {
    let calls = 0
    await expect(
      waitFor(
        () => {
          calls++
          throw new Error('not yet')
        },
        { timeoutMs: 60, intervalMs: 10, message: 'the moon' },
      ),
    ).rejects.toThrow(/waiting for the moon \(last error: not yet\)/)
    expect(calls).toBeGreaterThan(1)
    await expect(waitFor(() => (calls > 0 ? 42 : 0))).resolves.toBe(42)
  })
})

/** A zombie (exited, not yet reaped by a container's init) counts as gone. */
const isRunning = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

describe('influxd lifecycle', () => {
  it("fails fast with influxd's output when it cannot start", async () => {
    const started = Date.now()
    await expect(startInflux({ extraConfig: 'this is not toml' })).rejects.toThrow(
      /influxd failed to start \(exit code 1\); output tail:\n.*parse config/,
    )
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('leaves no orphan influxd or temp dir when the test process is killed', async () => {
    const fixture = fileURLToPath(new URL('./helpers/orphan-fixture.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    try {
      const printed = () => (stdout.includes('\n') ? (JSON.parse(stdout) as { pid: number; dir: string }) : undefined)
      const started = await waitFor(printed, { timeoutMs: 30_000, message: 'the fixture to start influxd' })
      expect(isRunning(started.pid)).toBe(true)
      expect(existsSync(started.dir)).toBe(true)
      child.kill('SIGKILL')
      await waitFor(() => !isRunning(started.pid) && !existsSync(started.dir), {
        message: `influxd ${started.pid} killed and ${started.dir} removed by the watchdog`,
      })
    } finally {
      child.kill('SIGKILL')
    }
  })
})

describe('influxd 1.6 behind the v2 write shim', () => {
  let influx: InfluxHandle

  beforeAll(async () => {
    influx = await startInflux()
  })
  afterAll(async () => {
    await influx?.close()
  })

  const writeApi = (options: Partial<WriteOptions> = {}, timeoutMs = 10_000) =>
    new InfluxDB({ url: influx.url, token: 'ignored', timeout: timeoutMs }).getWriteApi('', influx.bucket, 'ms', {
      gzipThreshold: 1,
      maxRetries: 0,
      flushInterval: 0,
      ...options,
    })

  const writeLines = async (lines: string[], options: Partial<WriteOptions> = {}, timeoutMs?: number) => {
    const api = writeApi(options, timeoutMs)
    api.writeRecords(lines)
    try {
      await api.flush()
    } finally {
      api.dispose()
    }
  }

  const writeError = async (lines: string[], timeoutMs?: number): Promise<unknown> => {
    try {
      await writeLines(lines, {}, timeoutMs)
    } catch (err) {
      return err
    }
    throw new Error('write succeeded but a failure was expected')
  }

  it('writes gzipped batches through the shim and reads them back with InfluxQL', async () => {
    const api = writeApi()
    const points = Array.from({ length: 50 }, (_, i) =>
      new Point('pump')
        .tag('farm', 'ranong-01')
        .tag('device', 'pump-01')
        .floatField('flow_lpm', 20 + i / 4)
        .stringField('state', 'running')
        .timestamp(new Date(T0_MS + i * 60_000)),
    )
    api.writePoints(points)
    await api.close()

    const write = influx.shim.log.find((entry) => entry.isWrite)
    expect(write).toMatchObject({ contentEncoding: 'gzip', chunked: true, status: 204 })
    const rows = await influx.queryRows('SELECT flow_lpm, state, device FROM pump ORDER BY time')
    expect(rows).toHaveLength(50)
    expect(rows[0]).toEqual({ time: T0_MS, flow_lpm: 20, state: 'running', device: 'pump-01' })
    expect(rows[49]).toMatchObject({ time: T0_MS + 49 * 60_000, flow_lpm: 32.25 })
    const grouped = await influx.queryRows('SELECT count(flow_lpm) FROM pump GROUP BY farm')
    expect(grouped).toEqual([{ farm: 'ranong-01', time: 0, count: 50 }])
  })

  it('keeps float fields floats: 20 then 20.5 both stored', async () => {
    await writeLines([`soil,farm=f,device=s1 vwc_pct=20 ${T0_MS}`])
    await writeLines([`soil,farm=f,device=s1 vwc_pct=20.5 ${T0_MS + 1000}`])
    expect(await influx.fieldTypes('soil')).toEqual({ vwc_pct: 'float' })
    const rows = await influx.queryRows('SELECT vwc_pct FROM soil')
    expect(rows.map((row) => row.vwc_pct)).toEqual([20, 20.5])
  })

  it('answers 400 for a field type conflict, 404 for a missing database', async () => {
    await writeLines([`tank,farm=f level_cm=120.5 ${T0_MS}`])
    const conflict = await writeError([`tank,farm=f level_cm=5i ${T0_MS + 1000}`])
    expect(conflict).toBeInstanceOf(HttpError)
    expect(conflict).toMatchObject({ statusCode: 400 })
    expect(String((conflict as HttpError).body)).toContain('field type conflict')

    const api = new InfluxDB({ url: influx.url, token: 'x' }).getWriteApi('', 'no_such_db/autogen', 'ms', { maxRetries: 0 })
    api.writeRecord(`tank,farm=f level_cm=1 ${T0_MS}`)
    await expect(api.flush()).rejects.toMatchObject({ statusCode: 404 })
    api.dispose()
  })

  it('maps the v2 precision names to 1.x', async () => {
    const post = (precision: string, line: string) =>
      fetch(`${influx.url}/api/v2/write?org=&bucket=${encodeURIComponent(influx.bucket)}&precision=${precision}`, {
        method: 'POST',
        body: line,
      })
    const seconds = T0_MS / 1000
    expect((await post('s', `prec,unit=s v=1 ${seconds}`)).status).toBe(204)
    expect((await post('ns', `prec,unit=ns v=1 ${T0_MS}000000`)).status).toBe(204)
    expect((await post('us', `prec,unit=us v=1 ${T0_MS}000`)).status).toBe(204)
    const rows = await influx.queryRows('SELECT v, unit FROM prec')
    expect(rows).toHaveLength(3)
    for (const row of rows) expect(row.time).toBe(T0_MS)
  })

  it('simulates 503, 429 (with Retry-After), 500, hang and reset, and counts requests', async () => {
    influx.shim.resetCounters()
    try {
      influx.shim.setMode('down')
      expect(await writeError([`m v=1 ${T0_MS}`])).toMatchObject({ statusCode: 503 })
      influx.shim.setMode('429', { retryAfterS: 7 })
      const limited = await writeError([`m v=1 ${T0_MS}`])
      expect(limited).toMatchObject({ statusCode: 429 })
      expect((limited as HttpError).retryAfter()).toBe(7)
      influx.shim.setMode('500')
      expect(await writeError([`m v=1 ${T0_MS}`])).toMatchObject({ statusCode: 500 })
      influx.shim.setMode('hang')
      expect(await writeError([`m v=1 ${T0_MS}`], 300)).toMatchObject({ name: 'RequestTimedOutError' })
      influx.shim.setMode('reset')
      const reset = await writeError([`m v=1 ${T0_MS}`])
      expect(canRetryHttpCall(reset)).toBe(true)
      expect(influx.shim.writes).toBe(5)
      expect(influx.shim.log.map((entry) => entry.status)).toEqual([503, 429, 500, 0, 0])
      // Nothing reached influxd while the shim was failing.
      expect(await influx.query('SELECT * FROM m')).toEqual([])
    } finally {
      influx.shim.setMode('ok')
    }
    await writeLines([`m v=1 ${T0_MS}`])
    expect(influx.shim.writes).toBe(6)
    expect(await influx.queryRows('SELECT v FROM m')).toEqual([{ time: T0_MS, v: 1 }])
  })

  it('stops and restarts the real influxd on the same port, keeping the data', async () => {
    await writeLines([`restart,farm=f v=1.5 ${T0_MS}`])
    const directUrl = influx.directUrl
    await influx.stopInflux()
    expect(influx.running).toBe(false)
    const whileDown = await writeError([`restart,farm=f v=2.5 ${T0_MS + 1000}`])
    expect(canRetryHttpCall(whileDown)).toBe(true)
    await expect(fetch(`${directUrl}/ping`)).rejects.toThrow()

    await influx.startInflux()
    expect(influx.running).toBe(true)
    await writeLines([`restart,farm=f v=3.5 ${T0_MS + 2000}`])
    // A crash (SIGKILL) keeps acknowledged writes too: influxd fsyncs its WAL before answering.
    await influx.stopInflux({ signal: 'SIGKILL' })
    await influx.startInflux()
    const rows = await influx.queryRows('SELECT v FROM restart')
    expect(rows).toEqual([
      { time: T0_MS, v: 1.5 },
      { time: T0_MS + 2000, v: 3.5 },
    ])
  })

  it('flattens series rows with their tags', () => {
    const rows = seriesToRows([{ name: 'pump', tags: { farm: 'a' }, columns: ['time', 'v'], values: [[1, 2], [3, null]] }])
    expect(rows).toEqual([
      { farm: 'a', time: 1, v: 2 },
      { farm: 'a', time: 3, v: null },
    ])
  })
})

describe('mosquitto clients against the real mosquitto broker', () => {
  let broker: MosquittoBroker

  beforeAll(async () => {
    broker = await startMosquitto({ users: { 'pump-01': 'pw-pump', tech: 'pw-tech' } })
  })
  afterAll(async () => {
    await broker?.close()
  })

  it('publishes, receives retained and live messages with QoS, and reports refused credentials', async () => {
    const creds = { port: broker.port, username: 'pump-01', password: 'pw-pump' }
    const status = '{"online":true,"ts":1,"boot":1,"fw":"1.0.0"}'
    const retained = await mosquittoPub({ ...creds, topic: 'farm/f/pump/pump-01/status', message: status, retain: true, qos: 1 })
    expect(retained).toMatchObject({ code: 0, timedOut: false })

    const tech = { port: broker.port, username: 'tech', password: 'pw-tech' }
    const sub = await mosquittoSub({ ...tech, topics: ['farm/f/#', 'x/y'], qos: 1 })
    try {
      expect(sub.granted).toEqual([1, 1])
      const telemetry = '{"ts":2,"seq":0,"text":"สวนยาง"}'
      expect((await mosquittoPub({ ...creds, topic: 'farm/f/pump/pump-01/telemetry', message: telemetry, qos: 1 })).code).toBe(0)
      expect((await mosquittoPub({ ...creds, topic: 'farm/f/pump/pump-01/event', nullMessage: true })).code).toBe(0)
      const messages = await sub.waitForMessages(3)
      expect(messages).toEqual([
        { topic: 'farm/f/pump/pump-01/status', payload: status, qos: 1, retain: true },
        { topic: 'farm/f/pump/pump-01/telemetry', payload: telemetry, qos: 1, retain: false },
        { topic: 'farm/f/pump/pump-01/event', payload: null, qos: 0, retain: false },
      ])
    } finally {
      await sub.close()
    }

    const refused = await mosquittoPub({ ...creds, password: 'wrong', topic: 'farm/f/pump/pump-01/telemetry', message: 'x' })
    expect(refused.code).toBe(5)
    expect(refused.stderr).toContain('not authorised')
    await expect(mosquittoSub({ ...creds, password: 'wrong', topics: 'farm/#' })).rejects.toThrow(/exited before SUBACK/)
  })
})
