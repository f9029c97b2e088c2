/**
 * Aedes' own persistence conformance suite (aedes-persistence/abstract.js, node:test based) run
 * against one of the broker's storages, chosen by CONFORMANCE_BACKEND:
 * - `redis`: aedes-persistence-redis on the redis-server at CONFORMANCE_REDIS_PORT;
 * - `level`: ours, broker/storage/level.ts, on a fresh LevelDB per test.
 * (The patched aedes-persistence-level the broker used before broker/storage/ passed 41 of 50:
 * broker/storage/README.md.)
 * Started by test/persistence-conformance.test.ts as `node --import tsx --test` (TAP out).
 * Aedes 1.x calls the promise API, so the suite runs in its async mode (testAsync).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { after, test } from 'node:test'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type PatchableStore, patchStore } from '../../broker/patches/store-patches.js'
import { LevelPersistence } from '../../broker/storage/level.js'

const require = createRequire(import.meta.url)
const abstract = require('aedes-persistence/abstract.js') as (opts: { test: typeof test; persistence: () => unknown; testAsync: boolean }) => void

interface Destroyable {
  destroy(): Promise<void>
}

const dirs: string[] = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'suanyang-conformance-'))
  dirs.push(dir)
  return dir
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

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
  redis: redisFlushed,
  level: () => LevelPersistence.open({ dir: join(freshDir(), 'broker'), flushMs: 50, onError: () => undefined }),
}

const backend = process.env.CONFORMANCE_BACKEND ?? ''
const factory = factories[backend]
if (!factory) throw new Error(`CONFORMANCE_BACKEND must be one of ${Object.keys(factories).join(', ')}, not ${JSON.stringify(backend)}`)
abstract({ test, persistence: factory, testAsync: true })
