/**
 * `suanyang start <service>` as a child process, as test/helpers/service-process.ts does it, plus
 * node flags for the child (`--cpu-prof` is refused in NODE_OPTIONS) so a bench run can profile
 * the broker or ingest it measures.
 */
import { join } from 'node:path'
import { ROOT, type LogLine } from '../../test/helpers/app.js'
import { spawnDaemon, type Daemon } from '../../test/helpers/daemon.js'
import { waitFor } from '../../test/helpers/wait-for.js'

export interface BenchService {
  readonly daemon: Daemon
  readonly logs: LogLine[]
  readonly httpPort: number
  /** /metrics as name{labels} -> value. */
  metrics(): Promise<Record<string, number>>
  stop(): Promise<void>
}

export async function startService(name: string, env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<BenchService> {
  const logs: LogLine[] = []
  const daemon = spawnDaemon(process.execPath, [...nodeArgs, join(ROOT, 'bin/suanyang.js'), 'start', name], {
    label: name,
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'info', ...env },
    onStdoutLine: (line) => {
      try {
        const l = JSON.parse(line) as LogLine
        if (l.level >= 40 || l.msg === 'started') logs.push(l) // warnings and errors are kept for the report
      } catch {
        // not a log line
      }
    },
  })
  const started = await waitFor(
    () => {
      if (daemon.hasExited) throw new Error(`${name} exited before starting:\n${daemon.outputTail()}`)
      return logs.find((l) => l.msg === 'started')
    },
    { timeoutMs: 30_000, message: () => `${name} to start:\n${daemon.outputTail()}` },
  )
  const httpPort = started.httpPort as number
  return {
    daemon,
    logs,
    httpPort,
    async metrics() {
      const text = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text())
      const out: Record<string, number> = {}
      for (const line of text.split('\n')) {
        if (line.startsWith('#') || line.trim() === '') continue
        const at = line.lastIndexOf(' ')
        out[line.slice(0, at)] = Number(line.slice(at + 1))
      }
      return out
    },
    async stop() {
      await daemon.stop({ graceMs: 15_000 })
    },
  }
}
