/**
 * `mosquitto_pub` and `mosquitto_sub` (Debian mosquitto-clients) as an MQTT client nobody here
 * wrote, always speaking MQTT 3.1.1 (`-V mqttv311`), the protocol of the device contract.
 */
import { spawn } from 'node:child_process'
import { requireBinary } from './binaries.js'
import { spawnDaemon, type DaemonExit } from './daemon.js'
import { StopWaiting, waitFor } from './wait-for.js'

export interface MqttClientOptions {
  /** Default 127.0.0.1. */
  host?: string
  port: number
  username?: string
  password?: string
  clientId?: string
  qos?: 0 | 1 | 2
  /** Extra command-line arguments, e.g. ['--will-topic', 't', '--will-payload', 'x']. */
  extraArgs?: readonly string[]
}

export interface PubOptions extends MqttClientOptions {
  topic: string
  /** The payload; omit together with `nullMessage: true` to send a zero-length one (-n). */
  message?: string
  nullMessage?: boolean
  retain?: boolean
  /** Kill mosquitto_pub after this long (default 10 s). */
  timeoutMs?: number
}

export interface RunResult {
  /** 0 on success; mosquitto_pub exits 5 when the broker refuses the credentials. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
}

/** Pure: the arguments every mosquitto client gets. */
export function clientArgs(options: MqttClientOptions): string[] {
  const args = ['-V', 'mqttv311', '-h', options.host ?? '127.0.0.1', '-p', String(options.port)]
  if (options.username !== undefined) args.push('-u', options.username)
  if (options.password !== undefined) args.push('-P', options.password)
  if (options.clientId !== undefined) args.push('-i', options.clientId)
  if (options.qos !== undefined) args.push('-q', String(options.qos))
  return args
}

/** Publishes one message and resolves with the exit code and output (never rejects on failure). */
export function mosquittoPub(options: PubOptions): Promise<RunResult> {
  const binary = requireBinary('mosquitto_pub', 'mosquitto-clients')
  const args = [...clientArgs(options), '-t', options.topic]
  if (options.nullMessage === true || options.message === undefined) args.push('-n')
  else args.push('-m', options.message)
  if (options.retain === true) args.push('-r')
  args.push(...(options.extraArgs ?? []))
  return new Promise((resolve) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, options.timeoutMs ?? 10_000)
    child.on('error', (err) => {
      stderr += `spawn error: ${err.message}`
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut })
    })
  })
}

export interface SubMessage {
  topic: string
  /** UTF-8 payload; null for a zero-length one. */
  payload: string | null
  qos: number
  retain: boolean
}

export interface SubOptions extends MqttClientOptions {
  topics: string | readonly string[]
  /** -R: do not print retained messages the broker replays on subscribe. */
  noRetained?: boolean
  /** -c: persistent session (needs a clientId). */
  persistentSession?: boolean
  /** Bound on CONNACK + SUBACK (default 10 s). */
  readyTimeoutMs?: number
}

export interface Subscriber {
  /** Return codes of the SUBACK, one per topic (128 = refused). */
  readonly granted: readonly number[]
  /** Every message received so far, in order. */
  readonly messages: readonly SubMessage[]
  readonly exited: Promise<DaemonExit>
  /** stderr and the client's debug log, for assertions and error messages. */
  output(): string
  /** Resolves once `count` messages (optionally only those matching) have arrived. */
  waitForMessages(count: number, options?: { timeoutMs?: number; match?: (m: SubMessage) => boolean }): Promise<SubMessage[]>
  close(): Promise<void>
}

// -d prints the protocol exchange: "Subscribed (mid: 1): 1, 128" marks the SUBACK.
const SUBACK_LINE = /^Subscribed \(mid: \d+\): (.*)$/

/** Pure: a `-F %j` output line as a message, or undefined for a debug line. */
export function parseSubLine(line: string): SubMessage | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const json = JSON.parse(line) as { topic?: unknown; payload?: unknown; qos?: unknown; retain?: unknown }
    if (typeof json.topic !== 'string') return undefined
    return {
      topic: json.topic,
      payload: typeof json.payload === 'string' ? json.payload : null,
      qos: typeof json.qos === 'number' ? json.qos : 0,
      retain: json.retain === 1 || json.retain === true,
    }
  } catch {
    return undefined
  }
}

/** Starts mosquitto_sub and resolves once the broker has answered the SUBSCRIBE. */
export async function mosquittoSub(options: SubOptions): Promise<Subscriber> {
  const binary = requireBinary('mosquitto_sub', 'mosquitto-clients')
  const topics = typeof options.topics === 'string' ? [options.topics] : options.topics
  const args = [...clientArgs(options), '-d', '-F', '%j']
  for (const topic of topics) args.push('-t', topic)
  if (options.noRetained === true) args.push('-R')
  if (options.persistentSession === true) args.push('-c')
  args.push(...(options.extraArgs ?? []))

  const messages: SubMessage[] = []
  let granted: number[] | undefined
  const daemon = spawnDaemon(binary, args, {
    label: 'mosquitto_sub',
    onStdoutLine: (line) => {
      const message = parseSubLine(line)
      if (message !== undefined) messages.push(message)
      const suback = SUBACK_LINE.exec(line)
      if (suback?.[1] !== undefined) granted = suback[1].split(',').map((code) => Number(code.trim()))
    },
  })
  const describe = () => `mosquitto_sub ${args.join(' ')}`
  try {
    await waitFor(
      () => {
        if (granted !== undefined) return true
        if (daemon.hasExited) throw new StopWaiting(`mosquitto_sub exited before SUBACK:\n${daemon.outputTail()}`)
        return false
      },
      { timeoutMs: options.readyTimeoutMs ?? 10_000, intervalMs: 10, message: `SUBACK for ${describe()}` },
    )
  } catch (err) {
    await daemon.stop({ graceMs: 1000 })
    throw err
  }

  return {
    granted: granted ?? [],
    messages,
    exited: daemon.exited,
    output: () => daemon.outputTail(),
    waitForMessages: (count, { timeoutMs = 10_000, match = () => true } = {}) =>
      waitFor(
        () => {
          const matching = messages.filter(match)
          if (matching.length >= count) return matching
          if (daemon.hasExited) throw new StopWaiting(`mosquitto_sub exited:\n${daemon.outputTail()}`)
          return undefined
        },
        { timeoutMs, message: () => `${count} message(s) at ${describe()} (have ${messages.filter(match).length})` },
      ),
    close: async () => {
      await daemon.stop({ graceMs: 2000 })
    },
  }
}
