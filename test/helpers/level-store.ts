/**
 * aedes-persistence-level on a real LevelDB in a temporary directory, as broker/persistence.ts
 * opens it, for the tests of broker/patches/. `reopen()` opens the same directory again, with
 * a fresh (unpatched) persistence: what a restarted broker reads.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'

const require = createRequire(import.meta.url)
const persistenceLevel = require('aedes-persistence-level') as (db: unknown) => LevelPersistence

/** The aedes 1.x persistence (callback wrapper) methods the tests reach. */
export interface LevelPersistence {
  asyncPersistence: Record<string, (...args: never[]) => unknown>
  subscriptionsByClient(client: { id: string }): Promise<Array<{ topic: string; qos: number }>>
  destroy(): Promise<void>
  [method: string]: unknown
}

export interface LevelStore {
  dir: string
  db: Level<string, Buffer>
  persistence: LevelPersistence
  /** Closes this store and opens the same directory again (the old object must not be used). */
  reopen(): Promise<LevelStore>
  /** Every key under `prefix` on disk. */
  keys(prefix: string): Promise<string[]>
  /** Closes the store (and removes the directory unless `keep`). */
  close(keep?: boolean): Promise<void>
}

function open(dir: string): LevelStore {
  const db = new Level<string, Buffer>(join(dir, 'broker'))
  const persistence = persistenceLevel(db)
  let closed = false
  const closeDb = async () => {
    if (closed) return
    closed = true
    await persistence.destroy()
  }
  const store: LevelStore = {
    dir,
    db,
    persistence,
    async reopen() {
      await closeDb()
      return open(dir)
    },
    async keys(prefix) {
      const out: string[] = []
      for await (const key of db.keys({ gte: prefix, lt: `${prefix}\uffff` })) out.push(key)
      return out
    },
    async close(keep = false) {
      await closeDb()
      if (!keep) await rm(dir, { recursive: true, force: true })
    },
  }
  return store
}

export async function openLevelStore(): Promise<LevelStore> {
  return open(await mkdtemp(join(tmpdir(), 'suanyang-level-')))
}
