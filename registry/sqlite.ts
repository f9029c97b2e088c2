/**
 * The embedded registry: Node's built-in `node:sqlite` (DatabaseSync), one file under DATA_DIR.
 * Nothing to install or download (better-sqlite3's binary would come from outside the npm
 * registry). WAL lets readers in other processes (broker, ingest) read while one writes;
 * foreign keys are on; a writer waits up to `busyTimeoutMs` for another process's write lock.
 *
 * DatabaseSync is synchronous, so this process runs one transaction at a time behind a queue:
 * statements of a second caller never land inside the first caller's open transaction.
 */
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import type { DatabaseSync as DatabaseSyncType, SQLInputValue } from 'node:sqlite'

type SqliteModule = { DatabaseSync: typeof DatabaseSyncType }
import { type ConstraintKind, ConstraintError, type Database, type Queryable, type SqlValue, toSqliteParams, TransactionGuard } from './db.js'

/**
 * node:sqlite, loaded without Node 22's "SQLite is an experimental feature" warning: only that
 * one warning is dropped, while the module loads; every other warning passes through. Loaded
 * with require because some module runners do not know the `node:sqlite` builtin yet.
 */
function loadSqlite(): SqliteModule {
  const emitWarning = process.emitWarning
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type
    const name = warning instanceof Error ? warning.name : type
    const text = warning instanceof Error ? warning.message : warning
    if (name === 'ExperimentalWarning' && text.startsWith('SQLite is an experimental feature')) return
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest)
  } as typeof process.emitWarning
  try {
    return createRequire(import.meta.url)('node:sqlite') as SqliteModule
  } finally {
    process.emitWarning = emitWarning
  }
}

// SQLite extended result codes (sqlite.org/rescode.html).
const CONSTRAINT_CODES: Record<number, ConstraintKind> = { 1555: 'unique', 2067: 'unique', 787: 'foreign_key', 275: 'check', 1299: 'not_null' }

function translate(err: unknown): unknown {
  const code = (err as { errcode?: number }).errcode
  const kind = code === undefined ? undefined : CONSTRAINT_CODES[code]
  return kind ? new ConstraintError(kind, (err as Error).message, err) : err
}

// Booleans: Node 22's node:sqlite refuses them; SQLite stores 1 and 0 anyway.
const bind = (params: readonly SqlValue[]): SQLInputValue[] => params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p))

type Statement = ReturnType<DatabaseSyncType['prepare']>

/** Prepared statements by SQL text, shared by the database and its transaction handle. */
function cachedPrepare(db: DatabaseSyncType): (sql: string) => Statement {
  const statements = new Map<string, Statement>()
  return (sql) => {
    let statement = statements.get(sql)
    if (statement === undefined) {
      statement = db.prepare(toSqliteParams(sql))
      if (statements.size >= 500) statements.clear()
      statements.set(sql, statement)
    }
    return statement
  }
}

/** Statements run straight on the connection: the transaction handle, and the base of the database. */
class SqliteQueryable implements Queryable {
  readonly dialect = 'sqlite' as const

  constructor(
    protected readonly db: DatabaseSyncType,
    private readonly prepare: (sql: string) => Statement,
  ) {}

  protected direct<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work())
    } catch (err) {
      return Promise.reject(translate(err))
    }
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.direct(() => this.prepare(sql).all(...bind(params)) as T[])
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.direct(() => this.prepare(sql).get(...bind(params)) as T | undefined)
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.direct(() => Number(this.prepare(sql).run(...bind(params)).changes))
  }

  exec(script: string): Promise<void> {
    return this.direct(() => this.db.exec(script))
  }
}

class SqliteDatabase extends SqliteQueryable implements Database {
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private readonly guard = new TransactionGuard()

  private readonly tx: SqliteQueryable

  constructor(db: DatabaseSyncType) {
    const prepare = cachedPrepare(db)
    super(db, prepare)
    this.tx = new SqliteQueryable(db, prepare)
  }

  /** Every use of the connection waits its turn, so nothing runs inside another caller's transaction. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    try {
      this.guard.check(this)
    } catch (err) {
      return Promise.reject(err)
    }
    const result = this.queue.then(work)
    this.queue = result.catch(() => undefined)
    return result
  }

  override all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.serial(() => super.all<T>(sql, params))
  }

  override get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.serial(() => super.get<T>(sql, params))
  }

  override run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.serial(() => super.run(sql, params))
  }

  override exec(script: string): Promise<void> {
    return this.serial(() => super.exec(script))
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      await this.tx.exec('BEGIN IMMEDIATE')
      try {
        const result = await this.guard.run(this, () => fn(this.tx))
        await this.tx.exec('COMMIT')
        return result
      } catch (err) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK')
        throw err
      }
    })
  }

  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return
      this.closed = true
      this.db.close()
    })
  }
}

export interface SqliteOptions {
  /** A file path, or ':memory:'. */
  path: string
  busyTimeoutMs?: number
}

function connect(path: string, busyTimeoutMs: number): SqliteDatabase {
  const { DatabaseSync } = loadSqlite()
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new DatabaseSync(path)
  try {
    // busy_timeout first: switching to WAL itself needs the lock another starter may hold.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.round(busyTimeoutMs))}`)
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA foreign_keys = ON')
  } catch (err) {
    db.close()
    throw err
  }
  return new SqliteDatabase(db)
}

/**
 * One connection per file per process, shared by every opener: a second connection's
 * BEGIN IMMEDIATE would wait for the first one's lock synchronously, on the very thread that
 * has to finish the first transaction (a stall of the whole busy timeout).
 */
const shared = new Map<string, { db: SqliteDatabase; users: number }>()

export function openSqlite({ path, busyTimeoutMs = 5_000 }: SqliteOptions): Database {
  if (path === ':memory:') return connect(path, busyTimeoutMs)
  const file = resolve(path)
  let entry = shared.get(file)
  if (entry === undefined) {
    entry = { db: connect(file, busyTimeoutMs), users: 0 }
    shared.set(file, entry)
  }
  entry.users++
  const { db } = entry
  let closed = false
  return {
    dialect: 'sqlite',
    all: (sql, params) => db.all(sql, params),
    get: (sql, params) => db.get(sql, params),
    run: (sql, params) => db.run(sql, params),
    exec: (script) => db.exec(script),
    transaction: (fn) => db.transaction(fn),
    async close() {
      if (closed) return
      closed = true
      const current = shared.get(file)
      if (current === undefined || --current.users > 0) return
      shared.delete(file)
      await current.db.close()
    },
  }
}
