/**
 * The one query layer both databases implement (issue 14): plain SQL with `$1..$n` parameters,
 * rows as plain objects, transactions, and constraint violations as one error type. The SQLite
 * driver (sqlite.ts) rewrites `$n` to `?n`; PostgreSQL (postgres.ts) takes it as it is.
 *
 * Values are normalised at the drivers so the repositories never branch on the dialect:
 * JSON columns come back as text, timestamps as ISO 8601 strings (`toISOString()` form),
 * 64-bit integers as numbers. Booleans come back as `true`/`false` (PostgreSQL) or `1`/`0`
 * (SQLite): read them with `Boolean()`.
 */

import { AsyncLocalStorage } from 'node:async_hooks'

export type Dialect = 'sqlite' | 'postgres'
export type SqlValue = string | number | boolean | null
export type Row = Record<string, unknown>

export interface Queryable {
  readonly dialect: Dialect
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>
  get<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>
  /** INSERT, UPDATE, DELETE: the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>
  /** Several statements without parameters (migrations). */
  exec(script: string): Promise<void>
}

export interface Database extends Queryable {
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. On
   * SQLite it takes the write lock at once (BEGIN IMMEDIATE): other processes wait up to the
   * busy timeout, and this process runs one transaction at a time.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  close(): Promise<void>
}

export type ConstraintKind = 'unique' | 'foreign_key' | 'check' | 'not_null'

/** A row the schema refused. Both drivers throw this for constraint violations. */
export class ConstraintError extends Error {
  override name = 'ConstraintError'
  constructor(
    readonly kind: ConstraintKind,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message)
  }
}

/**
 * `$1..$n` to SQLite's `?1..?n` (explicit indexes: `$2` before `$1` still binds the second
 * value). Quoted strings and identifiers are left alone.
 */
export function toSqliteParams(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\$(\d+)/g, (match, n: string | undefined) => (n === undefined ? match : `?${n}`))
}

/**
 * Inside a transaction, only its own handle may be used: a call on the database itself would
 * wait for that very transaction (SQLite's queue, a row lock on PostgreSQL) and never return.
 * Such a call fails at once instead.
 */
export class TransactionGuard {
  private readonly inside = new AsyncLocalStorage<object>()

  run<T>(owner: object, fn: () => Promise<T>): Promise<T> {
    return this.inside.run(owner, fn)
  }

  check(owner: object): void {
    if (this.inside.getStore() === owner) {
      throw new Error('the database was used directly inside one of its own transactions: use the transaction handle (the repositories atomically() passes in)')
    }
  }
}
