/**
 * The broker benchmark's accounts: N pump devices and one ingest service, for both brokers, made
 * once and cached under the OS temp dir (hashing is the slow part):
 * - a registry (`registry.sqlite`, issue 14) holding them, as the broker reads its accounts,
 *   with the hashes production gives generated secrets (runtime/secrets.ts `hashSecret`, the
 *   keyed hash). It is made with `suanyang import` from an accounts.json in the old file's
 *   format, which the cache keeps as the source;
 * - a Mosquitto password file (mosquitto_passwd -U: PBKDF2-SHA512) and an ACL file that grant
 *   the same as our policy for this mix (devices write their own topics, ingest reads farm/#).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importFiles } from '../../cli/import.js'
import { openRegistry, sqlitePath } from '../../registry/index.js'
import { hashSecret } from '../../runtime/secrets.js'
import { requireBinary } from '../../test/helpers/binaries.js'

/**
 * How the fixture's device secrets are hashed: as production hashes them (the keyed hash). Until
 * 2026-12-04 the fixture used scrypt at N=256, a 64th of the production cost (see bench/README.md).
 */
export const HASHING = 'hmac-sha256, as production'
const FARM = 'bench'

export interface Creds {
  username: string
  password: string
}

export interface Fixture {
  dir: string
  accountsFile: string
  /** The registry with the accounts: copy it into the broker's DATA_DIR (it is closed, checkpointed). */
  registryFile: string
  passwordFile: string
  aclFile: string
  devices: Creds[]
  ingest: Creds
  farm: string
}

export const deviceId = (i: number) => `bp-${String(i).padStart(5, '0')}`
export const telemetryTopic = (device: string) => `farm/${FARM}/pump/${device}/telemetry`

export async function benchFixture(count: number, log: (line: string) => void): Promise<Fixture> {
  const dir = join(tmpdir(), `suanyang-bench-broker-v2-${count}-keyed`)
  const paths = { accountsFile: join(dir, 'accounts.json'), passwordFile: join(dir, 'mosquitto.passwd'), aclFile: join(dir, 'mosquitto.acl'), creds: join(dir, 'credentials.json') }
  const cached = await readFile(paths.creds, 'utf8').then((t) => JSON.parse(t) as { devices: Creds[]; ingest: Creds }, () => undefined)
  if (cached) return { dir, ...paths, registryFile: await registryOf(dir, log), ...cached, farm: FARM }

  log(`making the fixture: ${count} device accounts (${HASHING}) and the Mosquitto password file, cached in ${dir}`)
  const t0 = performance.now()
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const devices = Array.from({ length: count }, (_, i) => ({ username: deviceId(i + 1), password: randomBytes(18).toString('base64url') }))
  const ingest = { username: 'bench-ingest', password: randomBytes(18).toString('base64url') }
  const hashes = [...devices, ingest].map((c) => hashSecret(c.password))
  const createdAt = new Date().toISOString()
  const accounts = {
    version: 1,
    devices: Object.fromEntries(devices.map((d, i) => [d.username, { farm: FARM, kind: 'pump', hash: hashes[i], createdAt }])),
    users: { [ingest.username]: { role: 'service', farms: '*', hash: hashes[count], createdAt } },
  }
  await writeFile(paths.accountsFile, JSON.stringify(accounts))
  await writeFile(paths.passwordFile, [...devices, ingest].map((c) => `${c.username}:${c.password}\n`).join(''), { mode: 0o600 })
  await run(requireBinary('mosquitto_passwd', 'mosquitto'), ['-U', paths.passwordFile])
  await writeFile(
    paths.aclFile,
    [
      `user ${ingest.username}`,
      'topic read farm/#',
      '',
      // %u is the username, which is the device id: each device only under its own topics.
      `pattern write farm/${FARM}/pump/%u/telemetry`,
      `pattern write farm/${FARM}/pump/%u/status`,
      `pattern write farm/${FARM}/pump/%u/event`,
      `pattern read farm/${FARM}/pump/%u/cmd`,
      '',
    ].join('\n'),
  )
  // Written last, atomically: its presence marks a complete fixture.
  await writeFile(`${paths.creds}.tmp`, JSON.stringify({ devices, ingest }))
  await rename(`${paths.creds}.tmp`, paths.creds)
  const registryFile = await registryOf(dir, log)
  log(`fixture ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  return { dir, ...paths, registryFile, devices, ingest, farm: FARM }
}

/** The accounts.json of `dir` imported into a registry of its own (made once, cached beside it). */
async function registryOf(dir: string, log: (line: string) => void): Promise<string> {
  const registryDir = join(dir, 'registry')
  const file = sqlitePath(registryDir)
  const done = join(registryDir, 'complete')
  if (await readFile(done, 'utf8').then(() => true, () => false)) return file
  await rm(registryDir, { recursive: true, force: true })
  await mkdir(registryDir, { recursive: true })
  const t0 = performance.now()
  const registry = await openRegistry({ dataDir: registryDir })
  try {
    const imported = await importFiles(registry, { dataDir: registryDir, accounts: join(dir, 'accounts.json'), contacts: join(registryDir, 'no-contacts.json') }, { who: 'bench', how: 'system' })
    if (!imported.ok) throw new Error(`importing the bench accounts failed: ${JSON.stringify(imported)}`)
  } finally {
    await registry.close()
  }
  await writeFile(done, '')
  log(`registry with the accounts made in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  return file
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err}`))))
  })
}
