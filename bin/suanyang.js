#!/usr/bin/env node
// The package's command. A fresh clone needs no build step: the TypeScript the command reaches is
// transpiled once (esbuild, which tsx brings) into a cache keyed by the sources' content, then
// imported as plain JavaScript. tsx's loader would do the same on every start, but module.register
// runs it in a worker thread with its own V8 heap: ~30 MB of the broker's RSS for as long as it
// runs (issue 3's memory budget). Any failure of the cache path falls back to the tsx loader.
import { createHash } from 'node:crypto'
import { lstat, mkdir, readFile, readdir, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import v8 from 'node:v8'

// The registry uses the built-in node:sqlite (Node 22.13+): say so in one line, not a stack trace.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(`suanyang needs Node.js 22.13 or newer (24, the current LTS, is best); this is ${process.version}\n`)
  process.exit(1)
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ENTRY = 'cli/main.ts'
/** Bump when the transpile options below change: old cache entries are then ignored. */
const FORMAT = 3
const NODE_TARGET = `node${process.versions.node.split('.')[0]}`
const UNUSED_ENTRY_MS = 24 * 3_600_000

// The broker holds ~10 KB of live objects per connected device, and V8's default heap growth
// (up to 2-4x the live size before the next full GC) kept ~100 MB of garbage in its 10,000-device
// RSS. 10 % growth keeps the heap near its live size; set at run time, V8 reads it at every GC.
// A value given on the command line or in NODE_OPTIONS wins (0: V8's own choice).
const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`
if (process.argv[2] === 'start' && !/--heap[-_]growing[-_]percent/.test(given)) v8.setFlagsFromString('--heap-growing-percent=10')
if (process.argv[2] === 'start') leanRestart()

/**
 * Two memory settings a process can only be given when it starts (issue 20, measured with
 * bench/idle.ts and bench/broker.ts at 10,000 idle devices): under a fleet's connect storm V8
 * grows its young generation to 128 MB and keeps it (--max-semi-space-size=8 caps it at 16 MB:
 * RSS 320 -> ~217 MB; 2 would give ~210 MB but doubled the CPU per message at QoS 0 and 1, more
 * scavenges promoting messages in flight), and glibc gives each thread (libuv's pool, where
 * scrypt and LevelDB run) its own malloc arena (MALLOC_ARENA_MAX=2: ~4 MB). So `start`
 * replaces itself, same pid, same arguments, once, with both set; a value given on the command
 * line, in NODE_OPTIONS or in the environment wins. Node without process.execve (before 23.11)
 * runs on with V8's and glibc's defaults.
 */
function leanRestart() {
  const semi = /--max[-_]semi[-_]space[-_]size/.test(given)
  // Set after the restart, so it happens once; SUANYANG_NO_RESTART=1 keeps the first process.
  if (typeof process.execve !== 'function' || process.env.SUANYANG_NO_RESTART || (semi && process.env.MALLOC_ARENA_MAX)) return
  const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' }
  const flags = semi ? [] : ['--max-semi-space-size=8']
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...flags, ...process.argv.slice(1)], env)
  } catch (err) {
    if (process.env.SUANYANG_CACHE_DEBUG) process.stderr.write(`suanyang: restart with memory settings: ${err?.stack ?? err}\n`)
  }
}

const args = process.argv.slice(2)
const io = { env: process.env, stdout: process.stdout, stderr: process.stderr }
const compiled = process.env.SUANYANG_NO_CACHE ? undefined : await compiledEntry().catch(debug)
let main
if (compiled) {
  // Stack traces point at the .ts sources, as under tsx (source maps are off by default).
  if (typeof process.setSourceMapsSupport === 'function') process.setSourceMapsSupport(true, { nodeModules: true })
  else process.setSourceMapsEnabled(true)
  ;({ main } = await import(pathToFileURL(compiled).href))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import('../cli/main.ts'))
}
const code = await main(args, io)
// Exit explicitly: a closed service must not keep the process alive through a stray handle. But
// only once stdout and stderr have drained: a pipe takes 64 KiB at a time, and process.exit
// drops what it has not taken yet (issue 13: `--json | jq` got a cut document).
const failed = await Promise.all([process.stdout, process.stderr].map(drained))
process.exit(code === 0 && failed.some(Boolean) ? 1 : code)

/**
 * Resolves when everything written so far has left: false, or true when it could not be written
 * (a reader that went away early, `| head`, is EPIPE and not a failure).
 */
function drained(stream) {
  return new Promise((resolve) => {
    stream.once('error', (err) => resolve(err.code !== 'EPIPE'))
    stream.write('', (err) => resolve(err ? err.code !== 'EPIPE' : false))
  })
}

/** Why the cache was not used (SUANYANG_CACHE_DEBUG=1): the fallback is silent otherwise. */
function debug(err) {
  if (process.env.SUANYANG_CACHE_DEBUG) process.stderr.write(`suanyang: compile cache: ${err?.stack ?? err}\n`)
  return undefined
}

/** The compiled cli/main.js for the current sources, building the cache entry if needed. */
async function compiledEntry() {
  const roots = await cacheRoots()
  for (const root of roots) {
    const entry = await validEntry(root)
    if (entry) return join(entry, 'cli/main.js')
  }
  for (const root of roots) {
    const entry = await build(root).catch(debug)
    if (entry) return join(entry, 'cli/main.js')
  }
  return undefined
}

/**
 * Where entries may live: node_modules/.cache (per checkout), else a private dir under the OS
 * temp dir (a read-only checkout, e.g. the Docker image run as `node`).
 */
async function cacheRoots() {
  const roots = [{ dir: join(ROOT, 'node_modules/.cache/suanyang'), linkModules: false }]
  const uid = process.getuid?.() ?? 'user'
  const tmp = join(tmpdir(), `suanyang-js-${uid}`)
  await mkdir(tmp, { mode: 0o700 }).catch(() => undefined)
  // Shared temp dirs: only a directory of our own that nobody else can write into.
  const st = await lstat(tmp).catch(() => undefined)
  if (st?.isDirectory() && (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o022) === 0) {
    roots.push({ dir: tmp, linkModules: true })
  }
  return roots
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex')
}

/** The entry `latest` names, if every source it was built from is unchanged. */
async function validEntry(root) {
  try {
    const name = (await readFile(join(root.dir, 'latest'), 'utf8')).trim()
    const entry = join(root.dir, name)
    const manifest = JSON.parse(await readFile(join(entry, 'manifest.json'), 'utf8'))
    // The module graph is decided by these files' imports: if none changed, neither did it.
    const hashes = await Promise.all(manifest.files.map(async (rel) => [rel, sha256(await readFile(join(ROOT, rel)))]))
    if (entryName(hashes) !== name) return undefined
    const now = new Date()
    await utimes(entry, now, now).catch(() => undefined) // marks it in use for pruning
    return entry
  } catch {
    return undefined
  }
}

function entryName(hashes) {
  const sorted = [...hashes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return sha256(JSON.stringify([FORMAT, NODE_TARGET, sorted])).slice(0, 24)
}

/** Transpiles every project file the entry point reaches into a new entry, atomically. */
async function build(root) {
  const esbuild = await loadEsbuild()
  try {
    await mkdir(root.dir, { recursive: true })
    const graph = await esbuild.build({
      entryPoints: [join(ROOT, ENTRY)],
      absWorkingDir: ROOT,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      outdir: join(root.dir, 'unused'),
      logLevel: 'silent',
    })
    const files = Object.keys(graph.metafile.inputs).map((p) => relative(ROOT, resolve(ROOT, p)))
    const sources = await Promise.all(files.map(async (rel) => ({ rel, text: await readFile(join(ROOT, rel)) })))
    const name = entryName(sources.map(({ rel, text }) => [rel, sha256(text)]))
    const entry = join(root.dir, name)
    const staging = `${entry}.${process.pid}.${Date.now()}.tmp`
    const tsconfigRaw = await readFile(join(ROOT, 'tsconfig.json'), 'utf8')
    await Promise.all(
      sources.map(async ({ rel, text }) => {
        const abs = join(ROOT, rel)
        await mkdir(dirname(join(staging, rel)), { recursive: true })
        if (!rel.endsWith('.ts')) return writeFile(join(staging, rel), text)
        const out = await esbuild.transform(text.toString('utf8'), {
          loader: 'ts',
          format: 'esm',
          target: NODE_TARGET,
          tsconfigRaw,
          keepNames: true, // as tsx: class and function names survive for logs and errors
          sourcemap: 'external',
          sourcesContent: false,
          sourcefile: abs,
          // The module sees its own source location, as under tsx (console/static.ts serves public/ from it).
          define: {
            'import.meta.url': JSON.stringify(pathToFileURL(abs).href),
            'import.meta.dirname': JSON.stringify(dirname(abs)),
            'import.meta.filename': JSON.stringify(abs),
          },
        })
        const js = join(staging, rel.replace(/\.ts$/, '.js'))
        await writeFile(`${js}.map`, out.map)
        await writeFile(js, `${out.code}//# sourceMappingURL=${js.slice(js.lastIndexOf('/') + 1)}.map\n`)
      }),
    )
    await writeFile(join(staging, 'package.json'), '{ "type": "module" }\n')
    // Outside the checkout, bare imports ('aedes') need a node_modules on the way up.
    if (root.linkModules) await symlink(join(ROOT, 'node_modules'), join(staging, 'node_modules'), 'dir')
    await writeFile(join(staging, 'manifest.json'), JSON.stringify({ files }))
    // Concurrent first starts build the same entry: the first rename wins, the others use it.
    await rename(staging, entry).catch(async (err) => {
      await rm(staging, { recursive: true, force: true })
      if (!(await lstat(join(entry, 'manifest.json')).catch(() => undefined))) throw err
    })
    const pointer = `${join(root.dir, 'latest')}.${process.pid}.tmp`
    await writeFile(pointer, name)
    await rename(pointer, join(root.dir, 'latest'))
    await prune(root.dir, name)
    return entry
  } finally {
    await esbuild.stop?.()
  }
}

/** esbuild as tsx resolves it (a dependency of tsx, not of this package). */
async function loadEsbuild() {
  const require = createRequire(import.meta.url)
  const fromTsx = createRequire(require.resolve('tsx/package.json'))
  return import(pathToFileURL(fromTsx.resolve('esbuild')).href)
}

/** Removes entries (and abandoned staging dirs) unused for a day: a long-running process has long finished importing. */
async function prune(dir, keep) {
  const now = Date.now()
  for (const name of await readdir(dir).catch(() => [])) {
    if (name === keep || name === 'latest' || name.startsWith('latest.')) continue
    const st = await lstat(join(dir, name)).catch(() => undefined)
    if (st && now - st.mtimeMs > UNUSED_ENTRY_MS) await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined)
  }
}
