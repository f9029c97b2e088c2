import { z } from 'zod'
import { trainingBucket as bucketFor } from '../contracts/alert-storage.js'
import { optionalHttpUrl, optionalString, positiveInt } from '../runtime/config.js'

const list = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : []),
  z.array(z.string().regex(/^[a-z0-9*][a-z0-9*-]{0,31}$/, 'farm id or pattern with *')),
)

export const IngestEnv = z.object({
  INFLUX_URL: optionalHttpUrl(),
  /** InfluxDB 2.x/3.x API token; for 1.8 `user:password`. */
  INFLUX_TOKEN: z.string().default(''),
  INFLUX_ORG: z.string().default(''),
  /** Bucket; `db/rp` (or `db`) on InfluxDB 1.8. */
  INFLUX_BUCKET: z.string().min(1).default('suanyang'),
  /** Where training farms' readings go, apart from real data (issue 16). Default: the bucket's name + `_training` (`db_training/rp` on 1.8). */
  INFLUX_TRAINING_BUCKET: optionalString(),
  /** Stable client id of this instance (its persistent session on the broker). */
  INGEST_CLIENT_ID: z.string().regex(/^ingest[-_][A-Za-z0-9_-]{1,40}$/, 'must start with ingest-').default('ingest-1'),
  INGEST_MQTT_USERNAME: optionalString(),
  INGEST_MQTT_PASSWORD: optionalString(),
  /** Farms this instance handles (comma list, `*` patterns); empty = all. */
  INGEST_FARMS: list,
  INGEST_MAX_PAYLOAD_BYTES: positiveInt(64 * 1024),
  INGEST_MAX_FUTURE_MS: positiveInt(5 * 60_000),
  INGEST_BATCH_BYTES: positiveInt(1024 * 1024),
  INGEST_FLUSH_MS: positiveInt(100),
  INGEST_WRITE_TIMEOUT_MS: positiveInt(10_000),
  /** Writer backoff (ingest/write-policy.ts): full jitter from the minimum to a doubling, capped ceiling. */
  INGEST_RETRY_MIN_MS: positiveInt(500),
  INGEST_RETRY_MAX_MS: positiveInt(30_000),
  /** Near this many unwritten bytes in the spool, ingest stops taking messages (the broker holds them). */
  INGEST_SPOOL_MAX_BYTES: positiveInt(1024 * 1024 * 1024),
  /** /healthz is degraded once InfluxDB writes have been failing this long. */
  INGEST_HEALTH_WRITE_FAILING_S: positiveInt(30),
  /** ...once the spool backlog has grown (never shrunk) this long... */
  INGEST_HEALTH_SPOOL_STALL_S: positiveInt(60),
  /** ...or while the backlog is above this many bytes. */
  INGEST_HEALTH_SPOOL_MAX_BYTES: positiveInt(100 * 1024 * 1024),
})
export type IngestConfig = z.output<typeof IngestEnv>

/**
 * The MQTT client id: `INGEST_CLIENT_ID` when it belongs to the login (the broker's rule: the
 * username, or the username and `_` or `-` and a suffix, broker/client-id.ts), as with the plain
 * `ingest` account of an installation from before; else the instance's own login with its
 * suffix (`ingest-1a2b3c4d_1`). Stable across restarts, and never another instance's session.
 */
export function ingestClientId(configured: string, username: string): string {
  if (configured === username || configured.startsWith(`${username}_`) || configured.startsWith(`${username}-`)) return configured
  return `${username}_${configured.replace(/^ingest[-_]/, '')}`
}

/** The training bucket: as set, else INFLUX_BUCKET with `_training` on its database part. */
export const trainingBucket = (config: Pick<IngestConfig, 'INFLUX_BUCKET' | 'INFLUX_TRAINING_BUCKET'>): string =>
  bucketFor(config.INFLUX_BUCKET, config.INFLUX_TRAINING_BUCKET)
