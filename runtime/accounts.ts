/**
 * MQTT accounts: devices (username = device id) and people or services (viewer, operator,
 * service). Kept in `DATA_DIR/accounts.json` with scrypt hashes only. The broker watches the
 * file, so a device added with `suanyang device add` connects without a restart, and one removed
 * (or given a new secret) loses its open connections at once (`isCurrent`, `onChange`).
 */
import { createHash } from 'node:crypto'
import { type FSWatcher, watch } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { ID_PATTERN, KINDS, type Kind } from '../contracts/names.js'
import { writeFileAtomic, withLock } from './files.js'
import { DUMMY_HASH, hashSecret, newSecret, safeEqual, verifySecret } from './secrets.js'

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
  /** Every identity authenticate() gave out -> the account as it was then (see tagOf). */
  private readonly issued = new WeakMap<Identity, string>()
  private readonly listeners = new Set<() => void>()

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
    this.changed()
  }

  /** `listener` runs after every change of the accounts (read from disk or written here). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private changed(): void {
    for (const listener of this.listeners) listener()
  }

  /**
   * Re-reads the file as soon as it changes (inotify on DATA_DIR), and every `pollMs` in case
   * the change is not reported (network file systems). Returns a function that stops it.
   */
  watch(onError: (err: unknown) => void, pollMs = 1_000): () => void {
    const refresh = () => void this.reload(true).catch(onError)
    let watcher: FSWatcher | undefined
    try {
      // The directory, not the file: an atomic write replaces the file (a new inode) by rename.
      watcher = watch(this.dataDir, { persistent: false }, (_event, name) => {
        if (name === null || name.startsWith('accounts.json')) refresh()
      })
      watcher.on('error', onError)
    } catch (err) {
      onError(err) // polling alone
    }
    const timer = setInterval(refresh, pollMs)
    timer.unref()
    return () => {
      watcher?.close()
      clearInterval(timer)
    }
  }

  /** What an identity rests on: the account's secret (its hash) and everything the identity holds. */
  private tagOf(username: string): string | undefined {
    const device = this.data.devices[username]
    if (device) return JSON.stringify(['device', device.farm, device.kind, device.hash])
    const user = this.data.users[username]
    return user && JSON.stringify([user.role, user.farms, user.hash])
  }

  /**
   * False once the account an identity came from is gone, or has a new secret, role, farm or
   * kind since: its connections must end (issue 13, revocation).
   */
  isCurrent(identity: Identity): boolean {
    const tag = this.issued.get(identity)
    return tag !== undefined && tag === this.tagOf(identity.username)
  }

  /** The identity for a username and password, or undefined. Never throws for bad input. */
  async authenticate(username: string, password: string): Promise<Identity | undefined> {
    await this.reload(false)
    if (!this.data.devices[username] && !this.data.users[username]) await this.reload(true)
    const device = this.data.devices[username]
    const user = this.data.users[username]
    const hash = device?.hash ?? user?.hash
    const tag = this.tagOf(username)
    // An unknown account costs the same scrypt work and gets the same answer as a wrong
    // password: the time to the answer must not tell which device ids exist (issue 13).
    const ok = await this.check(username, password, hash ?? DUMMY_HASH)
    if (!ok || hash === undefined || tag === undefined) return undefined
    // Changed while the password was being checked: the check was against the old secret.
    if (this.tagOf(username) !== tag) return undefined
    const identity: Identity | undefined = device
      ? { role: 'device', username, farm: device.farm, kind: device.kind, device: username }
      : user?.role === 'service'
        ? { role: 'service', username }
        : user && { role: user.role, username, farms: user.farms }
    if (identity) this.issued.set(identity, tag)
    return identity
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
    if (known && known.hash === hash && safeEqual(known.digest, digest(password))) return true
    // A wrong password costs a full check even when the right one is cached: a quick refusal
    // would tell that this account exists and has logged in.
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
      this.changed()
    })
  }
}
