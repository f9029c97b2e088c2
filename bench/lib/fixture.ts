/**
 * The broker benchmark's accounts: N pump devices and one ingest service, for both brokers, made
 * once and cached under the OS temp dir (hashing is the slow part):
 * - a registry (`registry.sqlite`, issue 14) holding them, as the broker reads its accounts,
 *   with scrypt hashes in the same `scrypt$N$r$p$salt$hash` encoding as runtime/secrets.ts, at
 *   a LOWER cost N (see COST_N). It is made with `suanyang import` from an accounts.json in the
 *   old format, which the cache keeps as the source;
 * - a Mosquitto password file (mosquitto_passwd -U: PBKDF2-SHA512) and an ACL file that grant
 *   the same as our policy for this mix (devices write their own topics, ingest reads farm/#).
 */
import { spawn } from 'node:child_process'
import { randomBytes, scrypt } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importFiles } from '../../cli/import.js'
import { openRegistry, sqlitePath } from '../../registry/index.js'
import { requireBinary } from '../../test/helpers/binaries.js'

/**
 * scrypt cost of the fixture's hashes: 256 (about 1 ms) instead of the production 16,384 (about
 * 60 ms on this class of machine). At production cost, admitting 10,000 devices costs ~10 minutes
 * of CPU: a benchmark of connections would measure scrypt, and run for minutes.
 */
export const COST_N = 256
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

const scryptAsync = (secret: string, salt: Buffer, n: number) =>
  new Promise<Buffer>((resolve, reject) => scrypt(secret, salt, 32, { N: n, r: 8, p: 1, maxmem: 256 * n * 8 }, (err, key) => (err ? reject(err) : resolve(key))))

async function hash(secret: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(secret, salt, COST_N)
  return ['scrypt', COST_N, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/** Hashes in batches: the libuv pool runs four at a time, on however many cores there are. */
async function hashAll(secrets: string[]): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < secrets.length; i += 256) out.push(...(await Promise.all(secrets.slice(i, i + 256).map(hash))))
  return out
}

export const deviceId = (i: number) => `bp-${String(i).padStart(5, '0')}`
export const telemetryTopic = (device: string) => `farm/${FARM}/pump/${device}/telemetry`

export async function benchFixture(count: number, log: (line: string) => void): Promise<Fixture> {
  const dir = join(tmpdir(), `suanyang-bench-broker-v1-${count}-n${COST_N}`)
  const paths = { accountsFile: join(dir, 'accounts.json'), passwordFile: join(dir, 'mosquitto.passwd'), aclFile: join(dir, 'mosquitto.acl'), creds: join(dir, 'credentials.json') }
  const cached = await readFile(paths.creds, 'utf8').then((t) => JSON.parse(t) as { devices: Creds[]; ingest: Creds }, () => undefined)
  if (cached) return { dir, ...paths, registryFile: await registryOf(dir, log), ...cached, farm: FARM }

  log(`making the fixture: ${count} device accounts (scrypt N=${COST_N}) and the Mosquitto password file, cached in ${dir}`)
  const t0 = performance.now()
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const devices = Array.from({ length: count }, (_, i) => ({ username: deviceId(i + 1), password: randomBytes(18).toString('base64url') }))
  const ingest = { username: 'bench-ingest', password: randomBytes(18).toString('base64url') }
  const hashes = await hashAll([...devices, ingest].map((c) => c.password))
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
