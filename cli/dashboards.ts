/**
 * `suanyang dashboards --out DIR [--watch]` (issue 14): the Grafana dashboards per cooperative,
 * from the registry, as a file tree Grafana provisions with `foldersFromFilesStructure`
 * (dashboards/provisioning/dashboards/registry.yaml). Each file is written atomically and only
 * when its content changed (Grafana re-reads on a checksum change); folders of cooperatives
 * that left, and files of dashboards no longer planned, are removed. With --watch, the tree is
 * rewritten whenever the registry changes (registry/watch.ts), until SIGINT or SIGTERM;
 * `suanyang start` does the same next to its services when DASHBOARDS_DIR is set.
 *
 * DIR is the command's own: it must be empty or hold the marker file of an earlier run, so a
 * mistyped --out never deletes anything else.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import type { Tenancy } from '../dashboards/tenancy.js'
import type { Registry } from '../registry/index.js'
import { RegistryWatch } from '../registry/watch.js'
import { optionalString } from '../runtime/config.js'
import { writeFileAtomic } from '../runtime/files.js'
import { usageLine } from './args.js'
import { type CommandIo, fail } from './io.js'
import { openCliRegistry } from './registry-io.js'

const USAGE = `Usage: suanyang dashboards --out DIR [--watch] [--json]
Writes one folder per cooperative (its farms only), one for farms without a cooperative and
one for training farms, as Grafana provisioning reads them (foldersFromFilesStructure).
  --watch   keep running; rewrite the tree whenever the registry changes
  --json    one JSON line per write: {"written":[...],"removed":[...],"folders":[...]}
`

/** `suanyang start` keeps the tree in DASHBOARDS_DIR when it is set (cli/app.ts), as `--watch` does. */
export const DashboardsEnv = z.object({ DASHBOARDS_DIR: optionalString() })

/** Left in DIR: says the directory is this command's to rewrite. Grafana skips it (not .json). */
export const MARKER = '.suanyang-dashboards'

/** Readable by Grafana's own user (uid 472 in its image). */
const FILE_MODE = 0o644

export interface WriteReport {
  written: string[]
  removed: string[]
  folders: string[]
}

/** The registry's cooperatives and farms, as the dashboards read them. */
export async function readTenancy(registry: Registry): Promise<Tenancy> {
  const [cooperatives, farms] = await Promise.all([registry.cooperatives.list(), registry.farms.list()])
  return {
    cooperatives: cooperatives.map((c) => ({ id: c.id, nameTh: c.nameTh, nameEn: c.nameEn })),
    farms: farms.map((f) => ({ id: f.id, cooperativeId: f.cooperativeId, nameTh: f.nameTh, nameEn: f.nameEn, training: f.training, latDeg: f.latDeg, lonDeg: f.lonDeg })),
  }
}

/** Is DIR ours (marker present) or empty? Creates it when missing. */
async function claim(out: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  await mkdir(out, { recursive: true })
  const entries = await readdir(out)
  if (entries.includes(MARKER)) return { ok: true }
  if (entries.length > 0) return { ok: false, reason: `${out} is not empty and was not written by suanyang dashboards (no ${MARKER}): choose an empty directory` }
  await writeFile(join(out, MARKER), 'Written by `suanyang dashboards`: everything here is rewritten from the registry.\n', { mode: FILE_MODE })
  return { ok: true }
}

const readOr = (path: string) => readFile(path, 'utf8').catch(() => undefined)

/** Writes `files` (relative paths) under `out`, removes what is not in it; the marker stays. */
export async function writeTree(out: string, files: ReadonlyMap<string, string>): Promise<WriteReport> {
  const report: WriteReport = { written: [], removed: [], folders: [...new Set([...files.keys()].map((p) => p.split('/')[0] as string))].sort() }
  for (const [rel, content] of files) {
    const path = join(out, rel)
    if ((await readOr(path)) === content) continue
    await mkdir(join(path, '..'), { recursive: true, mode: 0o755 })
    await writeFileAtomic(path, content, FILE_MODE)
    report.written.push(rel)
  }
  const keepDirs = new Set(report.folders)
  for (const entry of await readdir(out)) {
    if (entry === MARKER) continue
    const path = join(out, entry)
    const isDir = (await stat(path)).isDirectory()
    if (!isDir || !keepDirs.has(entry)) {
      await rm(path, { recursive: true, force: true })
      report.removed.push(entry)
      continue
    }
    for (const file of await readdir(path)) {
      if (files.has(`${entry}/${file}`)) continue
      await rm(join(path, file), { recursive: true, force: true })
      report.removed.push(`${entry}/${file}`)
    }
  }
  return report
}

/** Reads the registry once and brings the tree in line with it. */
export async function writeFromRegistry(registry: Registry, out: string): Promise<{ ok: true; report: WriteReport } | { ok: false; reason: string }> {
  // The SDK builders load only here: the other commands do not pay for them.
  const { renderTenancy } = await import('../dashboards/tenancy.js')
  const tree = renderTenancy(await readTenancy(registry))
  if (!tree.ok) return tree
  return { ok: true, report: await writeTree(out, tree.files) }
}

function say(io: CommandIo, json: boolean | undefined, report: WriteReport): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(report)}\n`)
    return
  }
  const folders = report.folders.length === 0 ? 'no farms in the registry: no folders' : `${report.folders.length} folder(s): ${report.folders.join(', ')}`
  io.stdout.write(`${folders}; ${report.written.length} file(s) written, ${report.removed.length} removed\n`)
}

export async function dashboardsCommand(args: string[], io: CommandIo): Promise<number> {
  let values: { out?: string; watch?: boolean; json?: boolean; help?: boolean }
  try {
    ;({ values } = parseArgs({ args, options: { out: { type: 'string' }, watch: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }))
  } catch (err) {
    return fail(io, usageLine('dashboards', err) ?? `${(err as Error).message}\n\n${USAGE}`)
  }
  if (values.help) {
    io.stdout.write(USAGE)
    return 0
  }
  if (values.out === undefined || values.out === '') return fail(io, `--out DIR is required\n\n${USAGE}`)
  const out = values.out
  const claimed = await claim(out)
  if (!claimed.ok) return fail(io, claimed.reason, 1)
  const registry = await openCliRegistry(io)
  if (!registry) return 1
  if (!values.watch) {
    try {
      const r = await writeFromRegistry(registry, out)
      if (!r.ok) return fail(io, r.reason, 1)
      say(io, values.json, r.report)
      return 0
    } finally {
      await registry.close()
    }
  }
  return watch(registry, out, io, values.json)
}

/** What the keeper says: each write, and what went wrong (a failed read or write keeps the last tree). */
export interface KeeperReport {
  wrote(report: WriteReport): void
  failed(err: unknown): void
}

export interface DashboardKeeper {
  /** Stops following; resolves once a write under way has finished. */
  close(): Promise<void>
}

/**
 * Keeps the tree under `out` in line with the registry: written once now (its errors reach the
 * caller), then again at every change of the registry, one write at a time.
 */
export async function keepDashboards(registry: Registry, out: string, report: KeeperReport): Promise<DashboardKeeper> {
  const claimed = await claim(out)
  if (!claimed.ok) throw new Error(claimed.reason)
  const { renderTenancy } = await import('../dashboards/tenancy.js')
  let writing = Promise.resolve()
  let first: unknown
  const watcher = new RegistryWatch<Tenancy>(registry, {
    read: readTenancy,
    onChange: (tenancy) => {
      writing = writing
        .then(async () => {
          const tree = renderTenancy(tenancy)
          if (!tree.ok) throw new Error(tree.reason)
          report.wrote(await writeTree(out, tree.files))
        })
        .catch((err: unknown) => {
          first ??= err
          report.failed(err)
        })
    },
    onError: (err) => report.failed(err),
  })
  await watcher.start()
  await writing
  if (first !== undefined) {
    watcher.close()
    throw first instanceof Error ? first : new Error(String(first))
  }
  return {
    async close() {
      watcher.close()
      await writing
    },
  }
}

/** `--watch`: the keeper until SIGINT or SIGTERM. */
async function watch(registry: Registry, out: string, io: CommandIo, json: boolean | undefined): Promise<number> {
  let keeper: DashboardKeeper
  try {
    keeper = await keepDashboards(registry, out, {
      wrote: (report) => say(io, json, report),
      failed: (err) => io.stderr.write(`dashboards: ${(err as Error).message}\n`),
    })
  } catch (err) {
    io.stderr.write(`dashboards: ${(err as Error).message}\n`)
    await registry.close()
    return 1
  }
  // The watch's interval is unref'd: this keeps the process alive until a signal.
  const alive = setInterval(() => undefined, 60_000)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  clearInterval(alive)
  await keeper.close()
  await registry.close()
  return 0
}
