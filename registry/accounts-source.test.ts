/**
 * The registry-backed AccountStore on a real SQLite registry: logins are answered from memory
 * (no query for a known account), a write here is seen at once, `onChange` fires only for a
 * real change, and a transaction that commits a lower audit id after a higher one was read
 * (PostgreSQL hands ids out before commit) is still picked up. Several processes of one
 * service, each with its own DATA_DIR over the one registry, keep their own broker logins
 * (issue 14): none replaces the secret another one logs in with.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AccountSource } from '../runtime/accounts.js'
import { AccountStore } from '../runtime/accounts.js'
import { registryAccounts } from './accounts-source.js'
import { type Registry, openDatabase, openRegistry } from './index.js'

let dataDir: string
let registry: Registry
let queries: number
let store: AccountStore

/** The registry source, counting every time it reaches the database. */
function counted(source: AccountSource): AccountSource {
  return {
    ...source,
    mark: () => (queries++, source.mark()),
    load: () => (queries++, source.load()),
  }
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'suanyang-accounts-'))
  registry = await openRegistry({ dataDir })
  queries = 0
  store = await AccountStore.open(counted(registryAccounts(registry)), { dataDir, actor: { who: 'test', how: 'system' } })
})
afterEach(async () => {
  await store.close()
  await registry.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('the registry-backed account store', () => {
  it('answers logins of known accounts from memory: no query, however many', async () => {
    const pump = await store.addDevice({ farm: 'f-01', kind: 'pump', device: 'f-01-pump' })
    expect(store.getDevice('f-01-pump')).toMatchObject({ farm: 'f-01', kind: 'pump' }) // seen at once after its own write
    const before = queries
    for (let i = 0; i < 50; i++) expect(await store.authenticate(pump.username, pump.password)).toMatchObject({ role: 'device', farm: 'f-01' })
    expect(await store.authenticate(pump.username, 'wrong')).toBeUndefined()
    expect(store.isProven(pump.username, pump.password)).toBe(true)
    expect(queries).toBe(before)
  })

  it('writes each change with its audit row, and fires onChange once per real change', async () => {
    let changes = 0
    store.onChange(() => changes++)
    await store.addDevice({ farm: 'f-01', kind: 'soil', device: 'f-01-soil' }, { who: 'somsak', how: 'cli' })
    expect(changes).toBe(1)
    await store.reload(true) // read again, nothing different
    expect(changes).toBe(1)
    await registry.farms.update('f-01', { nameEn: 'Farm one' }, { who: 'somsak', how: 'cli' })
    await store.reload()
    expect(changes).toBe(1) // the counter moved, no account changed
    await store.setUser('office', 'operator', ['f-01'])
    await store.removeDevice('f-01-soil')
    expect(changes).toBe(3)
    expect((await registry.audit.list({ target: 'device:f-01-soil' })).map((e) => [e.action, e.who, e.how])).toEqual([
      ['device.add', 'somsak', 'cli'],
      ['device.remove', 'test', 'system'],
    ])
    await expect(store.addDevice({ farm: 'f-01', kind: 'pump', device: 'office' })).rejects.toMatchObject({ code: 'EXISTS' })
    await expect(store.removeDevice('f-01-soil')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('sees a change whose audit id is lower than one already read (a late commit)', async () => {
    await store.addDevice({ farm: 'f-01', kind: 'pump', device: 'f-01-pump' })
    const latest = await registry.audit.latestId()
    // Another transaction took id latest+1 but has not committed; a later one (latest+2) has.
    await registry.farms.update('f-01', { nameEn: 'Farm one' }, { who: 'other', how: 'cli' })
    const db = await openDatabase({ dataDir })
    try {
      await db.run('UPDATE audit_log SET id = $1 WHERE id = $2', [latest + 2, latest + 1])
      await store.reload()
      // Now the first one commits, under its lower id.
      await registry.devices.add({ id: 'f-01-late', farmId: 'f-01', kind: 'soil', credentialsHash: (await registry.devices.get('f-01-pump'))?.credentialsHash }, { who: 'other', how: 'cli' })
      await db.run('UPDATE audit_log SET id = $1 WHERE id = $2', [latest + 1, latest + 3])
      expect(await registry.audit.latestId()).toBe(latest + 2) // the newest id did not move
    } finally {
      await db.close()
    }
    await store.reload()
    expect(store.getDevice('f-01-late')).toMatchObject({ kind: 'soil' })
  })
})

describe('service credentials of several processes over one registry', () => {
  const dirs: string[] = []
  const stores: AccountStore[] = []
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close()
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })
  /** Another process: its own DATA_DIR and its own snapshot, the same registry. */
  async function otherProcess(): Promise<AccountStore> {
    const dir = await mkdtemp(join(tmpdir(), 'suanyang-accounts-other-'))
    dirs.push(dir)
    const other = await AccountStore.open(registryAccounts(registry), { dataDir: dir })
    stores.push(other)
    return other
  }
  const loginOf = async (s: AccountStore, c: { username: string; password: string }) => {
    await s.reload(true)
    return s.authenticate(c.username, c.password)
  }

  it('two ingest processes, each with its own DATA_DIR: both logins stay valid, and each keeps its own across restarts', async () => {
    const b = await otherProcess()
    const first = await store.serviceCredentials('ingest')
    const second = await b.serviceCredentials('ingest')
    expect(await loginOf(store, first)).toMatchObject({ role: 'service', username: first.username })
    expect(await loginOf(b, second)).toMatchObject({ role: 'service', username: second.username })
    expect(first.username).not.toBe(second.username)
    for (const c of [first, second]) expect(c.username).toMatch(/^ingest-[0-9a-f]{8}$/)
    // Restarts, in either order: the same account and password, nothing replaced.
    expect(await b.serviceCredentials('ingest')).toEqual(second)
    expect(await store.serviceCredentials('ingest')).toEqual(first)
    expect(await loginOf(b, first)).toMatchObject({ role: 'service' })
    // One DATA_DIR, one instance: its other services carry the same suffix.
    expect((await store.serviceCredentials('alerts')).username).toBe(`alerts-${first.username.slice('ingest-'.length)}`)
  })

  it('an upgraded installation keeps its plain `ingest` account; deleting its file still gives it a new secret; a second machine gets its own', async () => {
    const legacy = await store.setUser('ingest', 'service')
    await mkdir(join(dataDir, 'credentials'), { recursive: true })
    await writeFile(join(dataDir, 'credentials', 'ingest.json'), JSON.stringify(legacy))
    expect(await store.serviceCredentials('ingest')).toEqual(legacy)
    const second = await (await otherProcess()).serviceCredentials('ingest')
    expect(second.username).toMatch(/^ingest-[0-9a-f]{8}$/)
    expect(await loginOf(store, legacy)).toMatchObject({ role: 'service', username: 'ingest' })
    // The documented way to change a leaked service password: delete the file, restart.
    await rm(join(dataDir, 'credentials', 'ingest.json'))
    const rotated = await store.serviceCredentials('ingest')
    expect(rotated.username).toBe('ingest')
    expect(rotated.password).not.toBe(legacy.password)
    expect(await loginOf(store, legacy)).toBeUndefined()
    expect(await loginOf(store, second)).toMatchObject({ role: 'service' })
  })

  it('two upgraded processes that shared the plain name stop taking it from each other: the one whose secret was replaced moves to its own account', async () => {
    const b = await otherProcess()
    const old = await store.setUser('ingest', 'service')
    const current = await store.setUser('ingest', 'service') // the other process's last takeover
    for (const [s, c] of [[store, current], [b, old]] as const) {
      await mkdir(join(s.dataDir, 'credentials'), { recursive: true })
      await writeFile(join(s.dataDir, 'credentials', 'ingest.json'), JSON.stringify(c))
    }
    expect(await store.serviceCredentials('ingest')).toEqual(current)
    const moved = await b.serviceCredentials('ingest')
    expect(moved.username).toMatch(/^ingest-[0-9a-f]{8}$/)
    expect(await loginOf(store, current)).toMatchObject({ username: 'ingest' })
    expect(await loginOf(store, moved)).toMatchObject({ role: 'service' })
    expect(JSON.parse(await readFile(join(b.dataDir, 'credentials', 'ingest.json'), 'utf8'))).toEqual(moved)
  })
})
