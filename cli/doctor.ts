/**
 * `suanyang doctor` (issue 18): what a volunteer checks before (or instead of) asking for help,
 * one line per check with ok, warn or fail, exit 1 on a fail. The configuration, the ports,
 * InfluxDB (reachable, and whether its version is one the writer can use), the LINE token
 * (against LINE_API_BASE_URL), free disk in DATA_DIR, the registry and its migration version.
 * It changes nothing: no registry is created or migrated, no port is held.
 */
import { stat, statfs } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname, resolve } from 'node:path'
import type { z } from 'zod'
import { RegistryEnv } from '../registry/config.js'
import { redactUrl, sqlitePath, openDatabase } from '../registry/index.js'
import { MIGRATIONS } from '../registry/migrations/index.js'
import { CommonEnv, ConfigError, type Env, loadAll } from '../runtime/config.js'
import { SERVICE_NAMES } from '../runtime/service.js'
import { loadModules } from './app.js'
import { parseCommand, portVariables } from './args.js'
import type { CommandIo } from './io.js'

export type Status = 'ok' | 'warn' | 'fail'
export interface CheckResult {
  check: string
  status: Status
  text: string
}

const USAGE = `Usage: suanyang doctor [--json]
Checks this machine for suanyang, one line each: the configuration, the ports it listens on,
InfluxDB (reachable, version), the LINE token (when set), free disk in DATA_DIR, and the registry
(opens, migration version). Exit code 1 when any check fails. Changes nothing.
`
const TIMEOUT_MS = 5_000

const result = (check: string, status: Status, text: string): CheckResult => ({ check, status, text })

/** fetch with a bound; the error's cause (ECONNREFUSED) is the useful part of its message. */
async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    throw new Error(cause?.code ?? cause?.message ?? (err as Error).message, { cause: err })
  }
}

/** Every selected service's variables, checked as `start` will check them. */
async function configCheck(env: Env): Promise<CheckResult> {
  const modules = await loadModules(SERVICE_NAMES)
  try {
    loadAll([CommonEnv, RegistryEnv, ...modules.map((m) => m.env)] as readonly z.ZodType[], env)
    return result('config', 'ok', 'every variable valid')
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const lines = err.message.replace(/^invalid configuration:\s*/, '').split('\n').map((l) => l.trim())
    return result('config', 'fail', lines.join('; '))
  }
}

function portFree(port: number, host: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((done) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => done(err))
    server.listen(port, host, () => server.close(() => done(undefined)))
  })
}

/** Is a suanyang answering on this HTTP port? Its services, if so. */
export async function runningSuanyang(httpPort: number): Promise<string[] | undefined> {
  try {
    const body = (await (await get(`http://127.0.0.1:${httpPort}/healthz`)).json()) as { services?: unknown }
    return Array.isArray(body.services) ? body.services.map(String) : undefined
  } catch {
    return undefined
  }
}

async function portChecks(env: Env, host: string, httpPort: number): Promise<CheckResult[]> {
  const wanted: Array<[string, number]> = [
    ['MQTT_PORT', Number(env.MQTT_PORT ?? 1883)],
    ['MQTT_WS_PORT', Number(env.MQTT_WS_PORT ?? 8083)],
    ['HTTP_PORT', httpPort],
    ...(env.MQTT_TLS_PORT ? [['MQTT_TLS_PORT', Number(env.MQTT_TLS_PORT)] as [string, number]] : []),
  ]
  const running = httpPort > 0 ? await runningSuanyang(httpPort) : undefined
  const out: CheckResult[] = []
  for (const [variable, port] of wanted) {
    if (!Number.isInteger(port) || port <= 0) {
      out.push(result('port', 'ok', `${variable}=${env[variable] ?? port}: any free port is taken at start`))
      continue
    }
    const err = await portFree(port, host)
    if (!err) out.push(result('port', 'ok', `${variable} ${port} is free`))
    else if (err.code === 'EADDRINUSE' && running) out.push(result('port', 'warn', `${variable} ${port} is in use, by the suanyang running here (${running.join(', ')}); stop it before starting another`))
    else if (err.code === 'EADDRINUSE') {
      const vars = portVariables(port, env).filter((v) => v !== variable)
      out.push(result('port', 'fail', `${variable} ${port} is in use by another program; stop it or set ${[variable, ...vars].join(' or ')} to a free port`))
    } else if (err.code === 'EACCES') out.push(result('port', 'fail', `${variable} ${port} needs root here; set ${variable} to 1024 or above`))
    else out.push(result('port', 'fail', `${variable} ${port}: ${err.code ?? err.message}`))
  }
  return out
}

/** Pure: what a /ping version means for the writer (it posts to /api/v2/write). */
export function influxVersionVerdict(version: string): { status: Status; text: string } {
  const [major = NaN, minor = NaN] = version.replace(/^v/, '').split('.').map((p) => parseInt(p, 10))
  if (major >= 2) return { status: 'ok', text: `InfluxDB ${version} (2.x and 3.x work: INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET)` }
  if (major === 1 && minor >= 8) return { status: 'ok', text: `InfluxDB ${version} (1.8+ works: INFLUX_TOKEN=user:password, INFLUX_BUCKET=db/rp)` }
  if (major === 1)
    return { status: 'fail', text: `InfluxDB ${version} is too old: the writer needs /api/v2/write (2.x, or 1.8+); Debian's "influxdb" package is 1.6, install InfluxDB 2.7 from influxdata.com` }
  return { status: 'warn', text: `InfluxDB answers with version "${version}", which suanyang does not know` }
}

async function influxCheck(env: Env): Promise<CheckResult> {
  const url = env.INFLUX_URL
  if (!url) return result('influxdb', 'warn', 'INFLUX_URL is not set: readings stay in the local spool in DATA_DIR until it is')
  if (!/^https?:\/\//i.test(url)) return result('influxdb', 'fail', `INFLUX_URL=${url} has no http:// or https://; set INFLUX_URL=http://${url}`)
  let res: Response
  try {
    res = await get(new URL('ping', url.endsWith('/') ? url : `${url}/`).toString())
  } catch (err) {
    return result('influxdb', 'fail', `cannot reach INFLUX_URL ${url} (${(err as Error).message}); is InfluxDB running there?`)
  }
  const version = res.headers.get('x-influxdb-version')
  if (!version) return result('influxdb', 'warn', `${url} answers /ping (${res.status}) without a version: is it InfluxDB?`)
  const verdict = influxVersionVerdict(version)
  if (verdict.status !== 'ok' || !version.replace(/^v/, '').startsWith('2')) return result('influxdb', verdict.status, `${url}: ${verdict.text}`)
  // 2.x: the token and the bucket, as the writer will use them.
  const bucket = env.INFLUX_BUCKET ?? 'suanyang'
  const query = new URLSearchParams({ name: bucket, ...(env.INFLUX_ORG ? { org: env.INFLUX_ORG } : {}) })
  try {
    const r = await get(new URL(`api/v2/buckets?${query}`, url.endsWith('/') ? url : `${url}/`).toString(), { authorization: `Token ${env.INFLUX_TOKEN ?? ''}` })
    if (r.status === 401 || r.status === 403) return result('influxdb', 'fail', `${url}: ${verdict.text}, but INFLUX_TOKEN is refused (${r.status}); give a token that may write to ${bucket}`)
    const body = (await r.json().catch(() => ({}))) as { buckets?: unknown[] }
    if (r.ok && Array.isArray(body.buckets) && body.buckets.length === 0) return result('influxdb', 'fail', `${url}: ${verdict.text}, but bucket ${bucket} does not exist (INFLUX_BUCKET, INFLUX_ORG)`)
    if (!r.ok) return result('influxdb', 'warn', `${url}: ${verdict.text}; the bucket check answered ${r.status}`)
  } catch (err) {
    return result('influxdb', 'warn', `${url}: ${verdict.text}; the bucket check failed (${(err as Error).message})`)
  }
  return result('influxdb', 'ok', `${url}: ${verdict.text}; bucket ${bucket} found`)
}

async function lineCheck(env: Env): Promise<CheckResult> {
  const token = env.LINE_CHANNEL_ACCESS_TOKEN
  if (!token) return result('line', 'ok', 'LINE_CHANNEL_ACCESS_TOKEN is not set: no alerts by LINE')
  const base = env.LINE_API_BASE_URL || 'https://api.line.me'
  let res: Response
  try {
    res = await get(new URL('v2/bot/info', base.endsWith('/') ? base : `${base}/`).toString(), { authorization: `Bearer ${token}` })
  } catch (err) {
    return result('line', 'fail', `cannot reach LINE at ${base} (${(err as Error).message}); check the internet connection or LINE_API_BASE_URL`)
  }
  if (res.status === 401) return result('line', 'fail', 'LINE refuses LINE_CHANNEL_ACCESS_TOKEN (401): issue a new channel access token in the LINE Developers console')
  if (!res.ok) return result('line', 'warn', `LINE answered ${res.status} to the token check`)
  const bot = (await res.json().catch(() => ({}))) as { displayName?: unknown; basicId?: unknown }
  return result('line', 'ok', `LINE token valid (bot ${String(bot.displayName ?? '?')}${bot.basicId ? `, ${String(bot.basicId)}` : ''})`)
}

/** DATA_DIR, or the nearest directory above it that exists (the first start creates it). */
async function existing(path: string): Promise<string> {
  for (let p = resolve(path); ; p = dirname(p)) {
    if ((await stat(p).catch(() => undefined))?.isDirectory() || p === dirname(p)) return p
  }
}

async function diskCheck(dataDir: string, minFreeMb: number): Promise<CheckResult> {
  const dir = await existing(dataDir)
  const s = await statfs(dir)
  const freeMb = Math.floor((s.bavail * s.bsize) / 1024 / 1024)
  const text = `${freeMb} MB free for DATA_DIR ${resolve(dataDir)}${dir !== resolve(dataDir) ? ' (not created yet)' : ''}`
  if (freeMb < minFreeMb) return result('disk', 'fail', `${text}, below HEALTH_DISK_MIN_FREE_MB=${minFreeMb}: free some space`)
  if (freeMb < minFreeMb * 2) return result('disk', 'warn', `${text}, near HEALTH_DISK_MIN_FREE_MB=${minFreeMb}`)
  return result('disk', 'ok', text)
}

async function registryCheck(dataDir: string, databaseUrl: string | undefined): Promise<CheckResult> {
  const latest = Math.max(...MIGRATIONS.map((m) => m.version))
  const where = databaseUrl === undefined ? `sqlite: ${sqlitePath(resolve(dataDir))}` : `postgres: ${redactUrl(databaseUrl)}`
  if (databaseUrl === undefined && !(await stat(sqlitePath(dataDir)).catch(() => undefined))) return result('registry', 'ok', `${where} not created yet: the first start creates it`)
  let version: number
  try {
    const db = await openDatabase({ dataDir, databaseUrl })
    try {
      const row = await db.get<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations').catch(() => ({ v: 0 }))
      version = Number(row?.v ?? 0)
    } finally {
      await db.close()
    }
  } catch (err) {
    return result('registry', 'fail', `${where} does not open (${(err as Error).message.split('\n')[0]})`)
  }
  if (version === latest) return result('registry', 'ok', `${where}, migration ${version} (current)`)
  if (version < latest) return result('registry', 'warn', `${where}, migration ${version}: the next start migrates it to ${latest} (back it up first: suanyang backup)`)
  return result('registry', 'fail', `${where}, migration ${version} is newer than this suanyang knows (${latest}): upgrade suanyang`)
}

export async function runChecks(env: Env): Promise<CheckResult[]> {
  const common = CommonEnv.safeParse(env).data ?? CommonEnv.parse({})
  const databaseUrl = RegistryEnv.safeParse(env).data?.DATABASE_URL
  const node = process.versions.node.split('.').map(Number)
  const nodeOk = (node[0] ?? 0) >= 24 || ((node[0] ?? 0) === 22 && (node[1] ?? 0) >= 13)
  return [
    result('node', nodeOk ? 'ok' : 'warn', `Node.js ${process.version}${nodeOk ? '' : ': 24 (the current LTS) or 22.13+ is supported'}`),
    await configCheck(env),
    ...(await portChecks(env, common.HOST, common.HTTP_PORT)),
    await influxCheck(env),
    await lineCheck(env),
    await diskCheck(common.DATA_DIR, common.HEALTH_DISK_MIN_FREE_MB),
    await registryCheck(common.DATA_DIR, databaseUrl),
  ]
}

export async function doctorCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand('doctor', { args, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    io.stdout.write(USAGE)
    return 0
  }
  const results = await runChecks(io.env)
  if (values.json) io.stdout.write(`${JSON.stringify(results)}\n`)
  else for (const r of results) io.stdout.write(`${r.status.padEnd(4)}  ${r.check.padEnd(8)}  ${r.text}\n`)
  return results.some((r) => r.status === 'fail') ? 1 : 0
}
