/**
 * A real PostgreSQL server (Debian's postgresql package) per call: initdb into a temp dir, then
 * `postgres` on a free loopback port with its unix socket in that dir, trust auth, no fsync (a
 * test server: speed over durability). initdb and postgres refuse to run as root, so a root test
 * process runs them as the `postgres` user the Debian package creates. One server serves a whole
 * test file: `createDatabase()` gives each test an empty database of its own.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { requireBinary } from './binaries.js'
import { describeExit, freePort, removeOnExit, spawnDaemon, type Daemon } from './daemon.js'
import { waitFor } from './wait-for.js'

const run = promisify(execFile)
const SUPERUSER = 'postgres'

export interface PostgresHandle {
  /** The server's own `postgres` database, as superuser. */
  readonly url: string
  readonly port: number
  readonly dir: string
  /** A new empty database; returns its URL. */
  createDatabase(name?: string): Promise<string>
  /** Stops the server (fast shutdown) and removes its directory. Safe to call twice. */
  close(): Promise<void>
}

interface RunAs {
  uid: number
  gid: number
}

/** Root cannot run initdb: the `postgres` system user, read from /etc/passwd. */
async function runAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined
  const passwd = await readFile('/etc/passwd', 'utf8')
  const entry = passwd.split('\n').find((line) => line.startsWith('postgres:'))
  const [, , uid, gid] = entry?.split(':') ?? []
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root and there is no "postgres" user for initdb: install it with `apt-get install -y postgresql`')
  }
  return { uid: Number(uid), gid: Number(gid) }
}

export async function startPostgres(options: { startTimeoutMs?: number } = {}): Promise<PostgresHandle> {
  const initdb = requireBinary('initdb', 'postgresql')
  const server = join(dirname(initdb), 'postgres') // the same major version as initdb
  const user = await runAs()
  const dir = await mkdtemp(join(tmpdir(), 'suanyang-pg-'))
  const keepUntilExit = removeOnExit(dir)
  if (user) await chown(dir, user.uid, user.gid)
  const data = join(dir, 'data')
  let daemon: Daemon | undefined
  let closed = false
  const cleanup = async () => {
    // SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every client to leave).
    await daemon?.stop({ signal: 'SIGINT', graceMs: 10_000 })
    await rm(dir, { recursive: true, force: true })
    keepUntilExit()
  }
  try {
    await run(initdb, ['-D', data, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
      ...(user && { uid: user.uid, gid: user.gid }),
      cwd: dir,
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`initdb failed: ${err.stderr ?? err.message}`)
    })
    const { daemon: started, port } = await launch(server, data, dir, user, options.startTimeoutMs ?? 30_000)
    daemon = started
    const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`
    return {
      url,
      port,
      dir,
      async createDatabase(name = `t_${randomBytes(5).toString('hex')}`) {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name "${name}"`)
        const client = new pg.Client({ connectionString: url })
        await client.connect()
        try {
          await client.query(`CREATE DATABASE ${name}`)
        } finally {
          await client.end()
        }
        return `postgres://${SUPERUSER}@127.0.0.1:${port}/${name}`
      },
      async close() {
        if (closed) return
        closed = true
        await cleanup()
      },
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** Starts postgres on a free port; retries a port taken between the probe and the bind. */
async function launch(server: string, data: string, dir: string, user: RunAs | undefined, timeoutMs: number): Promise<{ daemon: Daemon; port: number }> {
  let reason = ''
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort()
    const daemon = spawnDaemon(
      server,
      [
        '-D', data, '-p', String(port), '-k', dir,
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'autovacuum=off', '-c', 'max_connections=40', '-c', 'shared_buffers=16MB',
      ],
      { label: 'postgres', cwd: dir, tempDir: dir, ...(user && { uid: user.uid, gid: user.gid }) },
    )
    const ready = await waitFor(
      async () => {
        if (daemon.hasExited) return 'exited'
        const client = new pg.Client({ connectionString: `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres` })
        client.on('error', () => {})
        try {
          await client.connect()
          await client.query('SELECT 1')
          return 'ready'
        } finally {
          await client.end().catch(() => undefined)
        }
      },
      { timeoutMs, intervalMs: 50, message: () => `postgres answering on port ${port}; output tail:\n${daemon.outputTail()}` },
    )
    if (ready === 'ready') return { daemon, port }
    const exit = await daemon.exited
    reason = `postgres failed to start (${describeExit(exit)}); output tail:\n${daemon.outputTail().split('\n').slice(-20).join('\n')}`
    if (!/could not bind|already in use/i.test(daemon.outputTail())) break
  }
  throw new Error(reason)
}
