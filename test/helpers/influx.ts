/**
 * A real influxd (Debian influxdb 1.6.7) per call, on free loopback ports with a temp dir, behind
 * the v2-write shim (./influx-shim.ts). Point `@influxdata/influxdb-client` at `handle.url` with
 * org '' and bucket `handle.bucket`; read back with `handle.queryRows('SELECT ...')`.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireBinary } from './binaries.js'
import { describeExit, freePort, removeOnExit, spawnDaemon, type Daemon } from './daemon.js'
import { startInfluxShim, type InfluxShim } from './influx-shim.js'
import { influxQl, quoteIdent, seriesToRows, type InfluxRow, type InfluxSeries } from './influxql.js'

export type { InfluxShim, ShimMode, ShimModeOptions, ShimRequest } from './influx-shim.js'
export type { InfluxRow, InfluxSeries, InfluxValue } from './influxql.js'

export interface StartInfluxOptions {
  /** Database to create (default: a random `test_xxxxxxxx`). */
  db?: string
  /** Bound on influxd answering /ping (default 30 s, for a loaded 2-core machine). */
  startTimeoutMs?: number
  /** Appended to the generated config, e.g. '[coordinator]\n  query-timeout = "5s"'. */
  extraConfig?: string
}

export interface InfluxHandle {
  /** The shim's base URL: give this to `new InfluxDB({ url, token })`. */
  readonly url: string
  /** influxd itself (1.x API: /query, /write, /ping), bypassing the shim and its modes. */
  readonly directUrl: string
  readonly db: string
  /** `${db}/autogen`, the v2 bucket name of the default retention policy. */
  readonly bucket: string
  /** influxd's meta, data and wal live here. */
  readonly dir: string
  readonly shim: InfluxShim
  readonly running: boolean
  /** influxd's process id while it runs. */
  readonly pid: number | undefined
  /** InfluxQL in `db` (GET; times as epoch ms): every series of every statement. */
  query(influxql: string): Promise<InfluxSeries[]>
  /** Like query(), flattened: one object per row with GROUP BY tags and columns by name. */
  queryRows(influxql: string): Promise<InfluxRow[]>
  /** InfluxQL that changes something (POST), e.g. `DROP MEASUREMENT pump`. */
  exec(influxql: string): Promise<void>
  /** `SHOW FIELD KEYS`: field name -> `float` | `integer` | `string` | `boolean`. */
  fieldTypes(measurement: string): Promise<Record<string, string>>
  /** Stop the real influxd (SIGTERM; SIGKILL for a crash); the shim keeps listening. */
  stopInflux(options?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>
  /** Start influxd again on the same port and data dir; resolves once /ping answers. */
  startInflux(): Promise<void>
  /** Kill influxd, close the shim, remove the temp dir. Safe to call twice. */
  close(): Promise<void>
}

interface Ports {
  http: number
  rpc: number
}

/** Pure: a minimal influxd 1.6 config (keys as `influxd config` prints them). */
export function influxdConfig(dir: string, ports: Ports, extraConfig = ''): string {
  return `reporting-disabled = true
bind-address = "127.0.0.1:${ports.rpc}"

[meta]
  dir = "${join(dir, 'meta')}"
  logging-enabled = false

[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${ports.http}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "error"
  suppress-logo = true
${extraConfig}
`
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

// influxd overrides its config with INFLUXDB_* variables; none may leak in from the caller.
const influxdEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('INFLUXDB_')))

async function pingStatus(baseUrl: string): Promise<number> {
  try {
    const response = await fetch(`${baseUrl}/ping`, { signal: AbortSignal.timeout(2000) })
    await response.arrayBuffer()
    return response.status
  } catch {
    return 0
  }
}

// Another influxd that won a port race would answer /ping too: its cmdline names another config.
async function runsConfig(baseUrl: string, configPath: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/debug/vars`, { signal: AbortSignal.timeout(5000) })
    const vars = (await response.json()) as { cmdline?: unknown }
    return Array.isArray(vars.cmdline) && vars.cmdline.includes(configPath)
  } catch {
    return false
  }
}

type LaunchResult = { ok: true; daemon: Daemon } | { ok: false; reason: string; portTaken: boolean }

interface LaunchSpec {
  binary: string
  dir: string
  timeoutMs: number
  extraConfig: string
}

async function launchOnce(spec: LaunchSpec, ports: Ports): Promise<LaunchResult> {
  const { binary, dir, timeoutMs } = spec
  const configPath = join(dir, 'influxdb.conf')
  await writeFile(configPath, influxdConfig(dir, ports, spec.extraConfig))
  const daemon = spawnDaemon(binary, ['run', '-config', configPath], { label: 'influxd', env: influxdEnv(), tempDir: dir })
  const baseUrl = `http://127.0.0.1:${ports.http}`
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (daemon.hasExited) break
    if ((await pingStatus(baseUrl)) === 204) {
      if (await runsConfig(baseUrl, configPath)) return { ok: true, daemon }
      await daemon.stop({ graceMs: 2000 })
      return { ok: false, reason: `another influxd answers on ${baseUrl}`, portTaken: true }
    }
    await sleep(25)
  }
  const exit = daemon.hasExited ? describeExit(await daemon.exited) : `no 204 from ${baseUrl}/ping within ${timeoutMs} ms`
  await daemon.stop({ graceMs: 2000 })
  const output = daemon.outputTail()
  const tail = output.split('\n').slice(-20).join('\n')
  const reason = `influxd failed to start (${exit}); output tail:\n${tail}`
  return { ok: false, reason, portTaken: /address already in use/.test(output) }
}

/** Fresh free ports unless `fixed` (a restart must keep its port); bounded retries on a port race. */
async function launch(spec: LaunchSpec, fixed?: Ports): Promise<{ daemon: Daemon; ports: Ports }> {
  let reason = ''
  for (let attempt = 1; attempt <= 5; attempt++) {
    const ports = fixed ?? { http: await freePort(), rpc: await freePort() }
    const result = await launchOnce(spec, ports)
    if (result.ok) return { daemon: result.daemon, ports }
    reason = result.reason
    if (!result.portTaken) break
    await sleep(200 * attempt)
  }
  throw new Error(reason)
}

export async function startInflux(options: StartInfluxOptions = {}): Promise<InfluxHandle> {
  const binary = requireBinary('influxd', 'influxdb')
  const db = options.db ?? `test_${randomBytes(4).toString('hex')}`
  const dir = await mkdtemp(join(tmpdir(), 'suanyang-influx-'))
  const keepUntilExit = removeOnExit(dir)
  const spec: LaunchSpec = { binary, dir, timeoutMs: options.startTimeoutMs ?? 30_000, extraConfig: options.extraConfig ?? '' }
  let daemon: Daemon | undefined
  let shim: InfluxShim | undefined
  let closed = false

  const cleanup = async () => {
    await shim?.close()
    await daemon?.stop()
    await rm(dir, { recursive: true, force: true })
    keepUntilExit()
  }

  try {
    const launched = await launch(spec)
    daemon = launched.daemon
    const ports = launched.ports
    const directUrl = `http://127.0.0.1:${ports.http}`
    await influxQl(directUrl, `CREATE DATABASE ${quoteIdent(db)}`, { write: true })
    shim = await startInfluxShim({ host: '127.0.0.1', port: ports.http })
    const activeShim = shim

    const query = (influxql: string) => influxQl(directUrl, influxql, { db })
    return {
      url: activeShim.url,
      directUrl,
      db,
      bucket: `${db}/autogen`,
      dir,
      shim: activeShim,
      get running() {
        return daemon !== undefined && !daemon.hasExited
      },
      get pid() {
        return daemon !== undefined && !daemon.hasExited ? daemon.pid : undefined
      },
      query,
      queryRows: async (influxql) => seriesToRows(await query(influxql)),
      exec: async (influxql) => {
        await influxQl(directUrl, influxql, { db, write: true })
      },
      fieldTypes: async (measurement) => {
        const rows = seriesToRows(await query(`SHOW FIELD KEYS FROM ${quoteIdent(measurement)}`))
        return Object.fromEntries(rows.map((row) => [String(row.fieldKey), String(row.fieldType)]))
      },
      stopInflux: async ({ signal = 'SIGTERM' } = {}) => {
        await daemon?.stop({ signal })
      },
      startInflux: async () => {
        if (closed) throw new Error('startInflux() after close()')
        if (daemon !== undefined && !daemon.hasExited) throw new Error('influxd is already running')
        daemon = (await launch(spec, ports)).daemon
      },
      close: async () => {
        if (closed) return
        closed = true
        await cleanup()
      },
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}
