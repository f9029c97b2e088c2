/**
 * The shared registry: PostgreSQL through `pg` (pure JavaScript), for several broker and ingest
 * processes on several machines (DATABASE_URL). Values are parsed as the SQLite driver gives
 * them (db.ts): JSON as text, timestamps as ISO strings, bigint as number, dates as text.
 */
import pg from 'pg'
import { type ConstraintKind, ConstraintError, type Database, type Queryable, type SqlValue, TransactionGuard } from './db.js'

// OIDs of pg_type (src/include/catalog/pg_type.dat).
const OID = { int8: 20, json: 114, date: 1082, timestamp: 1114, timestamptz: 1184, jsonb: 3802 } as const

const isoTimestamp = (text: string): string => (pg.types.getTypeParser(OID.timestamptz) as (v: string) => Date)(text).toISOString()
const same = (text: string): string => text

const PARSERS: Record<number, (text: string) => unknown> = {
  [OID.int8]: Number,
  [OID.json]: same,
  [OID.jsonb]: same,
  [OID.date]: same,
  [OID.timestamp]: isoTimestamp,
  [OID.timestamptz]: isoTimestamp,
}

/** This pool's parsers only: the process-wide pg.types stay as they are. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    (format ?? 'text') === 'text' && PARSERS[oid] ? PARSERS[oid] : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
}

// SQLSTATE class 23 (postgresql.org/docs/current/errcodes-appendix.html).
const CONSTRAINT_CODES: Record<string, ConstraintKind> = { '23505': 'unique', '23503': 'foreign_key', '23514': 'check', '23502': 'not_null' }

function translate(err: unknown): unknown {
  const code = (err as { code?: unknown }).code
  const kind = typeof code === 'string' ? CONSTRAINT_CODES[code] : undefined
  return kind ? new ConstraintError(kind, (err as Error).message, err) : err
}

type Client = Pick<pg.PoolClient, 'query'>

class PgQueryable implements Queryable {
  readonly dialect = 'postgres' as const

  constructor(protected readonly client: Client) {}

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    try {
      return (await this.client.query({ text: sql, values: [...params] })).rows as T[]
    } catch (err) {
      throw translate(err)
    }
  }

  async get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0]
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    try {
      return (await this.client.query({ text: sql, values: [...params] })).rowCount ?? 0
    } catch (err) {
      throw translate(err)
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.client.query(script) // no parameters: the simple protocol runs every statement
    } catch (err) {
      throw translate(err)
    }
  }
}

class PgDatabase extends PgQueryable implements Database {
  private readonly guard = new TransactionGuard()
  private closed = false

  constructor(private readonly pool: pg.Pool) {
    super(pool)
  }

  override async all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    this.guard.check(this)
    return super.all<T>(sql, params)
  }

  override async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    this.guard.check(this)
    return super.run(sql, params)
  }

  override async exec(script: string): Promise<void> {
    this.guard.check(this)
    return super.exec(script)
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.guard.check(this)
    const client = await this.pool.connect()
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      const result = await this.guard.run(this, () => fn(new PgQueryable(client)))
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = rollbackErr as Error // a dead connection must not go back to the pool
      })
      throw err
    } finally {
      client.release(broken)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.pool.end()
  }
}

export interface PostgresOptions {
  url: string
  /** Connections this process keeps at most (the registry's traffic is light). */
  maxConnections?: number
  /** An idle connection failed (server restart, network): the next query reconnects. */
  onIdleError?: (err: Error) => void
}

export function openPostgres({ url, maxConnections = 4, onIdleError }: PostgresOptions): Database {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, types, application_name: 'suanyang' })
  // Without a listener an idle client's error is thrown as an uncaught 'error' event.
  pool.on('error', (err) => onIdleError?.(err))
  return new PgDatabase(pool)
}
