/**
 * Aedes' own persistence conformance suite (aedes-persistence/abstract.js, node:test based) run
 * against one of the broker's storages, chosen by CONFORMANCE_BACKEND:
 * - `level-patched`: aedes-persistence-level with the patches broker/persistence.ts applied
 *   before broker/storage/ (retained-index, queue-store, persistence-match-cache, store-patches);
 * - `redis`: aedes-persistence-redis on the redis-server at CONFORMANCE_REDIS_PORT;
 * - `level`: ours, broker/storage/level.ts, on a fresh LevelDB per test.
 * Started by test/persistence-conformance.test.ts as `node --import tsx --test` (TAP out).
 * Aedes 1.x calls the promise API, so the suite runs in its async mode (testAsync).
 */
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { type LevelBatch, type QueueStore, queueStore } from '../../broker/patches/queue-store.js'
import { type RetainedStore, retainedIndex } from '../../broker/patches/retained-index.js'
import { persistenceMatchCache } from '../../broker/patches/persistence-match-cache.js'
import { type PatchableStore, patchStore } from '../../broker/patches/store-patches.js'
import { LevelPersistence } from '../../broker/storage/level.js'

const require = createRequire(import.meta.url)
const abstract = require('aedes-persistence/abstract.js') as (opts: { test: typeof test; persistence: () => unknown; testAsync: boolean }) => void

interface Destroyable {
  destroy(): Promise<void>
}

const freshDir = () => mkdtempSync(join(tmpdir(), 'suanyang-conformance-'))

function levelPatched(): unknown {
  const persistenceLevel = require('aedes-persistence-level') as (db: unknown) => Destroyable
  const db = new Level(join(freshDir(), 'broker'))
  const persistence = persistenceLevel(db)
  retainedIndex.install(persistence as unknown as RetainedStore)
  const queue = queueStore.install(persistence as unknown as QueueStore, db as unknown as LevelBatch, { flushMs: 50, onError: () => undefined })
  persistenceMatchCache.install(persistence as never)
  patchStore(persistence as unknown as PatchableStore, () => true)
  const destroy = persistence.destroy.bind(persistence)
  persistence.destroy = async () => {
    await queue.flush()
    await destroy()
  }
  return persistence
}

function redis(): unknown {
  const persistenceRedis = require('aedes-persistence-redis') as (o: object) => Destroyable
  const port = Number(process.env.CONFORMANCE_REDIS_PORT)
  const p = persistenceRedis({ host: '127.0.0.1', port, maxSessionDelivery: 10_000 })
  patchStore(p as unknown as PatchableStore, () => true)
  return p
}

async function redisFlushed(): Promise<unknown> {
  // Each test starts on an empty database, as aedes-persistence-redis' own test does.
  const Redis = require(createRequire(require.resolve('aedes-persistence-redis')).resolve('ioredis')) as new (o: object) => { flushall(): Promise<unknown>; quit(): Promise<unknown> }
  const conn = new Redis({ host: '127.0.0.1', port: Number(process.env.CONFORMANCE_REDIS_PORT) })
  await conn.flushall()
  await conn.quit()
  return redis()
}

const factories: Record<string, () => unknown> = {
  'level-patched': levelPatched,
  redis: redisFlushed,
  level: () => LevelPersistence.open({ dir: join(freshDir(), 'broker'), flushMs: 50, onError: () => undefined }),
}

const backend = process.env.CONFORMANCE_BACKEND ?? ''
const factory = factories[backend]
if (!factory) throw new Error(`CONFORMANCE_BACKEND must be one of ${Object.keys(factories).join(', ')}, not ${JSON.stringify(backend)}`)
abstract({ test, persistence: factory, testAsync: true })
