/**
 * The registry-backed AccountStore on a real SQLite registry: logins are answered from memory
 * (no query for a known account), a write here is seen at once, `onChange` fires only for a
 * real change, and a transaction that commits a lower audit id after a higher one was read
 * (PostgreSQL hands ids out before commit) is still picked up.
 */
import { mkdtemp, rm } from 'node:fs/promises'
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
