/**
 * Issue 18: `suanyang doctor` checks the machine a volunteer installs on, one line per check,
 * exit 1 on a fail. Against a real influxd (Debian's 1.6.7, which the writer cannot use: doctor
 * must say so), a 2.x stand-in for the version, token and bucket answers, the LINE stand-in
 * (alerts/testing/line-stub.ts) for the token, real ports and a real registry file.
 */
import { MIGRATIONS } from '../registry/migrations/index.js'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { type Server as HttpServer, createServer as createHttpServer } from 'node:http'
import { type Server, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LineStub } from '../alerts/testing/line-stub.js'
import { type CliResult, addDevice, runCli } from './helpers/app.js'
import { freePort } from './helpers/daemon.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'

type Check = { check: string; status: 'ok' | 'warn' | 'fail'; text: string }

let dir: string
let influx: InfluxHandle
let line: LineStub
let influx2: HttpServer
let influx2Url: string
const LINE_TOKEN = 'line-channel-token'
const INFLUX2_TOKEN = 'write-token'

/** A stand-in for InfluxDB 2.7's /ping and /api/v2/buckets answers (the machine has only 1.6.7). */
function startInflux2(): Promise<HttpServer> {
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/ping') return void res.writeHead(204, { 'x-influxdb-version': 'v2.7.10', 'x-influxdb-build': 'OSS' }).end()
    if (url.pathname !== '/api/v2/buckets') return void res.writeHead(404).end()
    if (req.headers.authorization !== `Token ${INFLUX2_TOKEN}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"unauthorized","message":"unauthorized access"}')
    const name = url.searchParams.get('name')
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ buckets: name === 'suanyang' ? [{ name }] : [] }))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'suanyang-doctor-'))
  ;[influx, line, influx2] = await Promise.all([startInflux(), new LineStub(LINE_TOKEN).start(), startInflux2()])
  influx2Url = `http://127.0.0.1:${(influx2.address() as { port: number }).port}`
}, 60_000)
afterAll(async () => {
  await Promise.all([influx?.close(), line?.close(), new Promise((r) => influx2?.close(r))])
  await rm(dir, { recursive: true, force: true })
})

/** Free ports for every listener, so the machine's own 1883/8080 do not decide the result. */
async function env(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const [mqtt, ws, http] = await Promise.all([freePort(), freePort(), freePort()])
  return { DATA_DIR: join(dir, 'data'), HOST: '127.0.0.1', MQTT_PORT: String(mqtt), MQTT_WS_PORT: String(ws), HTTP_PORT: String(http), HEALTH_DISK_MIN_FREE_MB: '1', ...extra }
}

async function doctor(extra: Record<string, string> = {}): Promise<{ r: CliResult; checks: Check[]; of: (name: string) => Check[] }> {
  const r = await runCli(['doctor', '--json'], await env(extra))
  const checks = JSON.parse(r.stdout) as Check[]
  return { r, checks, of: (name) => checks.filter((c) => c.check === name) }
}

describe('suanyang doctor', () => {
  it('a machine that is fine: one line per check, no fail, exit 0', async () => {
    const r = await runCli(['doctor'], await env({ INFLUX_URL: influx2Url, INFLUX_TOKEN: INFLUX2_TOKEN }))
    expect(r.stderr).toBe('')
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['ok node', 'ok config', 'ok port', 'ok port', 'ok port', 'ok influxdb', 'ok line', 'ok disk', 'ok registry'])
    expect(r.code).toBe(0)
  })

  it("Debian's influxd 1.6.7 (real): a fail that says the writer cannot use it and what to install", async () => {
    const { r, of } = await doctor({ INFLUX_URL: influx.directUrl })
    expect(of('influxdb')).toEqual([{ check: 'influxdb', status: 'fail', text: expect.stringMatching(/InfluxDB 1\.6\.7\S* is too old: the writer needs \/api\/v2\/write \(2\.x, or 1\.8\+\).*install InfluxDB 2\.7/) }])
    expect(r.code).toBe(1)
  })

  it('InfluxDB 2.x: says 2.x works, and checks the token and the bucket the writer will use', async () => {
    expect((await doctor({ INFLUX_URL: influx2Url, INFLUX_TOKEN: INFLUX2_TOKEN })).of('influxdb')[0]).toEqual({
      check: 'influxdb',
      status: 'ok',
      text: `${influx2Url}: InfluxDB v2.7.10 (2.x and 3.x work: INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET); bucket suanyang found`,
    })
    expect((await doctor({ INFLUX_URL: influx2Url, INFLUX_TOKEN: 'wrong' })).of('influxdb')[0]).toMatchObject({ status: 'fail', text: expect.stringContaining('INFLUX_TOKEN is refused (401)') })
    expect((await doctor({ INFLUX_URL: influx2Url, INFLUX_TOKEN: INFLUX2_TOKEN, INFLUX_BUCKET: 'nope' })).of('influxdb')[0]).toMatchObject({ status: 'fail', text: expect.stringContaining('bucket nope does not exist') })
  })

  it('InfluxDB unreachable, or INFLUX_URL unset', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const down = await doctor({ INFLUX_URL: closed })
    expect(down.of('influxdb')[0]).toEqual({ check: 'influxdb', status: 'fail', text: `cannot reach INFLUX_URL ${closed} (ECONNREFUSED); is InfluxDB running there?` })
    expect(down.r.code).toBe(1)
    expect((await doctor()).of('influxdb')[0]).toMatchObject({ status: 'warn', text: expect.stringContaining('INFLUX_URL is not set') })
  })

  it('the LINE token, checked against LINE_API_BASE_URL', async () => {
    expect((await doctor({ LINE_CHANNEL_ACCESS_TOKEN: LINE_TOKEN, LINE_API_BASE_URL: line.url })).of('line')[0]).toEqual({ check: 'line', status: 'ok', text: 'LINE token valid (bot Suanyang test bot, @suanyang)' })
    const wrong = await doctor({ LINE_CHANNEL_ACCESS_TOKEN: 'expired', LINE_API_BASE_URL: line.url })
    expect(wrong.of('line')[0]).toMatchObject({ status: 'fail', text: expect.stringMatching(/^LINE refuses LINE_CHANNEL_ACCESS_TOKEN \(401\): issue a new channel access token/) })
    expect(wrong.r.code).toBe(1)
  })

  it('a port in use by another program: a fail naming the variable', async () => {
    const server: Server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    try {
      const { of, r } = await doctor({ MQTT_PORT: String(port) })
      expect(of('port')).toContainEqual({ check: 'port', status: 'fail', text: `MQTT_PORT ${port} is in use by another program; stop it or set MQTT_PORT to a free port` })
      expect(r.code).toBe(1)
    } finally {
      server.close()
    }
  })

  it('free disk below HEALTH_DISK_MIN_FREE_MB is a fail', async () => {
    expect((await doctor({ HEALTH_DISK_MIN_FREE_MB: String(1024 * 1024 * 1024) })).of('disk')[0]).toMatchObject({ status: 'fail', text: expect.stringContaining('below HEALTH_DISK_MIN_FREE_MB=1073741824') })
  })

  it('the registry: not created (and doctor does not create it), current, newer than this suanyang', async () => {
    const dataDir = join(dir, 'registry-case')
    const none = await doctor({ DATA_DIR: dataDir })
    expect(none.of('registry')[0]).toMatchObject({ status: 'ok', text: expect.stringContaining('not created yet') })
    expect(await stat(dataDir).catch(() => undefined)).toBeUndefined()
    await addDevice(dataDir, 'ranong-01', 'pump', 'ranong-01-pump')
    expect((await doctor({ DATA_DIR: dataDir })).of('registry')[0]).toEqual({ check: 'registry', status: 'ok', text: `sqlite: ${join(dataDir, 'registry.sqlite')}, migration ${MIGRATIONS.length} (current)` })
    const db = new DatabaseSync(join(dataDir, 'registry.sqlite'))
    db.prepare('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, ?, ?, ?)').run('future', 'x', new Date().toISOString())
    db.close()
    const newer = await doctor({ DATA_DIR: dataDir })
    expect(newer.of('registry')[0]).toMatchObject({ status: 'fail', text: expect.stringContaining(`migration 99 is newer than this suanyang knows (${MIGRATIONS.length}): upgrade suanyang`) })
  })
})
