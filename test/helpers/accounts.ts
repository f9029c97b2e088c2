/**
 * Today's `DATA_DIR/accounts.json`, written the way the file-backed store wrote it (scrypt
 * hashes only): the input of `suanyang import` and of the import on first start. Returns the
 * passwords, so a test can log in with the imported accounts.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Kind } from '../../contracts/names.js'
import type { Registry } from '../../registry/index.js'
import type { AccountsFile, FarmScope, UserRole } from '../../runtime/accounts.js'
import { writeFileAtomic } from '../../runtime/files.js'
import { hashPassword, newSecret } from '../../runtime/secrets.js'

export interface LegacyAccounts {
  devices?: ReadonlyArray<{ device: string; farm: string; kind: Kind }>
  users?: ReadonlyArray<{ username: string; role: UserRole; farms?: FarmScope }>
}

export const accountsJsonPath = (dataDir: string): string => join(dataDir, 'accounts.json')

/** Adds the accounts to DATA_DIR/accounts.json (made if missing); returns username -> password. */
export async function writeAccountsJson(dataDir: string, add: LegacyAccounts): Promise<Map<string, string>> {
  const path = accountsJsonPath(dataDir)
  const file: AccountsFile = await readFile(path, 'utf8').then(
    (t) => JSON.parse(t) as AccountsFile,
    () => ({ version: 1, devices: {}, users: {} }),
  )
  const passwords = new Map<string, string>()
  const createdAt = new Date().toISOString()
  for (const d of add.devices ?? []) {
    const password = newSecret()
    passwords.set(d.device, password)
    file.devices[d.device] = { farm: d.farm, kind: d.kind, hash: await hashPassword(password), createdAt }
  }
  for (const u of add.users ?? []) {
    const password = newSecret()
    passwords.set(u.username, password)
    file.users[u.username] = { role: u.role, farms: u.farms === undefined || u.farms === '*' ? '*' : [...u.farms], hash: await hashPassword(password), createdAt }
  }
  await mkdir(dataDir, { recursive: true })
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`)
  return passwords
}

/** True when any of the SQLite registry's files in DATA_DIR (database, write-ahead log) holds `text` in clear. */
export async function registryFilesContain(dataDir: string, text: string): Promise<boolean> {
  const files = (await readdir(dataDir)).filter((f) => f.startsWith('registry.sqlite'))
  if (files.length === 0) throw new Error(`no registry.sqlite in ${dataDir}`)
  for (const f of files) if ((await readFile(join(dataDir, f))).includes(text)) return true
  return false
}

/** Every broker login of `from` (devices with their farms, service accounts) into `to`, same hashes. */
export async function copyAccounts(from: Registry, to: Registry): Promise<void> {
  const actor = { who: 'test', how: 'system' } as const
  for (const d of await from.devices.list()) {
    if (!(await to.farms.get(d.farmId))) await to.farms.add({ id: d.farmId }, actor)
    const added = await to.devices.add({ id: d.id, farmId: d.farmId, kind: d.kind, credentialsHash: d.credentialsHash }, actor)
    if (!added.ok) throw new Error(`copying device ${d.id}: ${JSON.stringify(added.issues)}`)
  }
  for (const a of await from.accounts.list()) {
    const added = await to.accounts.add({ username: a.username, role: a.role, farms: a.farms, credentialsHash: a.credentialsHash }, actor)
    if (!added.ok) throw new Error(`copying account ${a.username}: ${JSON.stringify(added.issues)}`)
  }
}
