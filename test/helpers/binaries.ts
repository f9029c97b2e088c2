/**
 * Locating the Debian binaries the integration tests drive. A missing binary is a loud failure
 * with the install line, never a skip (DESIGN.md "Testing with real parts").
 */
import { accessSync, constants, readdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Debian keeps PostgreSQL's server binaries off PATH, one folder per major version: newest first. */
function postgresDirs(): string[] {
  let versions: string[]
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v))
  } catch {
    return []
  }
  return versions.sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`)
}

// Root's PATH has the sbin folders, CI's environment may not: mosquitto lives in /usr/sbin.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', ...postgresDirs()]

/** Every binary the integration project needs, with the Debian package that ships it. */
export const REQUIRED_BINARIES: ReadonlyArray<readonly [name: string, aptPackage: string]> = [
  ['influxd', 'influxdb'],
  ['mosquitto', 'mosquitto'],
  ['mosquitto_pub', 'mosquitto-clients'],
  ['mosquitto_sub', 'mosquitto-clients'],
  ['redis-server', 'redis-server'],
  // The field console's browser tests (issue 8), driven by playwright-core: never a downloaded browser.
  ['chromium', 'chromium'],
  // The registry's suite runs on a real PostgreSQL server too (issue 14): initdb in a temp dir.
  ['initdb', 'postgresql'],
  ['postgres', 'postgresql'],
  // The firmware core's host build (issue 19): test/helpers/firmware-build.ts.
  ['g++', 'g++'],
  ['cmake', 'cmake'],
  ['make', 'make'],
  ['pkg-config', 'pkg-config'],
]

export const INSTALL_ALL = 'apt-get install -y influxdb mosquitto mosquitto-clients redis-server chromium postgresql g++ cmake make pkg-config libmosquitto-dev'

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Absolute path of `name`, or undefined when it is nowhere on PATH or in the usual bin folders. */
export function findBinary(name: string): string | undefined {
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '')
  for (const dir of [...pathDirs, ...EXTRA_DIRS]) {
    const candidate = join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

/** Absolute path of `name`; throws with the apt-get line that installs it. */
export function requireBinary(name: string, aptPackage: string): string {
  const path = findBinary(name)
  if (path === undefined) {
    throw new Error(`${name} not found: install it with \`apt-get install -y ${aptPackage}\``)
  }
  return path
}

/** Names of the required binaries that are missing (empty when all are there). */
export function missingBinaries(): string[] {
  return REQUIRED_BINARIES.filter(([name]) => findBinary(name) === undefined).map(([name]) => name)
}
