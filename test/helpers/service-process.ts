/**
 * The system as separate processes, the way docker-compose runs it: `suanyang start <names>`
 * in a child process that a test can SIGKILL and start again on the same ports and DATA_DIR.
 */
import { join } from 'node:path'
import { spawnDaemon, type Daemon } from './daemon.js'
import { ROOT, type LogLine } from './app.js'
import { waitFor } from './wait-for.js'

export interface ServiceProcess {
  readonly daemon: Daemon
  readonly logs: LogLine[]
  readonly httpPort: number
  /** A counter or gauge from /metrics (sum over labels), or 0. */
  metric(name: string): Promise<number>
  stop(signal?: NodeJS.Signals): Promise<void>
}

export async function startServiceProcess(names: string[], env: Record<string, string>, label = names.join('+')): Promise<ServiceProcess> {
  const logs: LogLine[] = []
  const daemon = spawnDaemon(process.execPath, [join(ROOT, 'bin/suanyang.js'), 'start', ...names], {
    label,
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ENV_FILE: '', HOST: '127.0.0.1', LOG_LEVEL: 'info', HTTP_PORT: '0', ...env },
    onStdoutLine: (line) => {
      try {
        logs.push(JSON.parse(line) as LogLine)
      } catch {
        // not a log line
      }
    },
  })
  const started = await waitFor(
    () => {
      if (daemon.hasExited) throw new Error(`${label} exited before starting:\n${daemon.outputTail()}`)
      return logs.find((l) => l.msg === 'started')
    },
    { timeoutMs: 30_000, message: () => `${label} to start:\n${daemon.outputTail()}` },
  )
  const httpPort = started.httpPort as number
  return {
    daemon,
    logs,
    httpPort,
    async metric(name) {
      const text = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text())
      let sum = 0
      for (const line of text.split('\n')) {
        if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
      }
      return sum
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await daemon.stop({ signal, graceMs: 15_000 })
    },
  }
}
