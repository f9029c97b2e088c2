/**
 * The host build of the firmware core (firmware/test/CMakeLists.txt), built once with Debian's
 * g++ and cmake into a folder under the system's temp dir named by a hash of the sources: a
 * second run (the other Node version in CI, the next test file) finds it built. A missing
 * compiler, cmake or libmosquitto-dev fails loudly with the line that installs them.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from './app.js'
import { requireBinary } from './binaries.js'

const run = promisify(execFile)
const FIRMWARE = join(ROOT, 'firmware')
export const FIRMWARE_INSTALL = 'apt-get install -y g++ cmake make pkg-config libmosquitto-dev'

export interface FirmwareBuild {
  dir: string
  /** suanyang-host-device */
  device: string
  /** The core's unit tests. */
  coreTests: string
  /** The core as a static library, to check what it links against. */
  coreLibrary: string
}

async function sourcesOf(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await sourcesOf(path)))
    else if (/\.(cpp|h|txt)$/.test(entry.name)) out.push(path)
  }
  return out.sort()
}

/** A hash of everything the build reads: the core, the host program, the tests, CMakeLists. */
async function sourceHash(): Promise<{ hash: string; files: string[] }> {
  const files = [...(await sourcesOf(join(FIRMWARE, 'core'))), ...(await sourcesOf(join(FIRMWARE, 'test')))]
  const h = createHash('sha256')
  for (const file of files) h.update(relative(FIRMWARE, file)).update('\0').update(await readFile(file)).update('\0')
  return { hash: h.digest('hex').slice(0, 16), files }
}

function requireToolchain(): { cmake: string } {
  const need = (name: string, pkg: string) => {
    try {
      return requireBinary(name, pkg)
    } catch (err) {
      throw new Error(`${(err as Error).message}; the firmware host build needs \`${FIRMWARE_INSTALL}\``, { cause: err })
    }
  }
  need('g++', 'g++')
  need('make', 'make')
  need('pkg-config', 'pkg-config')
  return { cmake: need('cmake', 'cmake') }
}

let building: Promise<FirmwareBuild> | undefined

export function buildFirmwareHost(): Promise<FirmwareBuild> {
  building ??= build()
  return building
}

async function build(): Promise<FirmwareBuild> {
  const { cmake } = requireToolchain()
  try {
    await run('pkg-config', ['--exists', 'libmosquitto'])
  } catch (err) {
    throw new Error(`libmosquitto not found by pkg-config: install it with \`${FIRMWARE_INSTALL}\``, { cause: err })
  }
  const { hash } = await sourceHash()
  const dir = join(tmpdir(), `suanyang-firmware-${hash}`)
  const result = {
    dir,
    device: join(dir, 'suanyang-host-device'),
    coreTests: join(dir, 'core-tests'),
    coreLibrary: join(dir, 'libsycore.a'),
  }
  if (existsSync(join(dir, 'built'))) return result
  // Built beside its final place and renamed into it: a build cut short is never taken as done.
  const work = await mkdtemp(join(tmpdir(), `suanyang-firmware-${hash}-build-`))
  try {
    await run(cmake, ['-S', join(FIRMWARE, 'test'), '-B', work, '-DCMAKE_BUILD_TYPE=Host'], { timeout: 120_000 })
    await run(cmake, ['--build', work, '--parallel', '2'], { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 })
    await writeFile(join(work, 'built'), `${new Date().toISOString()}\n`)
    await rm(dir, { recursive: true, force: true })
    await rename(work, dir)
    // Builds of older sources are of no use any more.
    for (const old of await readdir(tmpdir())) {
      if (/^suanyang-firmware-[0-9a-f]{16}$/.test(old) && join(tmpdir(), old) !== dir) await rm(join(tmpdir(), old), { recursive: true, force: true })
    }
  } catch (err) {
    await rm(work, { recursive: true, force: true })
    const e = err as { stdout?: string; stderr?: string; message: string }
    throw new Error(`firmware host build failed: ${e.message}\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`, { cause: err })
  }
  return result
}
