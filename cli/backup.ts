/**
 * `suanyang backup --out FILE` and `suanyang restore FILE` (issue 18): DATA_DIR as one .tar.gz,
 * taken while the system runs, restored onto a fresh machine. What is in DATA_DIR and how each
 * part is copied so the copy is consistent:
 * - registry.sqlite: VACUUM INTO, SQLite's own online copy (a consistent snapshot while other
 *   connections write); its -wal and -shm files are not needed and not copied.
 * - On PostgreSQL (DATABASE_URL): `pg_dump --format=custom` into registry.pgdump when pg_dump is
 *   installed (else said so, and left to the operator); restore loads it with pg_restore only
 *   into a database that has no registry yet, never over one.
 * - spool/: the ingest spool. Each directory's checkpoint.json is copied before its segments, so
 *   a restored spool replays from an older point at worst (InfluxDB overwrites replays), and a
 *   segment is cut after its last complete line (an append under way is not half kept).
 * - credentials/, alerts/, deadletter/, accounts and state files: as they are (each is written
 *   atomically, by rename).
 * - broker/: not copied. The broker's LevelDB session store cannot be copied file by file while
 *   the broker writes it; devices and ingest subscribe again when they reconnect. Lock and
 *   temporary files are not copied either.
 */
import { execFile } from 'node:child_process'
import { createReadStream, createWriteStream } from 'node:fs'
import { lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { createGunzip, createGzip } from 'node:zlib'
import { RegistryEnv } from '../registry/config.js'
import { openDatabase, redactUrl } from '../registry/index.js'
import { openSqlite } from '../registry/sqlite.js'
import { CommonEnv, loadAll } from '../runtime/config.js'
import { parseCommand } from './args.js'
import { runningSuanyang } from './doctor.js'
import type { CommandIo } from './io.js'
import { fail } from './io.js'
import { type TarEntry, TarError, encodeEntry, readTar, TAR_END } from './tar.js'

const BACKUP_USAGE = `Usage: suanyang backup --out FILE
Writes DATA_DIR (the SQLite registry, the ingest spool, credentials, alert state, dead letters)
into FILE, a .tar.gz, while the system runs. The broker's session store is left out (devices
reconnect). A PostgreSQL registry (DATABASE_URL) goes in by pg_dump, when it is installed.
`
const RESTORE_USAGE = `Usage: suanyang restore FILE [--force]
Restores a backup into DATA_DIR, which must be empty or absent; --force moves what is there to
DATA_DIR.before-restore-<time> first. Stop suanyang before restoring. A PostgreSQL registry in
the backup is loaded into DATABASE_URL by pg_restore when that database has no registry yet.
`
const REGISTRY = 'registry.sqlite'
const PG_DUMP = 'registry.pgdump'
const run = promisify(execFile)

/** pg_dump's or pg_restore's first line of complaint, for a one-line failure. */
const toolError = (err: unknown) => ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n')[0] ?? 'failed'

/** The PostgreSQL registry as pg_dump's custom format, or why it is not in the backup. */
async function pgDump(databaseUrl: string, file: string): Promise<{ ok: true } | { ok: false; missing: boolean; reason: string }> {
  try {
    await run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${file}`, databaseUrl], { timeout: 600_000 })
    return { ok: true }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, missing: true, reason: 'pg_dump is not installed (apt-get install postgresql-client)' }
    return { ok: false, missing: false, reason: toolError(err) }
  }
}
/** Not copied: SQLite's side files (the snapshot stands alone), locks, temporaries, the broker store. */
const SKIP = [/^registry\.sqlite-(wal|shm|journal)$/, /\.lock$/, /\.tmp$/, /^broker$/]

function configOf(io: CommandIo) {
  const [common, registry] = loadAll([CommonEnv, RegistryEnv] as const, io.env)
  return { dataDir: resolve(common.DATA_DIR), databaseUrl: registry.DATABASE_URL, httpPort: common.HTTP_PORT }
}

/** Files and directories under `dir`, checkpoint.json first in each directory (see above). */
async function walk(root: string, rel = ''): Promise<string[]> {
  const names = (await readdir(join(root, rel))).filter((n) => !SKIP.some((re) => re.test(n)) && !(rel === '' && (n === REGISTRY || n === PG_DUMP)))
  names.sort((a, b) => (a === 'checkpoint.json' ? -1 : b === 'checkpoint.json' ? 1 : a < b ? -1 : a > b ? 1 : 0))
  const out: string[] = []
  for (const name of names) {
    const path = rel === '' ? name : `${rel}/${name}`
    const st = await lstat(join(root, path)).catch(() => undefined) // gone meanwhile: a confirmed segment
    if (st?.isDirectory()) out.push(path, ...(await walk(root, path)))
    else if (st?.isFile()) out.push(path)
  }
  return out
}

/** One file as it goes into the archive, or undefined when it went away meanwhile. */
async function entryOf(root: string, path: string): Promise<TarEntry | undefined> {
  const abs = join(root, path)
  const st = await stat(abs).catch(() => undefined)
  if (!st) return undefined
  if (st.isDirectory()) return { path, type: 'dir', mode: st.mode, mtimeMs: st.mtimeMs }
  let data = await readFile(abs).catch(() => undefined)
  if (!data) return undefined
  // A spool segment: only complete lines (an append in flight is the next backup's).
  if (path.startsWith('spool/') && /^seg-\d{10}\.lp$/.test(basename(path))) data = data.subarray(0, data.lastIndexOf(0x0a) + 1)
  return { path, type: 'file', mode: st.mode, mtimeMs: st.mtimeMs, data }
}

export async function backupCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand('backup', { args, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    io.stdout.write(BACKUP_USAGE)
    return 0
  }
  if (!values.out) return fail(io, 'suanyang backup: --out FILE is missing (where to write the .tar.gz)')
  const { dataDir, databaseUrl } = configOf(io)
  if (!(await stat(dataDir).catch(() => undefined))?.isDirectory()) return fail(io, `suanyang backup: DATA_DIR ${dataDir} does not exist; set DATA_DIR to the installation's data`, 1)
  const out = resolve(values.out)
  if (out.startsWith(`${dataDir}/`)) return fail(io, `suanyang backup: --out ${values.out} is inside DATA_DIR; write the backup elsewhere`)
  await mkdir(dirname(out), { recursive: true })
  const staging = await mkdtemp(join(dirname(out), '.suanyang-backup-'))
  const partial = join(staging, 'backup.tar.gz')
  try {
    const entries: TarEntry[] = []
    if (databaseUrl === undefined && (await stat(join(dataDir, REGISTRY)).catch(() => undefined))) {
      const snapshot = join(staging, REGISTRY)
      const db = openSqlite({ path: join(dataDir, REGISTRY) })
      try {
        await db.run('VACUUM INTO ?', [snapshot])
      } finally {
        await db.close()
      }
      const st = await stat(join(dataDir, REGISTRY))
      entries.push({ path: REGISTRY, type: 'file', mode: st.mode, mtimeMs: st.mtimeMs, data: await readFile(snapshot) })
    }
    let registry = entries.length > 0 ? 'registry snapshot' : 'no registry yet'
    if (databaseUrl !== undefined) {
      const dumped = await pgDump(databaseUrl, join(staging, PG_DUMP))
      if (!dumped.ok && !dumped.missing) return fail(io, `suanyang backup: pg_dump of ${redactUrl(databaseUrl)} failed: ${dumped.reason}`, 1)
      if (dumped.ok) entries.push({ path: PG_DUMP, type: 'file', mode: 0o600, mtimeMs: Date.now(), data: await readFile(join(staging, PG_DUMP)) })
      registry = dumped.ok ? `PostgreSQL registry by pg_dump` : `PostgreSQL registry NOT included: ${dumped.reason}; back it up with pg_dump`
    }
    let files = entries.length
    const gzip = createGzip()
    const written = pipeline(gzip, createWriteStream(partial, { mode: 0o600 }))
    for (const e of entries) gzip.write(encodeEntry(e))
    for (const path of await walk(dataDir)) {
      const e = await entryOf(dataDir, path)
      if (!e) continue
      if (e.type === 'file') files++
      if (!gzip.write(encodeEntry(e))) await new Promise((r) => gzip.once('drain', r))
    }
    gzip.end(TAR_END)
    await written
    await rename(partial, out)
    const size = (await stat(out)).size
    io.stdout.write(`wrote ${values.out}: ${files} files of ${dataDir} (${registry}), ${size} bytes\n`)
    return 0
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function isEmptyDir(dir: string): Promise<boolean | undefined> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)))
  return names === undefined ? undefined : names.length === 0
}

export async function restoreCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommand('restore', { args, allowPositionals: true, options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    io.stdout.write(RESTORE_USAGE)
    return 0
  }
  const [file, ...extra] = positionals
  if (!file || extra.length > 0) return fail(io, 'suanyang restore: give one backup file (suanyang restore FILE)')
  const { dataDir, httpPort, databaseUrl } = configOf(io)
  // Files replaced under a running system are overwritten by it, or it by them: refuse.
  const running = httpPort > 0 ? await runningSuanyang(httpPort) : undefined
  if (running) return fail(io, `suanyang restore: a suanyang is running here (HTTP_PORT ${httpPort}: ${running.join(', ')}); stop it first`, 1)
  const empty = await isEmptyDir(dataDir)
  if (empty === false && !values.force) return fail(io, `suanyang restore: DATA_DIR ${dataDir} is not empty; stop suanyang and add --force to move it aside first`, 1)
  await stat(file) // a missing file is its own one line (cli/args.ts), before anything is written
  // Into a sibling first, then renamed into place: a restore cut short leaves DATA_DIR as it was.
  const staging = `${dataDir}.restoring-${process.pid}`
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true, mode: 0o700 })
  let files = 0
  try {
    for await (const e of readTar(createReadStream(file).pipe(createGunzip()))) {
      const abs = join(staging, e.path)
      if (e.type === 'dir') await mkdir(abs, { recursive: true, mode: e.mode & 0o777 })
      else {
        await mkdir(dirname(abs), { recursive: true })
        await writeFile(abs, e.data ?? Buffer.alloc(0), { mode: e.mode & 0o777 })
        files++
      }
    }
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    if (err instanceof TarError) return fail(io, `suanyang restore: ${file}: ${err.message}`, 1)
    if ((err as { code?: string }).code?.startsWith('Z_')) return fail(io, `suanyang restore: ${file} is not a suanyang backup (.tar.gz): ${(err as Error).message}`, 1)
    throw err
  }
  let moved: string | undefined
  if (empty === false) {
    moved = `${dataDir}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`
    await rename(dataDir, moved)
  } else if (empty === true) await rm(dataDir, { recursive: true })
  await mkdir(dirname(dataDir), { recursive: true })
  await rename(staging, dataDir)
  io.stdout.write(`restored ${files} files into ${dataDir}${moved ? ` (what was there is in ${moved})` : ''}\n`)
  const dump = join(dataDir, PG_DUMP)
  if (!(await stat(dump).catch(() => undefined))) return 0
  return restorePostgres(dump, databaseUrl, io)
}

/** The backup's PostgreSQL registry into DATABASE_URL, only when that database has none yet. */
async function restorePostgres(dump: string, databaseUrl: string | undefined, io: CommandIo): Promise<number> {
  const by = `pg_restore --no-owner -d "$DATABASE_URL" ${dump}`
  if (databaseUrl === undefined) return fail(io, `suanyang restore: the backup holds a PostgreSQL registry (${dump}); set DATABASE_URL to an empty database and run: ${by}`, 1)
  const db = await openDatabase({ dataDir: '.', databaseUrl })
  let existing: unknown
  try {
    existing = (await db.get<{ t: unknown }>("SELECT to_regclass('public.schema_migrations') AS t"))?.t
  } finally {
    await db.close()
  }
  if (existing !== null && existing !== undefined) return fail(io, `suanyang restore: ${redactUrl(databaseUrl)} already holds a registry, left as it is; to replace it, empty it and run: ${by}`, 1)
  try {
    await run('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${databaseUrl}`, dump], { timeout: 600_000 })
  } catch (err) {
    return fail(io, `suanyang restore: pg_restore into ${redactUrl(databaseUrl)} failed: ${toolError(err)}; the dump stays in ${dump}`, 1)
  }
  await rm(dump)
  io.stdout.write(`restored the PostgreSQL registry into ${redactUrl(databaseUrl)}\n`)
  return 0
}
