/**
 * Where the broker keeps retained messages, persistent sessions and queued QoS 1 messages:
 * an embedded LevelDB under DATA_DIR by default (survives a restart, no server needed; our own
 * persistence, storage/level.ts), or Redis with REDIS_URL so several broker processes act as one
 * (aedes-persistence-redis + mqemitter-redis).
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { LevelPersistence } from './storage/level.js'
import type { SafetyNotices } from './storage/queue.js'

const require = createRequire(import.meta.url)

/** What Aedes is given as `persistence`: aedes-persistence-redis (callback wrapper) or ours. */
interface Persistence {
  // aedes-persistence-redis: with a callback, destroy() waits for a 'ready' event that Aedes 1.x (promise API) never triggers.
  destroy(): Promise<void>
}
interface Emitter {
  close(cb: () => void): void
}

export interface BrokerStorage {
  persistence: Persistence
  mq?: Emitter
  kind: 'level' | 'redis'
  /** QoS 1 messages stored for persistent sessions (queued or in flight), when cheap to count. */
  queued?: () => Promise<number>
  /** Queued messages written to disk, and acknowledged before they had to be (level only). */
  queueCounts?: () => { written: number; skipped: number }
  /** The level store's write-behind queue, to hold devices' PUBACKs until their message is safe. */
  queue?: SafetyNotices & { knowConnected(connected: (clientId: string) => boolean): void }
  close(): Promise<void>
}

const LEVEL_CACHE_BYTES = 1 << 20
const LEVEL_WRITE_BUFFER_BYTES = 1 << 20

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
  /** Told what was converted from the layout before broker/storage/ (once). */
  onMigrated?: (counts: Record<string, number>) => void
}

export async function openStorage(opts: StorageOptions): Promise<BrokerStorage> {
  if (opts.redisUrl) {
    const persistenceRedis = require('aedes-persistence-redis') as (o: object) => Persistence
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
  // LevelDB's defaults (8 MB block cache, 4 MB memtable, two while one is written out) held
  // ~7 MB of the RSS with 10,000 idle devices (bench/idle.ts, issue 20); what the broker reads
  // back (wills, queued messages) is mostly still in the memtable.
  const persistence = await LevelPersistence.open({
    dir: join(opts.dataDir, 'broker'),
    cacheBytes: LEVEL_CACHE_BYTES,
    writeBufferBytes: LEVEL_WRITE_BUFFER_BYTES,
    flushMs: opts.queueFlushMs,
    holdMs: opts.queueHoldMs,
    onError: opts.onError,
    ...(opts.onMigrated ? { onMigrated: opts.onMigrated } : {}),
  })
  const queue = persistence.queue
  return {
    persistence,
    kind: 'level',
    // Keys only, no values decoded: ~1 µs a message, bounded, and only when /metrics is read.
    queued: () => queue.count(),
    queueCounts: () => queue.counts(),
    queue,
    close: () => persistence.destroy(),
  }
}
