/**
 * The two brokers of the benchmark, each in its own process so its memory and CPU can be read
 * from /proc: this project's broker (the real CLI, `suanyang start broker`, LevelDB persistence,
 * auth and ACL on) and Mosquitto (Debian package, password file + ACL file, persistence off).
 */
import { connect } from 'node:net'
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { requireBinary } from '../../test/helpers/binaries.js'
import { type Daemon, freePort, removeOnExit, spawnDaemon } from '../../test/helpers/daemon.js'
import type { Fixture } from './fixture.js'

const ROOT = resolve(import.meta.dirname, '../..')

export interface BrokerUnderTest {
  name: string
  port: number
  pid: number
  /** Our broker's HTTP port (/metrics), for the memory breakdown; absent for Mosquitto. */
  httpPort?: number
  stop(): Promise<void>
}

/** Resident set size of a process, bytes (VmRSS). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
  return Number(kb) * 1024
}

/** Where a process's resident memory is, MB: anonymous (heaps, buffers) vs file-backed (the binary, libraries). */
export async function rssParts(pid: number): Promise<{ anonMb: number; fileMb: number; threads: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { anonMb: kb('RssAnon') / 1024, fileMb: (kb('RssFile') + kb('RssShmem')) / 1024, threads: kb('Threads') }
}

/** process.memoryUsage() of our broker, MB by kind, read from its /metrics (nodejs_memory_bytes). */
export async function nodeMemory(httpPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^nodejs_memory_bytes\{kind="(\w+)"\} (\d+)/gm)) out[m[1] ?? ''] = Number(m[2]) / 1024 / 1024
  return out
}

/** CPU seconds by thread name (/proc/<pid>/task/<tid>/stat): the main thread vs libuv's pool, V8's GC helpers. */
export async function threadCpu(pid: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '')
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const key = tid === String(pid) ? 'main' : name
    out[key] = (out[key] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100
  }
  return out
}

/** CPU time a process has used (user + system), seconds. Linux clock ticks are 1/100 s. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const accepts = (port: number) =>
  new Promise<boolean>((done) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy()
      done(true)
    })
    s.once('error', () => done(false))
  })

async function whenListening(daemon: Daemon, port: number, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !daemon.hasExited) {
    if (await accepts(port)) return !daemon.hasExited
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

async function launch(
  name: string,
  start: (port: number) => Promise<Daemon>,
  cleanup: () => Promise<void>,
  httpPort?: number,
): Promise<BrokerUnderTest> {
  let tail = ''
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort()
    const daemon = await start(port)
    if (await whenListening(daemon, port)) {
      return {
        name,
        port,
        pid: daemon.pid,
        ...(httpPort === undefined ? {} : { httpPort }),
        async stop() {
          await daemon.stop({ graceMs: 10_000 })
          await cleanup()
        },
      }
    }
    tail = daemon.outputTail()
    await daemon.stop()
  }
  await cleanup()
  throw new Error(`${name} did not start:\n${tail}`)
}

/** `nodeFlags`: V8/Node options for the broker process, e.g. ['--max-semi-space-size=2']; `env`: more of its environment (bench/idle.ts' probe). */
export async function startSuanyang(fixture: Fixture, nodeFlags: string[] = [], env: Record<string, string> = {}): Promise<BrokerUnderTest> {
  const dataDir = await mkdtemp(join(tmpdir(), 'suanyang-bench-data-'))
  const keep = removeOnExit(dataDir)
  await copyFile(fixture.registryFile, join(dataDir, 'registry.sqlite'))
  const httpPort = await freePort()
  return launch(
    nodeFlags.length ? `suanyang ${nodeFlags.join(' ')}` : 'suanyang (aedes)',
    async (port) =>
      spawnDaemon(process.execPath, [...nodeFlags, join(ROOT, 'bin/suanyang.js'), 'start', 'broker'], {
        label: 'suanyang broker',
        cwd: ROOT,
        tempDir: dataDir,
        env: {
          PATH: process.env.PATH ?? '',
          DATA_DIR: dataDir,
          MQTT_PORT: String(port),
          MQTT_WS_PORT: '0',
          HTTP_PORT: String(httpPort),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn', // Mosquitto logs only errors and warnings too
          ...env,
        },
      }),
    async () => {
      await rm(dataDir, { recursive: true, force: true })
      keep()
    },
    httpPort,
  )
}

export async function startMosquittoBench(fixture: Fixture): Promise<BrokerUnderTest> {
  const binary = requireBinary('mosquitto', 'mosquitto')
  const dir = await mkdtemp(join(tmpdir(), 'suanyang-bench-mosquitto-'))
  const keep = removeOnExit(dir)
  return launch(
    'mosquitto 2',
    async (port) => {
      const config = join(dir, `mosquitto-${port}.conf`)
      const text = [
        'user root', // it would drop to user mosquitto, who cannot read the fixture
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${fixture.passwordFile}`,
        `acl_file ${fixture.aclFile}`,
        'persistence false',
        'set_tcp_nodelay true', // as our broker does (QoS 1 round trips otherwise wait on delayed ACKs)
        // Per-client windows as open as Aedes' (it has none): the load generator bounds the flow.
        'max_inflight_messages 0',
        'max_queued_messages 100000',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n')
      await writeFile(config, text)
      return spawnDaemon(binary, ['-c', config], { label: 'mosquitto' })
    },
    async () => {
      await rm(dir, { recursive: true, force: true })
      keep()
    },
  )
}
