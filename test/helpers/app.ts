/**
 * The system under test, in process: `startApp` with a temp DATA_DIR, every port 0, and a
 * logger whose JSON lines the test can read. And the real CLI, as a child process.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Writable } from 'node:stream'
import { type App, startApp } from '../../cli/app.js'
import type { Env } from '../../runtime/config.js'
import { createLogger } from '../../runtime/logger.js'
import type { ServiceName } from '../../runtime/service.js'

export const ROOT = resolve(import.meta.dirname, '../..')

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

export class LogCapture extends Writable {
  readonly lines: LogLine[] = []
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (text) this.lines.push(JSON.parse(text) as LogLine)
    }
    done()
  }
  find(msg: string, match: Record<string, unknown> = {}): LogLine[] {
    return this.lines.filter((l) => l.msg === msg && Object.entries(match).every(([k, v]) => l[k] === v))
  }
}

export interface TestApp extends App {
  dataDir: string
  env: Record<string, string>
  logs: LogCapture
  mqttPort: number
  wsPort: number
  stop(): Promise<void>
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'suanyang-'))
}

/** Starts the named services with test defaults; `env` overrides (e.g. INFLUX_URL). */
export async function startTestApp(names: ServiceName[], env: Record<string, string> = {}, dataDir?: string): Promise<TestApp> {
  const dir = dataDir ?? (await makeDataDir())
  const fullEnv: Record<string, string> = {
    DATA_DIR: dir,
    MQTT_PORT: '0',
    MQTT_WS_PORT: '0',
    HTTP_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    INGEST_FLUSH_MS: '20',
    ...env,
  }
  const logs = new LogCapture()
  const app = await startApp(names, { env: fullEnv as Env, log: createLogger('debug', logs) })
  const ports = (app.info.broker?.ports ?? {}) as { tcp?: number; ws?: number }
  return {
    ...app,
    dataDir: dir,
    env: fullEnv,
    logs,
    mqttPort: ports.tcp ?? Number(env.MQTT_PORT ?? 0),
    wsPort: ports.ws ?? 0,
    async stop() {
      await app.close()
      if (!dataDir) await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `suanyang ...` as a user would, through the package's bin script. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/suanyang.js'), ...args], {
      // ENV_FILE='': a developer's ./.env never reaches a test (cli/env-file.ts).
      env: { PATH: process.env.PATH ?? '', ENV_FILE: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stdout, stderr })
    })
  })
}

/** The same command in this process (cli/main.ts `main`): cheaper than a child, same dispatch. */
export async function runCliInProcess(args: string[], env: Record<string, string>): Promise<CliResult> {
  const { main } = await import('../../cli/main.js')
  let stdout = ''
  let stderr = ''
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString())
        done()
      },
    })
  const code = await main(args, { env: { ENV_FILE: '', ...env }, stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) })
  return { code, stdout, stderr }
}

export interface DeviceCredentials {
  farm: string
  kind: string
  device: string
  username: string
  password: string
}

/** `suanyang device add` as a separate process, into the registry of DATA_DIR (or `env.DATABASE_URL`). */
export async function addDevice(dataDir: string, farm: string, kind: string, id: string, env: Record<string, string> = {}): Promise<DeviceCredentials> {
  const r = await runCli(['device', 'add', '--farm', farm, '--kind', kind, '--id', id, '--json'], { DATA_DIR: dataDir, ...env })
  if (r.code !== 0) throw new Error(`device add failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout) as DeviceCredentials
}
