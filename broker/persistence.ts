/**
 * Where the broker keeps retained messages, persistent sessions and queued QoS 1 messages:
 * an embedded LevelDB under DATA_DIR by default (survives a restart, no server needed), or Redis
 * with REDIS_URL so several broker processes act as one (aedes-persistence-redis + mqemitter-redis).
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Level } from 'level'
import { OLD_ID_RANGE, type LevelBatch, type QueueStore, type WriteBehind, queueStore } from './patches/queue-store.js'
import { type RetainedStore, retainedIndex } from './patches/retained-index.js'
import { type IndexedStore, type KeySource, sessionIndex } from './patches/session-index.js'

const require = createRequire(import.meta.url)

/** aedes-persistence-* 1.x-era packages: callback wrappers whose methods return promises without a callback. */
interface CallbackPersistence {
  // With a callback, destroy() waits for a 'ready' event that Aedes 1.x (promise API) never triggers.
  destroy(): Promise<void>
}
interface Emitter {
  close(cb: () => void): void
}

export interface BrokerStorage {
  persistence: CallbackPersistence
  mq?: Emitter
  kind: 'level' | 'redis'
  /** QoS 1 messages stored for persistent sessions (queued or in flight), when cheap to count. */
  queued?: () => Promise<number>
  /** Queued messages written to disk, and acknowledged before they had to be (level only). */
  queueCounts?: () => { written: number; skipped: number }
  /** The level store's write-behind queue, to hold devices' PUBACKs until their message is safe. */
  queue?: WriteBehind
  close(): Promise<void>
}

const LEVEL_CACHE_BYTES = 1 << 20
const LEVEL_WRITE_BUFFER_BYTES = 1 << 20

/** aedes-persistence-level keeps one `outgoing:{clientId}:{broker}:{counter}` key per queued message. */
const OUTGOING_RANGE = { gte: 'outgoing:', lt: 'outgoing;' }
const MAX_COUNTED = 1_000_000

function redisOptions(url: string): Record<string, unknown> {
  const u = new URL(url)
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    db: Number(u.pathname.slice(1) || 0),
    maxRetriesPerRequest: null, // keep commands queued across a Redis restart instead of failing them
  }
}

export interface StorageOptions {
  dataDir: string
  redisUrl?: string | undefined
  /** How long a queued QoS 1 message may wait in memory for its PUBACK before it is written: subscriber away, and connected. */
  queueFlushMs: number
  queueHoldMs?: number
  onError(err: unknown): void
}

export function openStorage(opts: StorageOptions): BrokerStorage {
  if (opts.redisUrl) {
    const persistenceRedis = require('aedes-persistence-redis') as (o: object) => CallbackPersistence
    const mqemitterRedis = require('mqemitter-redis') as (o: object) => Emitter
    const ro = redisOptions(opts.redisUrl)
    const persistence = persistenceRedis({ ...ro, maxSessionDelivery: 10_000 })
    const mq = mqemitterRedis(ro)
    return {
      persistence,
      mq,
      kind: 'redis',
      close: () => persistence.destroy(),
    }
  }
  const persistenceLevel = require('aedes-persistence-level') as (db: unknown) => CallbackPersistence
  // LevelDB's defaults (8 MB block cache, 4 MB memtable, two while one is written out) held
  // ~7 MB of the RSS with 10,000 idle devices (bench/idle.ts, issue 20); what the broker reads
  // back (wills, a session's subscriptions, queued messages) is mostly still in the memtable.
  const db = new Level(join(opts.dataDir, 'broker'), { cacheSize: LEVEL_CACHE_BYTES, writeBufferSize: LEVEL_WRITE_BUFFER_BYTES })
  const persistence = persistenceLevel(db)
  retainedIndex.install(persistence as unknown as RetainedStore)
  const queue = queueStore.install(persistence as unknown as QueueStore, db as unknown as LevelBatch, {
    flushMs: opts.queueFlushMs,
    ...(opts.queueHoldMs === undefined ? {} : { holdMs: opts.queueHoldMs }),
    onError: opts.onError,
  })
  // Under hooks.ts' store-patches, which wraps addSubscriptions and cleanIncoming on top of it:
  // the index sees only what is stored.
  sessionIndex.install(persistence as unknown as IndexedStore, db as unknown as KeySource, opts.onError)
  db.clear(OLD_ID_RANGE).catch(opts.onError)
  return {
    persistence,
    kind: 'level',
    // Keys only, no values decoded: ~1 µs a message, bounded, and only when /metrics is read.
    async queued() {
      let n = queue.pending()
      for await (const _key of db.keys(OUTGOING_RANGE)) if (++n >= MAX_COUNTED) break
      return n
    },
    queueCounts: queue.counts,
    queue,
    async close() {
      await queue.flush()
      await persistence.destroy()
    },
  }
}
