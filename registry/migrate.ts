/**
 * Versioned migrations, run at every open. Each migration is an ordered SQL step written once for
 * both databases through a few dialect words (DialectTypes); `schema_migrations` records each
 * applied step with the sha256 of the exact SQL it ran. A shipped migration is never edited: a
 * recorded step whose SQL changed since is refused at open, and so is a database newer than
 * this code. All pending steps run in one transaction: a failed step leaves the previous version.
 * Concurrent starters do not race: PostgreSQL takes an advisory lock for the transaction,
 * SQLite's BEGIN IMMEDIATE holds the write lock (the other starter waits its busy timeout).
 */
import { createHash } from 'node:crypto'
import type { Database, Dialect, Queryable } from './db.js'

/** The words the two dialects spell differently. Column names go in, so checks can name them. */
export interface DialectTypes {
  real: string
  timestamp: string
  date: string
  /** A boolean column (SQLite: INTEGER restricted to 0 and 1). */
  bool(column: string): string
  /** A JSON column (SQLite: TEXT that must parse). */
  json(column: string): string
  /** An auto-numbered primary key. */
  serialKey: string
  /** After a table's closing parenthesis (SQLite: STRICT, so a column's type is enforced). */
  table: string
}

export const DIALECT_TYPES: Readonly<Record<Dialect, DialectTypes>> = {
  sqlite: {
    real: 'REAL',
    timestamp: 'TEXT',
    date: 'TEXT',
    bool: (c) => `INTEGER CHECK (${c} IN (0, 1))`,
    json: (c) => `TEXT CHECK (json_valid(${c}))`,
    serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
    table: ' STRICT',
  },
  postgres: {
    real: 'DOUBLE PRECISION',
    timestamp: 'TIMESTAMPTZ',
    date: 'DATE',
    bool: () => 'BOOLEAN',
    json: () => 'JSONB',
    serialKey: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    table: '',
  },
}

export interface Migration {
  version: number
  name: string
  /** The step's SQL in one dialect: several statements, no parameters. */
  sql(t: DialectTypes): string
}

export class MigrationError extends Error {
  override name = 'MigrationError'
  readonly code = 'ERR_REGISTRY_MIGRATION'
}

// Two int4 keys of pg_advisory_xact_lock: "suan", "yang".
const LOCK_KEYS = [0x7375616e, 0x79616e67] as const

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex')

export interface MigrateResult {
  /** The schema version after the run. */
  version: number
  /** Versions applied by this run (empty when the database was up to date). */
  applied: number[]
}

export async function migrate(db: Database, migrations: readonly Migration[], now: () => number = Date.now): Promise<MigrateResult> {
  checkOrder(migrations)
  const t = DIALECT_TYPES[db.dialect]
  return db.transaction(async (tx) => {
    if (db.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock($1, $2)', [...LOCK_KEYS])
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, ` +
        `checksum TEXT NOT NULL, applied_at ${t.timestamp} NOT NULL)${t.table}`,
    )
    const done = await applied(tx)
    const newest = migrations.at(-1)?.version ?? 0
    for (const row of done) {
      const shipped = migrations.find((m) => m.version === row.version)
      if (shipped === undefined && row.version > newest) {
        throw new MigrationError(`the registry's schema is version ${row.version}, newer than this suanyang knows (${newest}): upgrade suanyang`)
      }
      if (shipped === undefined || checksum(shipped.sql(t)) !== row.checksum) {
        throw new MigrationError(`migration ${row.version} (${row.name}) differs from the one applied to this database: a shipped migration must never be edited; add a new one`)
      }
    }
    const appliedNow: number[] = []
    for (const m of migrations) {
      if (done.some((row) => row.version === m.version)) continue
      const sql = m.sql(t)
      await tx.exec(sql)
      await tx.run('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)', [
        m.version,
        m.name,
        checksum(sql),
        new Date(now()).toISOString(),
      ])
      appliedNow.push(m.version)
    }
    return { version: Math.max(newest, ...done.map((r) => r.version)), applied: appliedNow }
  })
}

async function applied(tx: Queryable): Promise<Array<{ version: number; name: string; checksum: string }>> {
  const rows = await tx.all<{ version: number; name: string; checksum: string }>('SELECT version, name, checksum FROM schema_migrations ORDER BY version')
  return rows.map((r) => ({ ...r, version: Number(r.version) }))
}

/** Versions 1, 2, 3... in order, none missing: a gap is a migration lost in a merge. */
function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new MigrationError(`migration "${m.name}" has version ${m.version}, expected ${i + 1}`)
  })
}
