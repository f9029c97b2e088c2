/**
 * Real server processes for integration tests: spawn, keep a tail of their output for error
 * messages, stop with SIGTERM then SIGKILL, and never leave an orphan behind. A watchdog `sh`
 * per daemon holds a pipe from this process: if the test worker dies in any way (even SIGKILL),
 * the pipe closes, `read` returns and the watchdog kills the daemon and removes its temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { StringDecoder } from 'node:string_decoder'

export interface DaemonExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface Daemon {
  readonly label: string
  readonly pid: number
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<DaemonExit>
  readonly hasExited: boolean
  /** The last few KiB of stdout and stderr, for error messages. */
  outputTail(): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(options?: { graceMs?: number; signal?: NodeJS.Signals }): Promise<DaemonExit>
}

export interface SpawnDaemonOptions {
  label: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Removed by the watchdog if this process dies without cleaning up. */
  tempDir?: string
  /** Every complete line of stdout, as it arrives (the tail alone would lose old lines). */
  onStdoutLine?: (line: string) => void
  /** Run as this user (a root test process starting a server that refuses root, e.g. postgres). */
  uid?: number
  gid?: number
}

const TAIL_CHARS = 8192
const live = new Set<{ pid: number; tempDir: string | undefined }>()
const dirsToRemove = new Set<string>()
let exitHookInstalled = false

// Last resort for a worker that exits without calling close(): kill synchronously.
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const entry of live) {
      try {
        process.kill(entry.pid, 'SIGKILL')
      } catch {
        // already gone
      }
      if (entry.tempDir !== undefined) dirsToRemove.add(entry.tempDir)
    }
    for (const dir of dirsToRemove) rmSync(dir, { recursive: true, force: true })
  })
}

/** Remove `dir` when this process exits, unless the returned function is called first. */
export function removeOnExit(dir: string): () => void {
  installExitHook()
  dirsToRemove.add(dir)
  return () => {
    dirsToRemove.delete(dir)
  }
}

const unrefStream = (stream: unknown): void => {
  if (stream instanceof Socket) stream.unref()
}
const refStream = (stream: unknown): void => {
  if (stream instanceof Socket) stream.ref()
}

function startWatchdog(pid: number, tempDir: string | undefined): ChildProcess {
  const script = 'read -r _; kill -KILL "$1" 2>/dev/null; if [ -n "$2" ]; then sleep 0.2; rm -rf "$2"; fi'
  const watchdog = spawn('sh', ['-c', script, 'watchdog', String(pid), tempDir ?? ''], {
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  watchdog.on('error', () => {}) // sh missing would already have failed everything else
  watchdog.unref()
  unrefStream(watchdog.stdin)
  return watchdog
}

export function spawnDaemon(command: string, args: readonly string[], options: SpawnDaemonOptions): Daemon {
  installExitHook()
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined && { uid: options.uid }),
    ...(options.gid !== undefined && { gid: options.gid }),
  })
  let tail = ''
  const keepTail = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_CHARS)
  }
  child.stdout?.on('data', keepTail)
  const onLine = options.onStdoutLine
  if (onLine !== undefined) {
    let partial = ''
    const decoder = new StringDecoder('utf8') // a chunk may end inside a multi-byte character
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + decoder.write(chunk)).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) onLine(line)
    })
  }
  child.stderr?.on('data', keepTail)
  unrefStream(child.stdout)
  unrefStream(child.stderr)
  child.unref()

  let exitInfo: DaemonExit | undefined
  let spawnError: Error | undefined
  const exited = new Promise<DaemonExit>((resolve) => {
    // 'close', not 'exit': by then stdout is drained, so no line is lost after the exit.
    child.on('close', (code, signal) => {
      exitInfo = { code, signal }
      resolve(exitInfo)
    })
    child.on('error', (err) => {
      spawnError = err
      exitInfo = { code: null, signal: null }
      resolve(exitInfo)
    })
  })

  const pid = child.pid
  const entry = { pid: pid ?? -1, tempDir: options.tempDir }
  const watchdog = pid === undefined ? undefined : startWatchdog(pid, options.tempDir)
  if (pid !== undefined) live.add(entry)
  void exited.then(() => {
    live.delete(entry)
    // The pid may be reused once reaped: the watchdog must never fire after this.
    watchdog?.kill('SIGKILL')
  })

  return {
    label: options.label,
    pid: entry.pid,
    exited,
    get hasExited() {
      return exitInfo !== undefined
    },
    outputTail: () => (spawnError ? `spawn error: ${spawnError.message}\n${tail}` : tail),
    async stop({ graceMs = 5000, signal = 'SIGTERM' } = {}) {
      if (exitInfo !== undefined) return exitInfo
      // Hold the event loop open until the exit is seen, or a script awaiting stop() would end first.
      child.ref()
      refStream(child.stdout)
      refStream(child.stderr)
      child.kill(signal)
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs)
      })
      const first = await Promise.race([exited, timedOut])
      clearTimeout(timer)
      if (first === 'timeout') child.kill('SIGKILL')
      return exited
    },
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (callers retry on EADDRINUSE). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))))
    })
  })
}

export const describeExit = (exit: DaemonExit): string =>
  exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${String(exit.code)}`
