/**
 * Issue 18, backups: `suanyang backup` while the system runs (`suanyang start`, as `npm start`
 * runs it, readings and registry changes arriving during the copy), `suanyang restore` onto a
 * fresh machine (an empty DATA_DIR elsewhere), and the restored system starts with its data:
 * the registry's devices and people, the device's old password, the installation token, and
 * every reading acknowledged before the backup, which the restored spool delivers to a real
 * InfluxDB. Also what a restore must refuse: a cut archive, a path out of DATA_DIR, a DATA_DIR
 * in use.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAll, connectAs, publishOutcome } from '../bench/lib/mqttjs.js'
import { encodeTar } from '../cli/tar.js'
import { type DeviceCredentials, addDevice, makeDataDir, runCli } from './helpers/app.js'
import { freePort } from './helpers/daemon.js'
import { pumpReading } from './helpers/device-stream.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { type ServiceProcess, startServiceProcess } from './helpers/service-process.js'
import { registryStores } from './helpers/registry.js'
import { waitFor } from './helpers/wait-for.js'

const run = promisify(execFile)
const T0 = Date.UTC(2026, 2, 1, 0, 0, 0)
const BEFORE = 60
const SERVICES = ['broker', 'ingest', 'alerts', 'console']

let root: string
let influx: InfluxHandle
let device: DeviceCredentials
const running: ServiceProcess[] = []
const clients: MqttClient[] = []

beforeAll(async () => {
  ;[root, influx] = await Promise.all([makeDataDir(), startInflux()])
}, 60_000)
afterAll(async () => {
  await closeAll(clients)
  await Promise.all(running.map((p) => p.stop()))
  await influx?.close()
  await rm(root, { recursive: true, force: true })
})

async function start(dataDir: string, extra: Record<string, string> = {}): Promise<{ process: ServiceProcess; mqttUrl: string }> {
  const port = await freePort()
  const process = await startServiceProcess(SERVICES, { DATA_DIR: dataDir, MQTT_PORT: String(port), MQTT_WS_PORT: '0', SIM_FARMS: '0', INGEST_FLUSH_MS: '20', ...extra })
  running.push(process)
  return { process, mqttUrl: `mqtt://127.0.0.1:${port}` }
}

const stored = async () => (await influx.queryRows(`SELECT flow_lpm, seq FROM pump WHERE device = '${device.device}'`)).map((r) => Number(r.seq))

describe('backup while running, restore onto a fresh machine', () => {
  const original = () => join(root, 'original')
  const fresh = () => join(root, 'fresh-machine', 'data')
  const archive = () => join(root, 'backups', 'suanyang.tar.gz')
  let acked = 0

  it('backs up while devices publish and the registry changes', async () => {
    await mkdir(original())
    device = await addDevice(original(), 'ranong-01', 'pump', 'ranong-01-pump')
    expect((await runCli(['person', 'add', '--id', 'somchai', '--name', 'Somchai'], { DATA_DIR: original() })).code).toBe(0)
    const { process, mqttUrl } = await start(original())
    const client = await connectAs(mqttUrl, device)
    clients.push(client)
    for (let seq = 0; seq < BEFORE; seq++) {
      expect(await publishOutcome(client, `farm/ranong-01/pump/${device.device}/telemetry`, pumpReading(seq, T0 + seq * 1_000))).toBe('acked')
      acked++
    }
    // During the backup: more readings, and a second device added by another process.
    let publishing = true
    const during = (async () => {
      for (let seq = BEFORE; publishing && seq < BEFORE + 2_000; seq++) await publishOutcome(client, `farm/ranong-01/pump/${device.device}/telemetry`, pumpReading(seq, T0 + seq * 1_000))
    })()
    const [backup] = await Promise.all([runCli(['backup', '--out', archive()], { DATA_DIR: original() }), addDevice(original(), 'ranong-01', 'soil', 'ranong-01-soil-1')])
    publishing = false
    await during
    expect(backup.stderr).toBe('')
    expect(backup.stdout).toMatch(new RegExp(`^wrote ${archive()}: \\d+ files of ${original()} \\(registry snapshot\\), \\d+ bytes\\n$`))
    expect(backup.code).toBe(0)

    // doctor beside the running system: its ports are the running suanyang's, not a fail.
    const doctor = await runCli(['doctor'], { DATA_DIR: original(), HOST: '127.0.0.1', HTTP_PORT: String(process.httpPort), MQTT_PORT: mqttUrl.split(':').at(-1) ?? '', MQTT_WS_PORT: '0', HEALTH_DISK_MIN_FREE_MB: '1' })
    expect(doctor.stdout).toMatch(/^warn {2}port {6}MQTT_PORT \d+ is in use, by the suanyang running here \(broker, ingest, alerts, console\)/m)
    expect(doctor.code).toBe(0)
    // A restore over the running system is refused, --force or not.
    const over = await runCli(['restore', archive(), '--force'], { DATA_DIR: original(), HTTP_PORT: String(process.httpPort) })
    expect(over).toMatchObject({ code: 1, stderr: `suanyang restore: a suanyang is running here (HTTP_PORT ${process.httpPort}: broker, ingest, alerts, console); stop it first\n` })
    await closeAll([client])
    await process.stop()
  }, 60_000)

  it('the archive is a plain .tar.gz: the registry snapshot, spool, credentials, state; no broker store, no SQLite side files', async () => {
    const { stdout } = await run('tar', ['-tzvf', archive()])
    const files = stdout.split('\n').filter(Boolean).map((l) => ({ mode: l.split(/\s+/)[0], path: l.split(/\s+/).at(-1) ?? '' }))
    const paths = files.map((f) => f.path)
    expect(paths).toEqual(expect.arrayContaining(['registry.sqlite', 'credentials/api-token', 'credentials/instance.json', 'spool/ingest-1/seg-0000000001.lp', 'alerts/state.json']))
    expect(paths.filter((p) => /^broker\/|-wal$|-shm$|\.lock$|\.tmp$/.test(p))).toEqual([])
    expect(files.find((f) => f.path === 'credentials/api-token')?.mode).toBe('-rw-------')
    // The spool copy holds whole lines only, and at least every reading acknowledged before the backup.
    await mkdir(join(root, 'peek'))
    await run('tar', ['-xzf', archive(), '-C', join(root, 'peek')])
    const spool = await readFile(join(root, 'peek', 'spool/ingest-1/seg-0000000001.lp'), 'utf8')
    expect(spool.endsWith('\n')).toBe(true)
    const seqs = new Set([...spool.matchAll(/seq=(\d+)i?/g)].map((m) => Number(m[1])))
    for (let seq = 0; seq < acked; seq++) expect(seqs.has(seq), `reading ${seq} in the backup`).toBe(true)
  })

  it('restores onto a fresh machine, which starts with its data: registry, passwords, token, readings', async () => {
    const restored = await runCli(['restore', archive()], { DATA_DIR: fresh(), HTTP_PORT: '0' })
    expect(restored).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(new RegExp(`^restored \\d+ files into ${fresh()}\\n$`)) })
    expect(await readFile(join(fresh(), 'credentials/api-token'), 'utf8')).toBe(await readFile(join(original(), 'credentials/api-token'), 'utf8'))
    expect(((await stat(join(fresh(), 'credentials/api-token'))).mode & 0o777).toString(8)).toBe('600')

    const devices = await runCli(['device', 'list', '--json'], { DATA_DIR: fresh() })
    // The soil probe was added during the backup: in the snapshot or not, but never half of it.
    const ids = (JSON.parse(devices.stdout) as Array<{ device: string }>).map((d) => d.device).sort()
    expect([['ranong-01-pump'], ['ranong-01-pump', 'ranong-01-soil-1']]).toContainEqual(ids)
    const people = await runCli(['person', 'list', '--json'], { DATA_DIR: fresh() })
    expect(people.stdout).toContain('somchai')

    // Started from it, with InfluxDB now: the restored spool delivers what was acknowledged before.
    const { process, mqttUrl } = await start(fresh(), { INFLUX_URL: influx.url, INFLUX_BUCKET: influx.bucket, INFLUX_TOKEN: 'test' })
    await waitFor(async () => (await stored()).filter((s) => s < BEFORE).length >= BEFORE, { timeoutMs: 30_000, message: `the ${BEFORE} readings from before the backup in InfluxDB` })
    expect(new Set((await stored()).filter((s) => s < BEFORE))).toEqual(new Set(Array.from({ length: BEFORE }, (_, i) => i)))
    // The device logs in with the password it always had; ingest subscribed again (no broker store was restored).
    const client = await connectAs(mqttUrl, device)
    clients.push(client)
    expect(await publishOutcome(client, `farm/ranong-01/pump/${device.device}/telemetry`, pumpReading(9_999, T0 + 9_999_000))).toBe('acked')
    await waitFor(async () => (await stored()).includes(9_999), { timeoutMs: 20_000, message: 'a reading published after the restore stored' })
    // The installation token still signs in.
    const token = (await readFile(join(fresh(), 'credentials/api-token'), 'utf8')).trim()
    expect((await fetch(`http://127.0.0.1:${process.httpPort}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    await closeAll([client])
    await process.stop()
  }, 90_000)

  it('refuses a DATA_DIR that is not empty unless --force, which moves it aside', async () => {
    const refused = await runCli(['restore', archive()], { DATA_DIR: fresh(), HTTP_PORT: '0' })
    expect(refused).toMatchObject({ code: 1, stdout: '', stderr: `suanyang restore: DATA_DIR ${fresh()} is not empty; stop suanyang and add --force to move it aside first\n` })
    await writeFile(join(fresh(), 'marker'), 'kept aside')
    const forced = await runCli(['restore', archive(), '--force'], { DATA_DIR: fresh(), HTTP_PORT: '0' })
    expect(forced.code).toBe(0)
    const aside = (await readdir(join(root, 'fresh-machine'))).filter((n) => n.startsWith('data.before-restore-'))
    expect(aside).toHaveLength(1)
    expect(await readFile(join(root, 'fresh-machine', aside[0] ?? '', 'marker'), 'utf8')).toBe('kept aside')
    expect(await stat(join(fresh(), 'marker')).catch(() => undefined)).toBeUndefined()
  })
})

describe('restore refuses what is not a whole suanyang backup, and changes nothing', () => {
  const target = () => join(root, 'untouched')
  const restore = (file: string) => runCli(['restore', file], { DATA_DIR: target(), HTTP_PORT: '0' })

  it('a cut archive, a file that is not gzip, a path out of DATA_DIR, a missing file: one line each', async () => {
    const whole = await readFile(join(root, 'backups', 'suanyang.tar.gz'))
    const cut = join(root, 'cut.tar.gz')
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)))
    const text = join(root, 'notes.txt')
    await writeFile(text, 'not a backup')
    const evil = join(root, 'evil.tar.gz')
    await writeFile(evil, gzipSync(encodeTar([{ path: 'credentials', type: 'dir', mode: 0o700, mtimeMs: 0 }, { path: 'credentials/../../escaped', type: 'file', mode: 0o600, mtimeMs: 0, data: Buffer.from('x') }])))
    const results = await Promise.all([restore(cut), restore(text), restore(evil), restore(join(root, 'nope.tar.gz'))])
    for (const r of results) {
      expect(r.code).toBe(1)
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(r.stderr).not.toMatch(/^\s+at /m)
    }
    // Whether gunzip or the tar reader notices first depends on where the cut falls.
    expect(results[0]?.stderr).toMatch(/^suanyang restore: \S*cut\.tar\.gz(: \S+: the archive ends early \(cut short\?\)| is not a suanyang backup \(\.tar\.gz\): unexpected end of file)\n$/)
    expect(results[1]?.stderr).toMatch(/^suanyang restore: .*notes\.txt is not a suanyang backup \(\.tar\.gz\)/)
    expect(results[2]?.stderr).toBe(`suanyang restore: ${evil}: refused path "credentials/../../escaped": it would leave DATA_DIR\n`)
    expect(results[3]?.stderr).toBe(`suanyang restore: ${join(root, 'nope.tar.gz')} does not exist; check the path (DATA_DIR and the options given)\n`)
    expect(await stat(target()).catch(() => undefined)).toBeUndefined()
    expect(await stat(join(root, 'escaped')).catch(() => undefined)).toBeUndefined()
  })
})

describe('a PostgreSQL registry (DATABASE_URL)', () => {
  const stores = registryStores()
  afterAll(() => stores.close())

  it('is in the backup by pg_dump, and restored by pg_restore into an empty database only', async () => {
    const from = await stores.fresh('postgres')
    await addDevice(from.dataDir, 'krabi-01', 'pump', 'krabi-01-pump', from.env)
    const file = join(root, 'pg.tar.gz')
    const backup = await runCli(['backup', '--out', file], from.env)
    expect(backup).toMatchObject({ code: 0, stderr: '', stdout: expect.stringContaining('(PostgreSQL registry by pg_dump)') })
    expect((await run('tar', ['-tzf', file])).stdout.split('\n')).toContain('registry.pgdump')

    const to = await stores.fresh('postgres')
    const fresh = join(root, 'pg-fresh', 'data')
    const restored = await runCli(['restore', file], { DATA_DIR: fresh, DATABASE_URL: to.databaseUrl ?? '', HTTP_PORT: '0' })
    expect(restored).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/\nrestored the PostgreSQL registry into postgres:\/\//) })
    const devices = await runCli(['device', 'list', '--json'], { DATA_DIR: fresh, DATABASE_URL: to.databaseUrl ?? '' })
    expect((JSON.parse(devices.stdout) as Array<{ device: string }>).map((d) => d.device)).toEqual(['krabi-01-pump'])
    expect(await stat(join(fresh, 'registry.pgdump')).catch(() => undefined)).toBeUndefined()

    // Over a database that has a registry: left as it is, and the command to do it by hand.
    const again = await runCli(['restore', file], { DATA_DIR: join(root, 'pg-again'), DATABASE_URL: from.databaseUrl ?? '', HTTP_PORT: '0' })
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/^suanyang restore: postgres:\/\/\S+ already holds a registry, left as it is; to replace it, empty it and run: pg_restore --no-owner -d "\$DATABASE_URL" \S+registry\.pgdump\n$/)
  }, 60_000)
})
