/**
 * RegistryWatch on a real SQLite registry: it reads again when something changed and not
 * otherwise, and it sees a transaction that commits a lower audit id after a higher one was read
 * (PostgreSQL hands ids out before commit), which the newest id alone would miss.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Registry, openDatabase, openRegistry } from './index.js'
import { RegistryWatch } from './watch.js'

let dataDir: string
let registry: Registry
const actor = { who: 'test', how: 'cli' } as const

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'suanyang-watch-'))
  registry = await openRegistry({ dataDir })
})

afterEach(async () => {
  await registry.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('RegistryWatch', () => {
  it('reads again only after a change, and sees a late commit under a lower audit id', async () => {
    await registry.farms.add({ id: 'f-01' }, actor)
    const seen: string[][] = []
    const watch = new RegistryWatch(registry, {
      read: async (r) => (await r.farms.list()).map((f) => `${f.id}:${f.nameEn ?? ''}`),
      onChange: (value) => seen.push(value),
      onError: (err) => {
        throw err
      },
      intervalMs: 60_000, // refreshed by hand below
    })
    await watch.start()
    await watch.refresh()
    expect(seen).toEqual([['f-01:']]) // nothing changed: no second read

    const latest = await registry.audit.latestId()
    // Another transaction took id latest+1 but has not committed; a later one (latest+2) has.
    await registry.farms.update('f-01', { nameEn: 'Farm one' }, actor)
    const db = await openDatabase({ dataDir })
    try {
      await db.run('UPDATE audit_log SET id = $1 WHERE id = $2', [latest + 2, latest + 1])
      await watch.refresh()
      expect(seen.at(-1)).toEqual(['f-01:Farm one'])
      // Now the first one commits, under its lower id: the newest id does not move.
      await registry.farms.add({ id: 'f-02' }, actor)
      await db.run('UPDATE audit_log SET id = $1 WHERE id = $2', [latest + 1, latest + 3])
      expect(await registry.audit.latestId()).toBe(latest + 2)
    } finally {
      await db.close()
    }
    await watch.refresh()
    watch.close()
    expect(seen.at(-1)).toEqual(['f-01:Farm one', 'f-02:'])
  })
})
