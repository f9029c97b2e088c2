/**
 * Issue 18, an install that explains itself: every CLI error case is one line on stderr that
 * says what to do, with no Node stack trace unless LOG_LEVEL=debug; every command answers
 * --help; `.env` is read at start and the real environment wins over it. The real command,
 * spawned as a user runs it.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { type Server, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, ROOT, runCli } from './helpers/app.js'
import { freePort } from './helpers/daemon.js'

const COMMANDS = ['start', 'device', 'deadletter', 'import', 'farm', 'person', 'cooperative', 'override', 'schema', 'dashboards', 'alerts', 'sim', 'doctor', 'backup', 'restore']
/** A line of a Node stack trace. */
const STACK = /^\s+at .+[(:]\d+/m

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'suanyang-cli-errors-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const env = (extra: Record<string, string> = {}) => ({ DATA_DIR: join(dir, 'data'), HOST: '127.0.0.1', ...extra })

/** One line on stderr, no stack. */
function expectOneLine(r: CliResult): string {
  expect(r.stderr).not.toMatch(STACK)
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
  return r.stderr.trimEnd()
}

/** Occupies a loopback port, as another program would. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as { port: number }).port, server }
}

describe('unknown options and --help', () => {
  it('`schema --help` prints its usage (it threw ERR_PARSE_ARGS_UNKNOWN_OPTION before)', async () => {
    const r = await runCli(['schema', '--help'], env())
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toMatch(/^Usage: suanyang schema \[--out DIR\]/)
  })

  it('`device list --foo`: one line naming the option and the help, exit 2', async () => {
    const r = await runCli(['device', 'list', '--foo'], env())
    expect(r.code).toBe(2)
    expect(expectOneLine(r)).toBe('suanyang device: unknown option --foo; run "suanyang device --help" for its options')
  })

  it('every command answers --help with its usage, and an unknown option with one line', async () => {
    // One command at a time: 30 Node processes at once would crowd a 2-core test machine.
    for (const c of COMMANDS) {
      const help = await runCli([c, '--help'], env())
      const bad = await runCli([c, '--no-such-option'], env())
      expect({ c, code: help.code, usage: /usage/i.test(help.stdout), stderr: help.stderr }).toEqual({ c, code: 0, usage: true, stderr: '' })
      expect({ c, code: bad.code }).toEqual({ c, code: 2 })
      expect(expectOneLine(bad)).toMatch(new RegExp(`^suanyang ${c}: unknown option --no-such-option; run "suanyang ${c} --help"`))
    }
  }, 90_000)

  it('an unknown command: one line pointing at the list', async () => {
    const r = await runCli(['stat'], env())
    expect(r.code).toBe(2)
    expect(expectOneLine(r)).toBe('suanyang: unknown command "stat"; run "suanyang --help" for the commands')
  })

  it('LOG_LEVEL=debug adds where it happened (the stack), after the same message', async () => {
    const r = await runCli(['device', 'list', '--foo'], env({ LOG_LEVEL: 'debug' }))
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(STACK)
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('suanyang device: unknown option --foo; run "suanyang device --help" for its options')
  })
})

describe('a port already in use names the variable to change', () => {
  const start = (ports: Record<string, string>) => runCli(['start', 'broker'], env({ MQTT_WS_PORT: '0', HTTP_PORT: '0', MQTT_PORT: '0', ...ports }))

  it('MQTT_PORT', async () => {
    const held = await holdPort()
    try {
      const r = await start({ MQTT_PORT: String(held.port) })
      expect(r.code).toBe(1)
      const line = expectOneLine(r)
      expect(line).toMatch(new RegExp(`^suanyang start: port ${held.port} on 127\\.0\\.0\\.1 is already in use .*set MQTT_PORT to a free port`))
      // The JSON log keeps the reason for a supervisor, without the stack.
      expect(r.stdout).toMatch(/"msg":"start failed"/)
      expect(r.stdout).not.toMatch(/"stack":"[^"]/)
      expect(r.stdout).not.toMatch(/"msg":"started"/)
    } finally {
      held.server.close()
    }
  })

  it('HTTP_PORT', async () => {
    const held = await holdPort()
    try {
      const r = await start({ HTTP_PORT: String(held.port) })
      expect(r.code).toBe(1)
      expect(expectOneLine(r)).toMatch(new RegExp(`port ${held.port} .* set HTTP_PORT to a free port`))
    } finally {
      held.server.close()
    }
  })
})

describe('a URL without a scheme is refused at validation', () => {
  it('INFLUX_URL=localhost:8086: the variable and the fix, nothing started', async () => {
    const r = await runCli(['start', 'ingest'], env({ INFLUX_URL: 'localhost:8086', MQTT_URL: 'mqtt://127.0.0.1:1', HTTP_PORT: '0' }))
    expect(r.code).toBe(1)
    expect(expectOneLine(r)).toBe('invalid configuration: INFLUX_URL="localhost:8086": must be an http:// or https:// URL, e.g. http://localhost:8086')
    expect(r.stdout).not.toMatch(/"msg":"started"/)
  })

  it('LINE_API_BASE_URL the same way; an http(s) URL passes', async () => {
    const bad = await runCli(['doctor', '--json'], env({ LINE_API_BASE_URL: 'api.line.me' }))
    const config = (JSON.parse(bad.stdout) as Array<{ check: string; status: string; text: string }>).find((c) => c.check === 'config')
    expect(config).toEqual({ check: 'config', status: 'fail', text: 'LINE_API_BASE_URL="api.line.me": must be an http:// or https:// URL, e.g. http://api.line.me' })
    const good = await runCli(['doctor', '--json'], env({ LINE_API_BASE_URL: 'https://api.line.me', INFLUX_URL: 'http://127.0.0.1:8086' }))
    expect((JSON.parse(good.stdout) as Array<{ check: string; status: string }>).find((c) => c.check === 'config')?.status).toBe('ok')
  })
})

/** The command from another working directory, with exactly `env` (no ENV_FILE unless given). */
function runIn(cwd: string, args: string[], extra: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/suanyang.js'), ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...extra }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('.env', () => {
  let home: string
  beforeAll(async () => {
    home = await mkdtemp(join(dir, 'home-'))
    // As a volunteer writes it: a comment, quotes, a blank line.
    await writeFile(join(home, '.env'), `# the farm laptop\nDATA_DIR="${join(home, 'from-file')}"\n\nHEALTH_DISK_MIN_FREE_MB=1\nMQTT_PORT=${await freePort()}\n`)
    await writeFile(join(home, 'other.env'), `DATA_DIR=${join(home, 'from-other')}\n`)
  })
  const dataDirOf = (r: CliResult) => (JSON.parse(r.stdout) as Array<{ check: string; text: string }>).find((c) => c.check === 'disk')?.text

  it('is read from the working directory at start', async () => {
    const r = await runIn(home, ['doctor', '--json'], {})
    expect(dataDirOf(r)).toContain(`for DATA_DIR ${join(home, 'from-file')} `)
  })

  it('a variable in the real environment wins over the file', async () => {
    const r = await runIn(home, ['doctor', '--json'], { DATA_DIR: join(home, 'from-env') })
    expect(dataDirOf(r)).toContain(`for DATA_DIR ${join(home, 'from-env')} `)
  })

  it('.env.example copied to .env as it is: every variable valid', async () => {
    const r = await runIn(home, ['doctor', '--json'], { ENV_FILE: join(ROOT, '.env.example'), DATA_DIR: join(home, 'example') })
    expect((JSON.parse(r.stdout) as Array<{ check: string; status: string; text: string }>).find((c) => c.check === 'config')).toEqual({ check: 'config', status: 'ok', text: 'every variable valid' })
  })

  it('ENV_FILE names another file; ENV_FILE= reads none; a named file that is missing is one line', async () => {
    expect(dataDirOf(await runIn(home, ['doctor', '--json'], { ENV_FILE: 'other.env' }))).toContain(join(home, 'from-other'))
    expect(dataDirOf(await runIn(home, ['doctor', '--json'], { ENV_FILE: '' }))).toContain(`for DATA_DIR ${join(home, 'data')} `)
    const missing = await runIn(home, ['doctor'], { ENV_FILE: 'nope.env' })
    expect(missing.code).toBe(1)
    expect(expectOneLine(missing)).toBe(`ENV_FILE=nope.env: ${join(home, 'nope.env')} does not exist; name your .env file, or set ENV_FILE= to read none`)
  })
})
