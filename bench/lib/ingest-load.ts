/**
 * Simulated pumps for the ingest benchmark, in a child process of their own (so their CPU is
 * counted apart and their event loop does not share the orchestrator's). One raw MQTT 3.1.1
 * connection per device, QoS 1, a bounded window of unacknowledged PUBLISHes per connection (as
 * firmware keeps a small outbox), an open-loop schedule: device i publishes its k-th reading at
 * t0 + (k - i/D) / rate. When the window is full the reading waits in the device's outbox and
 * the delay shows up as schedule lag. Each reading's `ts` is the wall clock at publish (kept
 * unique per device), `seq` counts from 0, `boot` is given.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { LatencySummary } from './ingest-latency.js'

export interface LoadDevice {
  farm: string
  device: string
  username: string
  password: string
}

export interface LoadConfig {
  host: string
  port: number
  devices: LoadDevice[]
  /** Readings per second, all devices together. */
  ratePerSec: number
  durationMs: number
  /** Unacknowledged QoS 1 PUBLISHes per connection. */
  window: number
  /** The payload's `boot`: a new one per run, so seq 0.. is new to ingest's (device, boot, seq) dedup. */
  boot: number
}

export interface LoadProgress {
  sent: number
  acked: number
  backlog: number
}

export interface LoadReport {
  sentPerDevice: Record<string, number>
  /** Readings the schedule asked for. */
  offered: number
  /** Readings published (handed to the socket). */
  sent: number
  /** Offered but still in a device's outbox when the schedule ended (window full). */
  unpublished: number
  acked: number
  startedMs: number
  /** When the last reading was handed to its socket. */
  lastPublishMs: number
  /** When the last PUBACK came (or the wait gave up). */
  endMs: number
  /** How late readings were published against the schedule (window full, event loop late). */
  lag: LatencySummary
  /** Broker round trip from PUBLISH to PUBACK, per reading. */
  pubackRtt: LatencySummary
  disconnects: number
  /** The generator's own CPU (user + system) from go to done, ms. */
  cpuMs: number
}

export type ToChild = { type: 'config'; config: LoadConfig } | { type: 'go'; t0: number }
export type FromChild = { type: 'ready' } | { type: 'progress'; progress: LoadProgress } | { type: 'done'; report: LoadReport } | { type: 'failed'; error: string }

export interface LoadRun {
  /** undefined when the source runs inside the bench process. */
  readonly pid: number | undefined
  /** Latest progress (about once a second). */
  readonly progress: LoadProgress
  /** Starts publishing at `t0` (epoch ms, a moment from now); resolves with the report. */
  go(t0: number): Promise<LoadReport>
  kill(): void
}

/** Forks the generator and connects every device; resolves once all are connected. */
export async function startLoad(config: LoadConfig): Promise<LoadRun> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./ingest-load-child.ts', import.meta.url)), [], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)), // where `--import tsx` resolves
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let progress: LoadProgress = { sent: 0, acked: 0, backlog: 0 }
  let onReport: ((r: LoadReport) => void) | undefined
  let onFail: ((e: Error) => void) | undefined
  const ready = new Promise<void>((resolve, reject) => {
    onFail = reject
    child.on('message', (m: FromChild) => {
      if (m.type === 'ready') resolve()
      else if (m.type === 'progress') progress = m.progress
      else if (m.type === 'done') onReport?.(m.report)
      else if (m.type === 'failed') onFail?.(new Error(`load generator: ${m.error}`))
    })
    child.on('exit', (code, signal) => onFail?.(new Error(`load generator exited (${code ?? signal})`)))
  })
  child.send({ type: 'config', config } satisfies ToChild)
  await ready
  return {
    pid: child.pid,
    get progress() {
      return progress
    },
    go(t0) {
      return new Promise<LoadReport>((resolve, reject) => {
        onReport = (r) => {
          onFail = undefined
          child.kill()
          resolve(r)
        }
        onFail = reject
        child.send({ type: 'go', t0 } satisfies ToChild)
      })
    },
    kill() {
      onFail = undefined
      child.kill('SIGKILL')
    },
  }
}
