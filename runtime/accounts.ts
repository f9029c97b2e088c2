/**
 * MQTT accounts: devices (username = device id) and people or services (viewer, operator,
 * service). Kept in `DATA_DIR/accounts.json` with scrypt hashes only. The broker re-reads the
 * file when it changes, so a device added with `suanyang device add` connects without a restart.
 */
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { ID_PATTERN, KINDS, type Kind } from '../contracts/names.js'
import { writeFileAtomic, withLock } from './files.js'
import { hashSecret, newSecret, safeEqual, verifySecret } from './secrets.js'

export const ROLES = ['device', 'service', 'viewer', 'operator'] as const
export type Role = (typeof ROLES)[number]

/** Farms a person may see or command: a list, or every farm. */
export type FarmScope = readonly string[] | '*'

export type Identity =
  | { role: 'device'; username: string; farm: string; kind: Kind; device: string }
  | { role: 'service'; username: string }
  | { role: 'viewer' | 'operator'; username: string; farms: FarmScope }

const DeviceRecord = z.object({
  farm: z.string().regex(ID_PATTERN),
  kind: z.enum(KINDS),
  hash: z.string(),
  createdAt: z.string(),
})
const UserRecord = z.object({
  role: z.enum(['service', 'viewer', 'operator']),
  farms: z.union([z.literal('*'), z.array(z.string())]).default('*'),
  hash: z.string(),
  createdAt: z.string(),
})
/** The file's shape; `suanyang import` reads it into the registry (issue 14). */
export const AccountsFile = z.object({
  version: z.literal(1),
  devices: z.record(z.string(), DeviceRecord),
  users: z.record(z.string(), UserRecord),
})
export type AccountsFile = z.infer<typeof AccountsFile>
export type DeviceRecord = z.infer<typeof DeviceRecord>

export interface DeviceAccount {
  farm: string
  kind: Kind
  device: string
  createdAt: string
}

export interface Credentials {
  username: string
  password: string
}

const empty = (): AccountsFile => ({ version: 1, devices: {}, users: {} })
const digest = (s: string) => createHash('sha256').update(s).digest('hex')

export class AccountError extends Error {
  constructor(
    readonly code: 'EXISTS' | 'NOT_FOUND' | 'INVALID',
    message: string,
  ) {
    super(message)
  }
}

export class AccountStore {
  private data: AccountsFile = empty()
  private mtimeMs = -1
  private checkedAt = 0
  /** username -> hash string + digest of a password already proven by scrypt. */
  private readonly verified = new Map<string, { hash: string; digest: string }>()

  private constructor(
    readonly path: string,
    readonly dataDir: string,
  ) {}

  static async open(dataDir: string): Promise<AccountStore> {
    const store = new AccountStore(join(dataDir, 'accounts.json'), dataDir)
    await store.reload()
    return store
  }

  /** Re-reads the file if it changed on disk. `force` skips the once-a-second throttle. */
  async reload(force = true): Promise<void> {
    const now = Date.now()
    if (!force && now - this.checkedAt < 1_000) return
    // Concurrent callers share one read: a second caller must not see the new mtime with the old data.
    this.reloading ??= this.readIfChanged().finally(() => {
      this.reloading = undefined
    })
    await this.reloading
    this.checkedAt = now
  }

  private reloading: Promise<void> | undefined

  private async readIfChanged(): Promise<void> {
    const mtimeMs = await stat(this.path).then((s) => s.mtimeMs, () => 0)
    if (mtimeMs === this.mtimeMs) return
    this.data = mtimeMs === 0 ? empty() : AccountsFile.parse(JSON.parse(await readFile(this.path, 'utf8')))
    this.mtimeMs = mtimeMs
  }

  /** The identity for a username and password, or undefined. Never throws for bad input. */
  async authenticate(username: string, password: string): Promise<Identity | undefined> {
    await this.reload(false)
    if (!this.data.devices[username] && !this.data.users[username]) await this.reload(true)
    const device = this.data.devices[username]
    const user = this.data.users[username]
    const hash = device?.hash ?? user?.hash
    if (hash === undefined) return undefined
    if (!(await this.check(username, password, hash))) return undefined
    if (device) return { role: 'device', username, farm: device.farm, kind: device.kind, device: username }
    if (user?.role === 'service') return { role: 'service', username }
    if (user) return { role: user.role, username, farms: user.farms }
    return undefined
  }

  /**
   * True when this password already passed scrypt for this account (and the account's hash has
   * not changed since): the broker lets such logins past its storm throttles, and they cost no scrypt.
   */
  isProven(username: string, password: string): boolean {
    const known = this.verified.get(username)
    if (known === undefined) return false
    const hash = this.data.devices[username]?.hash ?? this.data.users[username]?.hash
    return known.hash === hash && safeEqual(known.digest, digest(password))
  }

  private async check(username: string, password: string, hash: string): Promise<boolean> {
    const known = this.verified.get(username)
    if (known && known.hash === hash) return safeEqual(known.digest, digest(password))
    if (!(await verifySecret(password, hash))) return false
    this.verified.set(username, { hash, digest: digest(password) })
    return true
  }

  listDevices(): DeviceAccount[] {
    return Object.entries(this.data.devices)
      .map(([device, r]) => ({ farm: r.farm, kind: r.kind, device, createdAt: r.createdAt }))
      .sort((a, b) => a.farm.localeCompare(b.farm) || a.device.localeCompare(b.device))
  }

  getDevice(device: string): DeviceAccount | undefined {
    const r = this.data.devices[device]
    return r && { farm: r.farm, kind: r.kind, device, createdAt: r.createdAt }
  }

  /** Registers a device and returns its password: shown once, only the hash is kept. */
  async addDevice(at: { farm: string; kind: Kind; device: string }): Promise<Credentials> {
    if (!ID_PATTERN.test(at.farm)) throw new AccountError('INVALID', `invalid farm id "${at.farm}"`)
    if (!ID_PATTERN.test(at.device)) throw new AccountError('INVALID', `invalid device id "${at.device}"`)
    const password = newSecret()
    const hash = await hashSecret(password)
    await this.update((data) => {
      if (data.devices[at.device] || data.users[at.device]) {
        throw new AccountError('EXISTS', `device or user "${at.device}" already exists`)
      }
      data.devices[at.device] = { farm: at.farm, kind: at.kind, hash, createdAt: new Date().toISOString() }
    })
    return { username: at.device, password }
  }

  /**
   * Registers many devices at once, replacing any that exist (new passwords): hashes in parallel
   * and writes the file once. For simulated fleets and bulk provisioning.
   */
  async putDevices(list: ReadonlyArray<{ farm: string; kind: Kind; device: string }>): Promise<Credentials[]> {
    for (const at of list) {
      if (!ID_PATTERN.test(at.farm) || !ID_PATTERN.test(at.device)) throw new AccountError('INVALID', `invalid id in ${at.farm}/${at.device}`)
    }
    const made = list.map((at) => ({ at, password: newSecret(), hash: '' }))
    // scrypt runs on libuv's thread pool: a few at a time keeps memory bounded (16 MiB each).
    for (let i = 0; i < made.length; i += 8) {
      await Promise.all(made.slice(i, i + 8).map(async (m) => (m.hash = await hashSecret(m.password))))
    }
    await this.update((data) => {
      for (const { at, hash } of made) {
        if (data.users[at.device]) throw new AccountError('EXISTS', `"${at.device}" is a user`)
        data.devices[at.device] = { farm: at.farm, kind: at.kind, hash, createdAt: new Date().toISOString() }
      }
    })
    for (const { at } of made) this.verified.delete(at.device)
    return made.map(({ at, password }) => ({ username: at.device, password }))
  }

  async removeDevice(device: string): Promise<void> {
    await this.update((data) => {
      if (!data.devices[device]) throw new AccountError('NOT_FOUND', `no device "${device}"`)
      delete data.devices[device]
    })
    this.verified.delete(device)
  }

  /** Adds or replaces a person's or service's account and returns its new password. */
  async setUser(username: string, role: 'service' | 'viewer' | 'operator', farms: FarmScope = '*'): Promise<Credentials> {
    if (!ID_PATTERN.test(username)) throw new AccountError('INVALID', `invalid username "${username}"`)
    const password = newSecret()
    const hash = await hashSecret(password)
    await this.update((data) => {
      if (data.devices[username]) throw new AccountError('EXISTS', `"${username}" is a device`)
      data.users[username] = { role, farms: farms === '*' ? '*' : [...farms], hash, createdAt: new Date().toISOString() }
    })
    this.verified.delete(username)
    return { username, password }
  }

  /**
   * Credentials a service of this installation uses to reach the broker (one-process mode and
   * a shared DATA_DIR volume): kept in clear in `DATA_DIR/credentials/{name}.json` (mode 0600),
   * created with the account on first use.
   */
  async serviceCredentials(name: string, role: 'service' | 'viewer' | 'operator' = 'service'): Promise<Credentials> {
    const file = join(this.dataDir, 'credentials', `${name}.json`)
    return withLock(file, async () => {
      const saved = await readFile(file, 'utf8').then((t) => JSON.parse(t) as Credentials, () => undefined)
      await this.reload(true)
      const user = this.data.users[name]
      if (saved && user && user.role === role && (await this.check(name, saved.password, user.hash))) return saved
      const creds = await this.setUser(name, role)
      await writeFileAtomic(file, JSON.stringify(creds))
      return creds
    })
  }

  private async update(change: (data: AccountsFile) => void): Promise<void> {
    await withLock(this.path, async () => {
      await this.reload(true)
      const next = structuredClone(this.data)
      change(next)
      await writeFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`)
      this.data = next
      this.mtimeMs = -1 // our own write: re-stat next time
    })
  }
}
