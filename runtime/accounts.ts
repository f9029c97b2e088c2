/**
 * MQTT accounts: devices (username = device id) and people or services (viewer, operator,
 * service). They live in the registry (issue 14, registry/accounts-source.ts); this store keeps
 * an in-memory snapshot of them, so a login and `isProven` cost a map lookup, never a query.
 * The snapshot is read again when the registry's change counter moves (polled, `watch`) and at
 * once after a write made here; `onChange` then tells the broker, which closes the sessions of
 * accounts removed or given a new secret (`isCurrent`). Only hashes are kept anywhere: the keyed
 * hash of runtime/secrets.ts for the generated secrets made here, scrypt for imported old ones.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { ID_PATTERN, KINDS, type Kind } from '../contracts/names.js'
import { writeFileAtomic, withLock } from './files.js'
import { DUMMY_SECRET_HASH, hashSecret, isKeyed, newSecret, safeEqual, verifyKeyed, verifySecret } from './secrets.js'

export const ROLES = ['device', 'service', 'viewer', 'operator'] as const
export type Role = (typeof ROLES)[number]
export type UserRole = 'service' | 'viewer' | 'operator'

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
/** The old `DATA_DIR/accounts.json`: read once by `suanyang import` (and the import on first start). */
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

/** Who makes a change, for the registry's audit row. */
export interface AccountActor {
  who: string
  how: 'cli' | 'api' | 'console' | 'line' | 'system'
}

export interface AccountSnapshot {
  devices: ReadonlyArray<DeviceAccount & { hash: string }>
  users: ReadonlyArray<{ username: string; role: UserRole; farms: FarmScope; hash: string; createdAt: string }>
}

export interface DeviceWrite {
  farm: string
  kind: Kind
  device: string
  hash: string
}

/**
 * Where the accounts are kept (the registry). Each write is one transaction with its audit
 * rows; a refusal throws an AccountError and writes nothing.
 */
export interface AccountSource {
  /** Moves whenever an account may have changed (the registry's change counter). */
  mark(): Promise<string>
  load(): Promise<AccountSnapshot>
  /** `replace`: an existing device gets the new farm, kind and hash; else it is refused as EXISTS. */
  putDevices(list: readonly DeviceWrite[], replace: boolean, actor: AccountActor): Promise<void>
  removeDevice(device: string, actor: AccountActor): Promise<void>
  setUser(user: { username: string; role: UserRole; farms: FarmScope; hash: string }, actor: AccountActor): Promise<void>
  close?(): Promise<void>
}

type Entry =
  | { role: 'device'; farm: string; kind: Kind; hash: string; createdAt: string }
  | { role: UserRole; farms: FarmScope; hash: string; createdAt: string }

const digest = (s: string) => createHash('sha256').update(s).digest('hex')

/** What an identity rests on: the account's secret (its hash) and everything the identity holds. */
const tagOf = (e: Entry | undefined): string | undefined =>
  e && (e.role === 'device' ? JSON.stringify(['device', e.farm, e.kind, e.hash]) : JSON.stringify([e.role, e.farms, e.hash]))

function toEntries(s: AccountSnapshot): Map<string, Entry> {
  const m = new Map<string, Entry>()
  for (const d of s.devices) m.set(d.device, { role: 'device', farm: d.farm, kind: d.kind, hash: d.hash, createdAt: d.createdAt })
  for (const u of s.users) if (!m.has(u.username)) m.set(u.username, { role: u.role, farms: u.farms, hash: u.hash, createdAt: u.createdAt })
  return m
}

function differs(a: ReadonlyMap<string, Entry>, b: ReadonlyMap<string, Entry>): boolean {
  if (a.size !== b.size) return true
  for (const [k, e] of a) if (tagOf(e) !== tagOf(b.get(k))) return true
  return false
}

export class AccountError extends Error {
  constructor(
    readonly code: 'EXISTS' | 'NOT_FOUND' | 'INVALID',
    message: string,
  ) {
    super(message)
  }
}

export interface AccountStoreOptions {
  /** DATA_DIR: where `serviceCredentials` keeps this instance's id and service passwords. */
  dataDir: string
  /** Who the writes are made by unless a call says otherwise. */
  actor?: AccountActor
}

const SavedCredentials = z.object({ username: z.string(), password: z.string() })

/** `DATA_DIR/credentials/instance.json`: this DATA_DIR's instance id, and the plain-named service accounts it kept from before. */
const INSTANCE_FILE = 'instance.json'
const Instance = z.object({ id: z.string().regex(/^[0-9a-f]{8}$/), plain: z.array(z.string()) })
type Instance = z.infer<typeof Instance>

const writeInstance = (dir: string, instance: Instance) => writeFileAtomic(join(dir, INSTANCE_FILE), JSON.stringify(instance))

/**
 * This DATA_DIR's instance, made on first use. A DATA_DIR from before instances already has
 * `{name}.json` files for plain-named accounts: those names stay its own (`plain`).
 */
async function readInstance(dir: string): Promise<Instance> {
  const known = await readFile(join(dir, INSTANCE_FILE), 'utf8').then((t) => Instance.parse(JSON.parse(t)), () => undefined)
  if (known) return known
  const plain: string[] = []
  for (const entry of await readdir(dir).catch(() => [])) {
    const name = entry.endsWith('.json') ? entry.slice(0, -'.json'.length) : undefined
    if (name === undefined || entry === INSTANCE_FILE) continue
    const saved = await readFile(join(dir, entry), 'utf8').then((t) => SavedCredentials.safeParse(JSON.parse(t)).data, () => undefined)
    if (saved?.username === name) plain.push(name)
  }
  const made = { id: randomBytes(4).toString('hex'), plain: plain.sort() }
  await writeInstance(dir, made)
  return made
}

export class AccountStore {
  private entries = new Map<string, Entry>()
  private seenMark: string | undefined
  /** username -> hash string + digest of a password already proven by scrypt (old, imported hashes only). */
  private readonly verified = new Map<string, { hash: string; digest: string }>()
  /**
   * Every identity authenticate() gave out -> the account as it was then (see tagOf). The entry
   * itself, already in memory, not its tag: one string less per connection (10,000 idle devices).
   */
  private readonly issued = new WeakMap<Identity, Entry>()
  private readonly listeners = new Set<() => void>()
  private readonly actor: AccountActor
  readonly dataDir: string
  /** The read running now, and the one queued after it (a caller's write may postdate the running read). */
  private current: Promise<void> | undefined
  private pending: { promise: Promise<void>; force: boolean } | undefined

  private constructor(
    private readonly source: AccountSource,
    opts: AccountStoreOptions,
  ) {
    this.dataDir = opts.dataDir
    this.actor = opts.actor ?? { who: 'system', how: 'system' }
  }

  static async open(source: AccountSource, opts: AccountStoreOptions): Promise<AccountStore> {
    const store = new AccountStore(source, opts)
    await store.refresh(true)
    return store
  }

  /**
   * Reads the snapshot again when the change counter moved (`force`: read it whatever the
   * counter says). Calls made while a read runs wait for one that starts after theirs.
   */
  reload(force = false): Promise<void> {
    return this.refresh(force)
  }

  private refresh(force: boolean): Promise<void> {
    if (this.pending) {
      this.pending.force ||= force
      return this.pending.promise
    }
    if (!this.current) return this.start(force)
    const pending = { force, promise: Promise.resolve() }
    pending.promise = this.current
      .catch(() => undefined)
      .then(() => {
        this.pending = undefined
        return this.start(pending.force)
      })
    this.pending = pending
    return pending.promise
  }

  /** The write is kept: a failed read after it is left to the next poll, not reported as a failed write. */
  private refreshAfterWrite(): Promise<void> {
    return this.refresh(false).catch(() => undefined)
  }

  private start(force: boolean): Promise<void> {
    const run: Promise<void> = this.readIfChanged(force).finally(() => {
      if (this.current === run) this.current = undefined
    })
    this.current = run
    return run
  }

  private async readIfChanged(force: boolean): Promise<void> {
    // The mark before the data: a change committed after it moves the mark again.
    const mark = await this.source.mark()
    if (!force && mark === this.seenMark) return
    const next = toEntries(await this.source.load())
    this.seenMark = mark
    if (!differs(this.entries, next)) return
    this.entries = next
    for (const [name, known] of this.verified) if (next.get(name)?.hash !== known.hash) this.verified.delete(name)
    for (const listener of this.listeners) listener()
  }

  /** `listener` runs after every refresh that changed an account (here or in another process). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Polls the change counter every `pollMs` (one cheap query; the snapshot is read only when
   * it moved). Returns a function that stops it.
   */
  watch(onError: (err: unknown) => void, pollMs = 250): () => void {
    const timer = setInterval(() => void this.refresh(false).catch(onError), pollMs)
    timer.unref()
    return () => clearInterval(timer)
  }

  /**
   * False once the account an identity came from is gone, or has a new secret, role, farm or
   * kind since: its connections must end (issue 13, revocation).
   */
  isCurrent(identity: Identity): boolean {
    const was = this.issued.get(identity)
    return was !== undefined && tagOf(was) === tagOf(this.entries.get(identity.username))
  }

  /** The identity for a username and password, or undefined. Never throws for bad input. */
  async authenticate(username: string, password: string): Promise<Identity | undefined> {
    // A name not in the snapshot may have been added a moment ago (another process): one look
    // at the change counter, shared by every caller meanwhile, so a storm of unknown names
    // costs one query at a time, not one each. Known accounts never wait for the database.
    // The registry unreachable: answer from the snapshot (known devices keep logging in).
    if (!this.entries.has(username)) await this.refresh(false).catch(() => undefined)
    const entry = this.entries.get(username)
    const tag = tagOf(entry)
    // An unknown account costs the same hash work and gets the same answer as a wrong
    // password: the time to the answer must not tell which device ids exist (issue 13). An old
    // imported account still on scrypt answers slower than the rest until it gets a new secret.
    const ok = await this.check(username, password, entry?.hash ?? DUMMY_SECRET_HASH)
    if (!ok || entry === undefined || tag === undefined) return undefined
    // Changed while the password was being checked: the check was against the old secret.
    if (tagOf(this.entries.get(username)) !== tag) return undefined
    const identity: Identity =
      entry.role === 'device'
        ? { role: 'device', username, farm: entry.farm, kind: entry.kind, device: username }
        : entry.role === 'service'
          ? { role: 'service', username }
          : { role: entry.role, username, farms: entry.farms }
    this.issued.set(identity, entry)
    return identity
  }

  /**
   * True when this password is proven for this account without slow work: a keyed hash checked
   * now, or an old scrypt hash this password already passed (and unchanged since). The broker lets
   * such logins past its storm throttles, since they cost next to nothing.
   */
  isProven(username: string, password: string): boolean {
    const hash = this.entries.get(username)?.hash
    if (hash !== undefined && isKeyed(hash)) return verifyKeyed(password, hash)
    const known = this.verified.get(username)
    if (known === undefined) return false
    return known.hash === this.entries.get(username)?.hash && safeEqual(known.digest, digest(password))
  }

  private async check(username: string, password: string, hash: string): Promise<boolean> {
    if (isKeyed(hash)) return verifyKeyed(password, hash)
    const known = this.verified.get(username)
    if (known && known.hash === hash && safeEqual(known.digest, digest(password))) return true
    // A wrong password costs a full check even when the right one is cached: a quick refusal
    // would tell that this account exists and has logged in.
    if (!(await verifySecret(password, hash))) return false
    this.verified.set(username, { hash, digest: digest(password) })
    return true
  }

  listDevices(): DeviceAccount[] {
    const out: DeviceAccount[] = []
    for (const [device, e] of this.entries) if (e.role === 'device') out.push({ farm: e.farm, kind: e.kind, device, createdAt: e.createdAt })
    return out.sort((a, b) => a.farm.localeCompare(b.farm) || a.device.localeCompare(b.device))
  }

  getDevice(device: string): DeviceAccount | undefined {
    const e = this.entries.get(device)
    return e?.role === 'device' ? { farm: e.farm, kind: e.kind, device, createdAt: e.createdAt } : undefined
  }

  /** Registers a device and returns its password: shown once, only the hash is kept. */
  async addDevice(at: { farm: string; kind: Kind; device: string }, actor = this.actor): Promise<Credentials> {
    const [creds] = await this.writeDevices([at], false, actor)
    return creds as Credentials
  }

  /**
   * Registers many devices at once, replacing any that exist (new passwords): hashes in parallel
   * and writes them in one transaction. For simulated fleets and bulk provisioning.
   */
  putDevices(list: ReadonlyArray<{ farm: string; kind: Kind; device: string }>, actor = this.actor): Promise<Credentials[]> {
    return this.writeDevices(list, true, actor)
  }

  private async writeDevices(list: ReadonlyArray<{ farm: string; kind: Kind; device: string }>, replace: boolean, actor: AccountActor): Promise<Credentials[]> {
    for (const at of list) {
      if (!ID_PATTERN.test(at.farm)) throw new AccountError('INVALID', `invalid farm id "${at.farm}"`)
      if (!ID_PATTERN.test(at.device)) throw new AccountError('INVALID', `invalid device id "${at.device}"`)
    }
    if (list.length === 0) return []
    const made = list.map((at) => {
      const password = newSecret()
      return { ...at, password, hash: hashSecret(password) }
    })
    await this.source.putDevices(made, replace, actor)
    await this.refreshAfterWrite()
    return made.map(({ device, password }) => ({ username: device, password }))
  }

  async removeDevice(device: string, actor = this.actor): Promise<void> {
    await this.source.removeDevice(device, actor)
    await this.refreshAfterWrite()
  }

  /** Adds or replaces a person's or service's account and returns its new password. */
  async setUser(username: string, role: UserRole, farms: FarmScope = '*', actor = this.actor): Promise<Credentials> {
    if (!ID_PATTERN.test(username)) throw new AccountError('INVALID', `invalid username "${username}"`)
    const password = newSecret()
    const hash = hashSecret(password)
    await this.source.setUser({ username, role, farms: farms === '*' ? '*' : [...farms], hash }, actor)
    await this.refreshAfterWrite()
    return { username, password }
  }

  /**
   * Credentials a service of this installation uses to reach the broker: kept in clear in
   * `DATA_DIR/credentials/{name}.json` (mode 0600), created with the account on first use.
   * Each DATA_DIR is one instance (`credentials/instance.json`, its id made once), and its
   * services log in as `{name}-{id}` (`ingest-1a2b3c4d`): several processes of one service on
   * other machines, over one registry, each have an account of their own, so none replaces the
   * secret another logs in with (issue 14; the broker closes the sessions of an account given
   * a new secret). The ACL goes by role, never by name. A DATA_DIR from before instances keeps
   * the plain-named accounts it had (`ingest`), deleting a file still gives its account a new
   * secret, and a plain name whose secret another process has replaced since is given up for
   * the instance's own account rather than taken back.
   */
  async serviceCredentials(name: string, role: UserRole = 'service'): Promise<Credentials> {
    const dir = join(this.dataDir, 'credentials')
    const file = join(dir, `${name}.json`)
    return withLock(join(dir, INSTANCE_FILE), async () => {
      const instance = await readInstance(dir)
      const saved = await readFile(file, 'utf8').then((t) => SavedCredentials.parse(JSON.parse(t)), () => undefined)
      await this.refreshAfterWrite()
      const mine = (u: string) => u === name || (u.startsWith(`${name}-`) && /^[0-9a-f]{8}$/.test(u.slice(name.length + 1)))
      if (saved && mine(saved.username) && (await this.holds(saved, role))) return saved
      let username = `${name}-${instance.id}`
      if (instance.plain.includes(name)) {
        // The file deleted (a new secret wanted) or the account gone (a new registry): the plain
        // name is still this instance's. Its file there and refused: someone else has it now.
        if (saved?.username === name && this.entries.has(name)) await writeInstance(dir, { ...instance, plain: instance.plain.filter((n) => n !== name) })
        else username = name
      }
      const creds = await this.setUser(username, role)
      await writeFileAtomic(file, JSON.stringify(creds))
      return creds
    })
  }

  /** Whether saved credentials still log in to their account, with that role. */
  private async holds(saved: Credentials, role: UserRole): Promise<boolean> {
    const user = this.entries.get(saved.username)
    return user !== undefined && user.role === role && (await this.check(saved.username, saved.password, user.hash))
  }

  async close(): Promise<void> {
    await this.pending?.promise.catch(() => undefined)
    await this.current?.catch(() => undefined)
    await this.source.close?.()
  }
}
