/**
 * The real Mosquitto broker (Debian mosquitto) on a free loopback port: the independent peer for
 * contract tests and the broker benchmark. Logs only errors and warnings, so logging costs nothing.
 */
import { connect } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { requireBinary } from './binaries.js'
import { describeExit, freePort, removeOnExit, spawnDaemon, type Daemon } from './daemon.js'

export interface MosquittoBrokerOptions {
  /** username -> password; when given, anonymous clients are refused. */
  users?: Record<string, string>
  /** Bound on the listener accepting connections (default 15 s). */
  startTimeoutMs?: number
}

export interface MosquittoBroker {
  readonly port: number
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string
  close(): Promise<void>
}

/** Pure: a mosquitto 2.0 config for one loopback listener. */
export function mosquittoConfig(port: number, passwordFile: string | undefined): string {
  return [
    // Started as root, mosquitto 2 drops to user "mosquitto", who cannot read our 0700 temp dir.
    'user root',
    `listener ${port} 127.0.0.1`,
    passwordFile === undefined ? 'allow_anonymous true' : `allow_anonymous false\npassword_file ${passwordFile}`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    '',
  ].join('\n')
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

/** `mosquitto_passwd -U` hashes a `user:password` file in place. */
async function writePasswordFile(path: string, users: Record<string, string>): Promise<void> {
  await writeFile(path, Object.entries(users).map(([user, password]) => `${user}:${password}\n`).join(''), { mode: 0o600 })
  const binary = requireBinary('mosquitto_passwd', 'mosquitto')
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(binary, ['-U', path], { stdio: 'ignore' })
    child.on('error', () => resolve(null))
    child.on('close', resolve)
  })
  if (code !== 0) throw new Error(`mosquitto_passwd -U ${path} failed (exit ${String(code)})`)
}

async function launchOnce(binary: string, configPath: string, port: number, timeoutMs: number): Promise<Daemon | string> {
  const daemon = spawnDaemon(binary, ['-c', configPath], { label: 'mosquitto' })
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !daemon.hasExited) {
    if (await accepts(port)) {
      // A broker that lost a port race exits at once; give it that moment before trusting the port.
      await sleep(50)
      if (!daemon.hasExited) return daemon
    }
    await sleep(25)
  }
  const exit = daemon.hasExited ? describeExit(await daemon.exited) : `port ${port} not accepting within ${timeoutMs} ms`
  await daemon.stop({ graceMs: 2000 })
  return `mosquitto failed to start (${exit}); output tail:\n${daemon.outputTail()}`
}

export async function startMosquitto(options: MosquittoBrokerOptions = {}): Promise<MosquittoBroker> {
  const binary = requireBinary('mosquitto', 'mosquitto')
  const dir = await mkdtemp(join(tmpdir(), 'suanyang-mosquitto-'))
  const keepUntilExit = removeOnExit(dir)
  const cleanup = async () => {
    await rm(dir, { recursive: true, force: true })
    keepUntilExit()
  }
  try {
    const passwordFile = options.users === undefined ? undefined : join(dir, 'passwd')
    if (passwordFile !== undefined && options.users !== undefined) await writePasswordFile(passwordFile, options.users)
    let failure = ''
    for (let attempt = 1; attempt <= 5; attempt++) {
      const port = await freePort()
      const configPath = join(dir, 'mosquitto.conf')
      await writeFile(configPath, mosquittoConfig(port, passwordFile))
      const started = await launchOnce(binary, configPath, port, options.startTimeoutMs ?? 15_000)
      if (typeof started !== 'string') {
        let closed = false
        return {
          port,
          url: `mqtt://127.0.0.1:${port}`,
          close: async () => {
            if (closed) return
            closed = true
            await started.stop()
            await cleanup()
          },
        }
      }
      failure = started
      if (!/Address already in use/i.test(started)) break
    }
    throw new Error(failure)
  } catch (err) {
    await cleanup()
    throw err
  }
}
