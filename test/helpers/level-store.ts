/**
 * The broker's own persistence (broker/storage/level.ts) on a real LevelDB in a temporary
 * directory, as broker/persistence.ts opens it, for the tests of broker/patches/ and
 * broker/storage/. `reopen()` closes it (writing what is pending, as a graceful stop does) and
 * opens the same directory again: what a restarted broker reads.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelPersistence, type LevelOptions } from '../../broker/storage/level.js'

export type QueueTimes = Partial<Pick<LevelOptions, 'flushMs' | 'holdMs' | 'maxPending'>>

export interface LevelStore {
  dir: string
  persistence: LevelPersistence
  /** Closes this store and opens the same directory again (the old object must not be used). */
  reopen(times?: QueueTimes): Promise<LevelStore>
  /** Every key under `prefix` on disk. */
  keys(prefix: string): Promise<string[]>
  /** Closes the store (and removes the directory unless `keep`). */
  close(keep?: boolean): Promise<void>
}

async function open(dir: string, times: QueueTimes): Promise<LevelStore> {
  const persistence = await LevelPersistence.open({ dir: join(dir, 'broker'), flushMs: 100, ...times, onError: () => undefined })
  let closed = false
  const closeDb = async () => {
    if (closed) return
    closed = true
    await persistence.destroy()
  }
  return {
    dir,
    persistence,
    async reopen(again = times) {
      await closeDb()
      return open(dir, again)
    },
    async keys(prefix) {
      const out: string[] = []
      for await (const key of persistence.db.keys({ gte: prefix, lt: `${prefix}\uffff` })) out.push(key)
      return out
    },
    async close(keep = false) {
      await closeDb()
      if (!keep) await rm(dir, { recursive: true, force: true })
    },
  }
}

export async function openLevelStore(times: QueueTimes = {}): Promise<LevelStore> {
  return open(await mkdtemp(join(tmpdir(), 'suanyang-level-')), times)
}
