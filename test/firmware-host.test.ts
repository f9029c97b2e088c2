/**
 * Issue 19: the firmware core, built for the host with Debian's g++ and cmake, against the
 * project's real broker, ingest and InfluxDB. Each device is suanyang-host-device (the same C++
 * core as on the ESP32, libmosquitto underneath, fake sensors, a flash file, an accelerated
 * clock) registered with `suanyang device add`.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { connectAsync } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MIN_TS_MS } from '../contracts/payloads.js'
import { openOwnAccountStore } from '../registry/accounts-source.js'
import { ROOT, addDevice, runCli } from './helpers/app.js'
import { type FirmwareBuild, buildFirmwareHost } from './helpers/firmware-build.js'
import { type HostDevice, type HostDeviceOptions, type StoredLine, startHostDevice } from './helpers/host-device.js'
import { type Schema, validate } from './helpers/json-schema.js'
import { cleanups, setup } from './helpers/pipeline.js'
import { type ServiceProcess, startServiceProcess } from './helpers/service-process.js'
import { waitFor } from './helpers/wait-for.js'

const run = promisify(execFile)
let fw: FirmwareBuild
let s: Awaited<ReturnType<typeof setup>>
let work: string
const devices: HostDevice[] = []

beforeAll(async () => {
  ;[fw, s] = await Promise.all([buildFirmwareHost(), setup({ brokerInProcess: false })])
  work = await mkdtemp(join(tmpdir(), 'suanyang-fw-'))
}, 600_000)

afterAll(async () => {
  for (const d of devices.splice(0)) await d.stop('SIGKILL').catch(() => {})
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {})
  await rm(work, { recursive: true, force: true })
})

const url = () => `mqtt://127.0.0.1:${s.mqttPort}`
const TOKEN = 'fw-technician-token'
let alerts: ServiceProcess | undefined

/** The alert service in its own process, for `suanyang alerts cmd` (started on first use). */
async function alertsCmd(cmd: 'stop' | 'start' | 'reset', device: string) {
  if (!alerts) {
    const env = { DATA_DIR: s.dataDir, MQTT_URL: url(), ALERTS_API_TOKEN: TOKEN, ALERTS_DIGEST_CRON: 'off', ALERTS_REMINDER_CRON: 'off' }
    const started = await startServiceProcess(['alerts'], env, 'alerts')
    cleanups.push(() => started.stop())
    alerts = started
  }
  const args = ['alerts', 'cmd', cmd, '--farm', 'fw-farm', '--device', device, '--by', 'somsak', '--url', `http://127.0.0.1:${alerts.httpPort}`, '--json']
  const r = await runCli(args, { ALERTS_API_TOKEN: TOKEN })
  return { code: r.code, json: JSON.parse(r.stdout || '{}') as { command?: { cmd: string; ack?: { ok: boolean; error?: string } } }, stderr: r.stderr }
}

const events = async (id: string) =>
  (await s.influx.queryRows(`SELECT type, fault, detail FROM device_event WHERE device = '${id}'`)).map((r) => ({
    ts: Number(r.time),
    type: String(r.type),
    fault: String(r.fault),
    detail: String(r.detail),
  }))

async function device(kind: HostDeviceOptions['kind'], id: string, opts: Partial<HostDeviceOptions> = {}) {
  const creds = await addDevice(s.dataDir, 'fw-farm', kind, id)
  const base: HostDeviceOptions = { url: url(), farm: 'fw-farm', kind, id, password: creds.password, data: join(work, `${id}.flash`), ...opts }
  const start = (label = id) => {
    const d = startHostDevice(fw, base, label)
    devices.push(d)
    return d
  }
  return { base, start }
}

/** The time probe's field and period (firmware/test/host/fake_plant.h). */
const PROBE = { pump: ['pressure_bar', 10_000], soil: ['battery_v', 5_000], waterbank: ['battery_v', 5_000] } as const

/** Telemetry rows of one device in InfluxDB: time (the device's ts), boot, seq, time probe. */
async function rowsOf(kind: keyof typeof PROBE, id: string) {
  const rows = await s.influx.queryRows(`SELECT boot, seq, ${PROBE[kind][0]} AS probe FROM ${kind} WHERE device = '${id}'`)
  return rows.map((r) => ({ ts: Number(r.time), boot: Number(r.boot), seq: Number(r.seq), probe: Number(r.probe) }))
}

const key = (r: { boot: number; seq: number }) => `${r.boot}:${r.seq}`

/**
 * Every stored reading is in InfluxDB exactly once, with its ts, and every ts is the true time
 * its sensors were read, as the fake sensor itself reported it (to the second): whether the
 * reading was taken before the clock synced (held, stamped at sync) or after.
 */
function expectStoredOnce(kind: keyof typeof PROBE, stored: StoredLine[], rows: Awaited<ReturnType<typeof rowsOf>>) {
  const byKey = new Map(rows.map((r) => [key(r), r]))
  expect(byKey.size).toBe(rows.length) // no (boot, seq) twice
  expect(new Set(rows.map((r) => r.ts)).size).toBe(rows.length)
  for (const line of stored) {
    const row = byKey.get(key(line))
    expect(row, `reading ${key(line)} in InfluxDB`).toBeDefined()
    expect(row?.ts).toBe(line.ts)
  }
  const period = PROBE[kind][1]
  for (const row of rows) {
    expect(row.ts).toBeGreaterThanOrEqual(MIN_TS_MS)
    const d = (((Math.round(row.ts / 1000) - Math.round(row.probe * 1000)) % period) + period) % period
    expect(Math.min(d, period - d), `ts of ${key(row)} against the time its sensor was read`).toBeLessThanOrEqual(1)
  }
}

describe('firmware core on the host', () => {
  it('passes its unit tests, links no allocator, includes no Arduino or ESP-IDF header', async () => {
    const { stdout } = await run(fw.coreTests, [], { timeout: 120_000 })
    expect(stdout).toMatch(/\n\d+ tests, 0 failed checks\n$/)
    const { stdout: undefinedSymbols } = await run('nm', ['-C', '-u', fw.coreLibrary])
    expect(undefinedSymbols).not.toMatch(/operator new|operator delete|\bmalloc\b|\bcalloc\b|\brealloc\b/)
    const core = join(ROOT, 'firmware/core')
    for (const file of await readdir(core)) {
      const text = await readFile(join(core, file), 'utf8')
      const includes = [...text.matchAll(/#include\s*[<"]([^>"]+)[>"]/g)].map((m) => m[1] as string)
      // The C++ standard library and the core's own headers only.
      for (const inc of includes) expect(inc, `${file} includes ${inc}`).toMatch(/^(c[a-z]+|[a-z_]+\.h)$/)
      for (const inc of includes.filter((i) => i.endsWith('.h'))) expect(existsSync(join(core, inc)), `${file} includes ${inc}`).toBe(true)
    }
  })

  it("writes every payload kind as npm run schema's JSON Schema says", async () => {
    const out = join(work, 'schema')
    const r = await runCli(['schema', '--out', out], {})
    expect(r.code).toBe(0)
    const schema = async (name: string) => JSON.parse(await readFile(join(out, `${name}.schema.json`), 'utf8')) as Schema
    const schemas: Record<string, Schema> = {}
    for (const name of ['pump-telemetry', 'soil-telemetry', 'waterbank-telemetry', 'status', 'event', 'cmd-ack']) schemas[name] = await schema(name)
    const { stdout } = await run(fw.device, ['--print-samples'], { maxBuffer: 64 * 1024 * 1024 })
    const seen: Record<string, number> = {}
    const failures: string[] = []
    for (const line of stdout.trim().split('\n')) {
      const { topic, payload } = JSON.parse(line) as { topic: string; payload: string }
      const [, , kind, , ...channel] = topic.replace(/^will:/, '').split('/')
      const ch = channel.join('/')
      const name = ch === 'telemetry' ? `${kind}-telemetry` : ch === 'cmd/ack' ? 'cmd-ack' : ch
      seen[name] = (seen[name] ?? 0) + 1
      const errors = validate(schemas[name] as Schema, JSON.parse(payload))
      if (errors.length > 0) failures.push(`${topic} ${payload}: ${errors.join('; ')}`)
    }
    expect(failures).toEqual([])
    for (const name of Object.keys(schemas)) expect(seen[name], name).toBeGreaterThan(0)
    // The validator can say no: the same payloads broken as firmware bugs would break them.
    expect(validate(schemas['pump-telemetry'] as Schema, { ts: 0, seq: 0, boot: 1 }).length).toBeGreaterThan(0)
    expect(validate(schemas.status as Schema, { online: true, ts: 1_577_836_799_999 })).toEqual(['$.ts: 1577836799999 < minimum 1577836800000'])
    expect(validate(schemas['cmd-ack'] as Schema, { id: 'x'.repeat(65), ok: true })).toEqual(['$.id: length 65 > maxLength 64'])
  })

  it('readings of a pump, a soil probe and a water bank land in InfluxDB once each, none refused', async () => {
    // 60x: a minute of device time a second. SNTP answers 20 s into the boot, so the first
    // readings of each device are taken before the clock is synced.
    const origin = Date.now()
    const clock = { speed: 60, epochAtOriginMs: origin - 3_600_000, originRealMs: origin, syncAfterMs: 20_000, timeProbe: true }
    const pump = await device('pump', 'fw-pump-1', { ...clock, sunWm2: 900 })
    const soil = await device('soil', 'fw-soil-1', { ...clock, intervalS: 60 })
    const bank = await device('waterbank', 'fw-bank-1', { ...clock, intervalS: 60 })
    const running = [pump.start(), soil.start(), bank.start()]
    await waitFor(() => running.every((d) => d.stored('telemetry').length >= 6), { timeoutMs: 30_000, message: 'six readings each' })
    for (const d of running) await d.stop('SIGTERM')
    const kinds = ['pump', 'soil', 'waterbank'] as const
    for (const [i, d] of running.entries()) {
      const id = [pump, soil, bank][i]?.base.id as string
      const stored = d.stored('telemetry')
      const kind = kinds[i] as (typeof kinds)[number]
      await waitFor(async () => (await rowsOf(kind, id)).length >= stored.length, { timeoutMs: 20_000, message: `${id}: ${stored.length} rows` })
      const rows = await rowsOf(kind, id)
      expect(rows.length).toBe(stored.length)
      expectStoredOnce(kind, stored, rows)
      expect(stored.some((l) => l.held)).toBe(true)
      expect(rows.map((r) => r.seq).sort((a, b) => a - b)).toEqual(stored.map((_, k) => k))
    }
    expect(await s.ingest.current.metric('ingest_rejected_total')).toBe(0)
    const dead = await runCli(['deadletter', 'count', '--json'], { DATA_DIR: s.dataDir })
    expect(JSON.parse(dead.stdout)).toEqual({})
    // Birth and Last Will: the retained status says online, then offline after the clean stop.
    const status = await s.influx.queryRows(`SELECT online, boot FROM device_status WHERE device = 'fw-pump-1'`)
    expect(status.map((r) => r.online)).toEqual([1, 0])
    const boot = await s.influx.queryRows(`SELECT type, detail FROM device_event WHERE device = 'fw-soil-1'`)
    expect(boot).toMatchObject([{ type: 'boot', detail: 'boot 1, fw sy-host-1.0.0' }])
  }, 90_000)

  it('a device provisioned from `suanyang device add --firmware json` joins with that identity and its readings are stored', async () => {
    const add = await runCli(
      ['device', 'add', '--farm', 'fw-farm', '--kind', 'waterbank', '--id', 'fw-bank-prov', '--firmware', 'json', '--broker', url(), '--wifi-ssid', 'lab'],
      { DATA_DIR: s.dataDir },
    )
    expect(add.code, add.stderr).toBe(0)
    const file = join(work, 'fw-bank-prov.json')
    await writeFile(file, add.stdout)
    const origin = Date.now()
    const d = startHostDevice(fw, { url: '', farm: '', kind: 'waterbank', id: '', password: '', provision: file, data: join(work, 'fw-bank-prov.flash'), speed: 60, epochAtOriginMs: origin - 600_000, originRealMs: origin, intervalS: 60 }, 'fw-bank-prov')
    devices.push(d)
    await waitFor(() => d.stored('telemetry').length >= 3, { timeoutMs: 30_000, message: 'three readings' })
    await d.stop('SIGTERM')
    expect(d.lines[0]).toMatchObject({ ev: 'provision', ok: true })
    const stored = d.stored('telemetry')
    await waitFor(async () => (await rowsOf('waterbank', 'fw-bank-prov')).length >= stored.length, { timeoutMs: 20_000, message: 'rows' })
    expect((await rowsOf('waterbank', 'fw-bank-prov')).map((r) => r.seq).sort((a, b) => a - b)).toEqual(stored.map((_, k) => k))
  }, 60_000)

  it('broker down for 10 device-minutes, the device SIGKILLed and restarted meanwhile: every reading stored once at its original time', async () => {
    // 120x: the 10-minute outage takes 5 real seconds, a pump reading every 5 s of device time.
    // The restarted process syncs its clock 30 device-seconds after boot, so its first readings
    // are held and stamped at sync, while the broker is still down.
    const origin = Date.now()
    const clock = { speed: 120, epochAtOriginMs: origin - 3 * 3_600_000, originRealMs: origin, syncAfterMs: 30_000, sunWm2: 900, timeProbe: true }
    const trueAt = (realMs: number) => clock.epochAtOriginMs + (realMs - origin) * clock.speed
    const id = 'fw-pump-outage'
    const pump = await device('pump', id, clock)
    const first = pump.start(`${id}-boot1`)
    await waitFor(async () => (await rowsOf('pump', id)).length >= 10, { timeoutMs: 20_000, message: '10 readings stored before the outage' })
    // Ingest goes first: the broker then acknowledges a reading only once it is on its disk, up
    // to 200 ms later (broker/durable-ack.ts), so the readings of the last moment are in flight
    // when the broker is killed. The device must send those again: nothing is deleted from its
    // flash before its PUBACK.
    await s.ingest.current.stop('SIGKILL')
    const before = first.stored('telemetry').length
    await waitFor(() => first.stored('telemetry').length >= before + 3, { message: 'readings while ingest is away' })
    await (s.broker as ServiceProcess).stop('SIGKILL')
    const downAt = Date.now()
    await waitFor(() => first.lines.some((l) => l.ev === 'link' && l.what === 'connection lost'), { message: 'the device to see the broker go' })
    // Half the outage on the first boot, then a power cut; the rest on the second boot.
    await waitFor(() => first.stored('telemetry').some((l) => l.true_ms >= trueAt(downAt) + 300_000), { timeoutMs: 20_000, message: '5 device-minutes offline' })
    await first.stop('SIGKILL')
    const second = pump.start(`${id}-boot2`)
    await waitFor(() => second.stored('telemetry').some((l) => l.true_ms >= trueAt(downAt) + 600_000), { timeoutMs: 20_000, message: '10 device-minutes offline' })
    const upAt = Date.now()
    const broker = await startServiceProcess(['broker'], s.brokerEnv, 'broker-2')
    s.broker = broker
    cleanups.push(() => broker.stop())
    s.ingest.current = await startServiceProcess(['ingest'], s.ingestEnv, 'ingest-2')
    expect((upAt - downAt) * clock.speed).toBeGreaterThanOrEqual(600_000)
    await waitFor(() => second.lines.some((l) => l.ev === 'link' && l.what === 'connected'), { timeoutMs: 30_000, message: 'the device back on the broker' })
    // The device keeps taking readings: wait until InfluxDB holds as many as it has stored
    // (delivery is far faster than a reading every 5 s), and judge the readings stored by then.
    let stored: StoredLine[] = []
    await waitFor(
      async () => {
        stored = [...first.stored('telemetry'), ...second.stored('telemetry')]
        return (await rowsOf('pump', id)).length >= stored.length
      },
      { timeoutMs: 30_000, message: 'every reading of both boots in InfluxDB' },
    )
    await second.stop('SIGKILL')
    const rows = await rowsOf('pump', id)
    expectStoredOnce('pump', stored, rows)
    // Rows beyond those: readings taken after that moment, and at most one committed to flash in
    // the instant before the first kill, before its log line (the next seq of the first boot).
    const extra = rows.filter((r) => !stored.some((l) => key(l) === key(r)))
    const lastSeq = (boot: number) => Math.max(...stored.filter((l) => l.boot === boot).map((l) => l.seq))
    expect(extra.filter((r) => r.boot === 1).map((r) => r.seq)).toEqual(extra.some((r) => r.boot === 1) ? [lastSeq(1) + 1] : [])
    expect(extra.every((r) => r.boot === 1 || (r.boot === 2 && r.seq > lastSeq(2)))).toBe(true)
    expect(new Set(stored.map((l) => l.boot))).toEqual(new Set([1, 2]))
    // Taken while the broker was down, on both boots, and before the second boot's clock synced.
    const offline = stored.filter((l) => l.ts > trueAt(downAt) && l.ts < trueAt(upAt))
    expect(offline.filter((l) => l.boot === 1).length).toBeGreaterThan(30)
    expect(offline.filter((l) => l.boot === 2 && l.held).length).toBeGreaterThan(2)
    // Reconnects backed off to the 60 s cap with jitter 0.5-1.5x.
    const delays = [...first.lines, ...second.lines].filter((l) => l.ev === 'link' && l.what === 'connect failed').map((l) => Number(l.detail_ms))
    expect(Math.max(...delays)).toBeGreaterThanOrEqual(30_000)
    expect(Math.max(...delays)).toBeLessThan(90_000)
    expect(await s.ingest.current.metric('ingest_rejected_total')).toBe(0)
    expect(first.lines.find((l) => l.ev === 'boot')).toMatchObject({ boot: 1, pending: 0 })
    expect(Number(second.lines.find((l) => l.ev === 'boot')?.pending)).toBeGreaterThan(30) // the first boot's backlog, from flash
  }, 120_000)

  it('answers commands from suanyang alerts cmd and from an operator on cmd/ack', async () => {
    const id = 'fw-pump-cmd'
    const pump = await device('pump', id, { sunWm2: 900 })
    const d = pump.start()
    await waitFor(() => d.lines.some((l) => l.ev === 'link' && l.what === 'connected'), { timeoutMs: 20_000, message: 'connected' })
    for (const cmd of ['stop', 'start', 'reset'] as const) {
      const r = await alertsCmd(cmd, id)
      expect(r, r.stderr).toMatchObject({ code: 0, json: { command: { cmd, ack: { ok: true } } } })
    }
    expect(d.lines.filter((l) => l.ev === 'cmd').map((l) => l.ok)).toEqual([true, true, true])
    await waitFor(async () => (await events(id)).some((e) => e.detail.endsWith('-> off: stop command')), { message: 'the stop in the event log' })
    // set_interval and reboot, which `alerts cmd` does not send, from an operator account.
    const store = await openOwnAccountStore({ dataDir: s.dataDir })
    const op = await store.setUser('fw-tech', 'operator')
    await store.close()
    const client = await connectAsync(url(), { username: op.username, password: op.password, clientId: 'fw-tech_cli', clean: true, reconnectPeriod: 0 })
    cleanups.push(() => client.endAsync())
    const acks: Array<{ id: string; ok: boolean; error?: string }> = []
    client.on('message', (_topic, payload) => acks.push(JSON.parse(payload.toString()) as (typeof acks)[number]))
    await client.subscribeAsync(`farm/fw-farm/pump/${id}/cmd/ack`, { qos: 1 })
    const send = (body: object) => client.publishAsync(`farm/fw-farm/pump/${id}/cmd`, JSON.stringify(body), { qos: 1 })
    await send({ id: 'op-1', cmd: 'set_interval', args: { seconds: 10, idle_seconds: 30 } })
    await send({ id: 'op-2', cmd: 'set_interval', args: { seconds: 0 } })
    await send({ id: 'op-1', cmd: 'set_interval', args: { seconds: 99 } }) // a redelivery: answered again, not run
    await send({ id: 'op-3', cmd: 'reboot' })
    await waitFor(() => acks.length >= 4, { message: 'four acks' })
    expect(acks).toEqual([
      { id: 'op-1', ok: true },
      { id: 'op-2', ok: false, error: 'args.seconds must be an integer from 1 to 86400' },
      { id: 'op-1', ok: true },
      { id: 'op-3', ok: true },
    ])
    await waitFor(() => d.lines.some((l) => l.ev === 'boot' && l.boot === 2), { timeoutMs: 20_000, message: 'the second boot' })
    await waitFor(async () => (await s.influx.queryRows(`SELECT online, boot FROM device_status WHERE device = '${id}' AND boot = 2`)).length > 0, {
      message: 'the birth of boot 2',
    })
    const nvs = await readFile(`${pump.base.data}.nvs`, 'utf8')
    expect(nvs).toContain('interval_s=10\n')
    expect(nvs).not.toContain('interval_s=99')
  }, 90_000)

  it('a dry run on the fake sensors trips, retries after 15, 30 and 60 min and latches on the 8th until reset (FAULTS.md)', async () => {
    // 4800x, from 06:00 local time (UTC+7) yesterday: the six hours of the sequence in one day.
    const dayMs = 86_400_000
    const tzMs = 7 * 3_600_000
    const epochAtOriginMs = (Math.floor((Date.now() + tzMs) / dayMs) - 1) * dayMs - tzMs + 6 * 3_600_000
    const faults = join(work, 'dry.faults')
    await writeFile(faults, 'dry_run\n')
    const id = 'fw-pump-dry'
    const pump = await device('pump', id, { speed: 4800, epochAtOriginMs, originRealMs: Date.now(), sunWm2: 900, idleIntervalS: 600, faultsFile: faults })
    pump.start()
    const latched = await waitFor(
      async () => {
        const e = await events(id)
        return e.some((x) => x.detail === 'dry run: retries exhausted, reset needed') && e
      },
      { timeoutMs: 40_000, message: 'the dry-run latch' },
    )
    const trips = latched.filter((e) => e.type === 'fault')
    const retries = latched.filter((e) => e.type === 'fault_cleared')
    expect(trips.map((e) => e.fault)).toEqual(Array(8).fill('DRY_RUN'))
    expect(trips.map((e) => e.detail)).toEqual([15, 30, 60, 60, 60, 60, 60].map((m) => `dry run: retry in ${m} min`).concat('dry run: retries exhausted, reset needed'))
    expect(retries.map((e) => e.detail)).toEqual(Array(7).fill('dry-run back-off over'))
    const minutes = (ms: number) => Math.round(ms / 60_000)
    expect(retries.map((e, i) => minutes(e.ts - (trips[i] as (typeof trips)[number]).ts))).toEqual([15, 30, 60, 60, 60, 60, 60])
    // Each retry runs 45 s at full speed with no flow before it trips again.
    const start = latched.find((e) => e.detail === 'idle -> running: start') as (typeof latched)[number]
    const runs = [trips[0]!.ts - start.ts, ...retries.map((e, i) => trips[i + 1]!.ts - e.ts)]
    for (const ms of runs) expect(Math.abs(ms - 45_000)).toBeLessThanOrEqual(1_100)
    // Latched: no retry for two more hours, the readings say so.
    const latchTs = trips[7]!.ts
    await waitFor(async () => (await s.influx.queryRows(`SELECT state FROM pump WHERE device = '${id}' AND time >= ${latchTs + 2 * 3_600_000}ms`)).length > 0, {
      timeoutMs: 20_000,
      message: 'two hours after the latch',
    })
    expect((await events(id)).filter((e) => e.type === 'fault').length).toBe(8)
    const after = await s.influx.queryRows(`SELECT state, fault, flow_lpm FROM pump WHERE device = '${id}' AND time > ${latchTs + 2_000}ms`)
    expect(new Set(after.map((r) => `${String(r.state)} ${String(r.fault)}`))).toEqual(new Set(['fault DRY_RUN']))
    // Water back, and a technician's reset: the pump runs and pumps again.
    await writeFile(faults, '')
    const r = await alertsCmd('reset', id)
    expect(r, r.stderr).toMatchObject({ code: 0, json: { command: { cmd: 'reset', ack: { ok: true } } } })
    const reset = await waitFor(async () => (await events(id)).find((e) => e.type === 'fault_cleared' && e.detail === 'reset command'), { message: 'the reset event' })
    await waitFor(
      async () => (await s.influx.queryRows(`SELECT state, flow_lpm FROM pump WHERE device = '${id}' AND time > ${reset.ts}ms`)).some((row) => row.state === 'running' && Number(row.flow_lpm) > 30),
      { timeoutMs: 20_000, message: 'pumping again after the reset' },
    )
  }, 120_000)
})
