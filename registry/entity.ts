/**
 * One repository shape for every record with its own id (cooperatives, farms, people, devices,
 * service accounts): add, get, list, update, remove. Each change is validated first, then
 * written with its audit row in one transaction; a refusal writes nothing. An update that
 * changes nothing writes nothing either (and says so: `changed: false`).
 */
import type { z } from 'zod'
import { type Actor, checkActor, writeAudit } from './audit.js'
import { ConstraintError, type Database, type Queryable, type Row, type SqlValue } from './db.js'
import { CUSTOM, type Entity, type FieldIssue, issue, refusal } from './messages.js'
import { Abort, type Failure, type Result, done, invalid, refuse } from './result.js'
import { type Columns, insertSql, stableJson, updateSql } from './rows.js'

/** Where a repository runs: on its own (each change its own transaction) or inside `atomically`. */
export interface Scope {
  db: Database
  tx: Queryable | undefined
  now(): number
}

export const reader = (scope: Scope): Queryable => scope.tx ?? scope.db

/**
 * Runs a change in a transaction. A refusal rolls back whatever the change wrote; a constraint
 * the database caught (a race the checks could not see) becomes a refusal too.
 */
export async function mutate<T>(scope: Scope, change: (q: Queryable) => Promise<Result<T>>): Promise<Result<T>> {
  if (scope.tx) return change(scope.tx) // the enclosing `atomically` rolls back on a refusal
  return inTransaction(scope.db, change)
}

export async function inTransaction<T>(db: Database, change: (q: Queryable) => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await db.transaction(async (q) => {
      const result = await change(q)
      if (!result.ok) throw new Abort(result)
      return result
    })
  } catch (err) {
    if (err instanceof Abort) return err.failure
    if (err instanceof ConstraintError) return constraintRefusal(err)
    throw err
  }
}

function constraintRefusal(err: ConstraintError): Failure {
  const reason = err.kind === 'unique' ? 'exists' : err.kind === 'foreign_key' ? 'not_found' : 'invalid'
  return refuse(reason, [{ field: '', th: `ฐานข้อมูลไม่รับรายการนี้ (${err.kind})`, en: `the database refused it (${err.kind}: ${err.message})` }])
}

/** `SELECT ... FOR UPDATE` where the dialect has it (SQLite's BEGIN IMMEDIATE already locks). */
export const forUpdate = (q: Queryable): string => (q.dialect === 'postgres' ? ' FOR UPDATE' : '')

export interface EntitySpec<S extends z.ZodType, E> {
  entity: Entity
  table: string
  keyColumn: string
  /** The key's name in the input (`id`, `username`). */
  keyField: string
  schema: S
  toColumns(value: z.output<S>): Columns
  fromRow(row: Row): E
  /** Problems with what the record points at (a farm that does not exist, a taken LINE id). */
  check?(q: Queryable, value: z.output<S>, key: string): Promise<FieldIssue[]>
  /** What stops a removal, and what it takes along (counted in the audit row). */
  blockers?(q: Queryable, key: string): Promise<FieldIssue[]>
  cascades?(q: Queryable, key: string): Promise<Record<string, number>>
  /** Fields kept out of the audit log (credentials hashes). */
  secret?: readonly string[]
}

type Plain = Record<string, unknown>
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The stored record with the patch laid over it; nested objects merge one level deep. */
function overlay(current: Plain, patch: Plain): Plain {
  const next: Plain = { ...current }
  for (const [k, v] of Object.entries(patch)) {
    const was = current[k]
    next[k] = isPlain(v) && isPlain(was) ? { ...was, ...v } : v
  }
  return next
}

/** `{ a: 1, b: { c: 2 } }` -> `{ a: 1, 'b.c': 2 }`, for the audit's list of changed fields. */
function flatten(value: Plain, prefix = ''): Plain {
  return Object.fromEntries(
    Object.entries(value).flatMap(([k, v]) => (isPlain(v) && Object.keys(v).length > 0 ? Object.entries(flatten(v, `${prefix}${k}.`)) : [[`${prefix}${k}`, v]])),
  )
}

export class EntityRepo<S extends z.ZodType, E extends object> {
  constructor(
    protected readonly scope: Scope,
    protected readonly spec: EntitySpec<S, E>,
  ) {}

  private target(key: string): string {
    return `${this.spec.entity}:${key}`
  }

  private masked(value: Plain): Plain {
    const out = { ...value }
    for (const k of this.spec.secret ?? []) if (out[k] !== null && out[k] !== undefined) out[k] = '[secret]'
    return out
  }

  protected async load(q: Queryable, key: string, lock = false): Promise<E | undefined> {
    const row = await q.get<Row>(`SELECT * FROM ${this.spec.table} WHERE ${this.spec.keyColumn} = $1${lock ? forUpdate(q) : ''}`, [key])
    return row && this.spec.fromRow(row)
  }

  async get(key: string): Promise<E | undefined> {
    return this.load(reader(this.scope), key)
  }

  protected async select(where = '', params: readonly SqlValue[] = []): Promise<E[]> {
    const rows = await reader(this.scope).all<Row>(`SELECT * FROM ${this.spec.table}${where ? ` WHERE ${where}` : ''} ORDER BY ${this.spec.keyColumn}`, params)
    return rows.map((r) => this.spec.fromRow(r))
  }

  private stamp(columns: Columns, created: string | undefined): Columns {
    const now = new Date(this.scope.now()).toISOString()
    return { ...columns, created_at: created ?? now, updated_at: now }
  }

  /** `createdAt`: when an imported record was first made (accounts.json keeps it), ISO 8601. */
  async add(input: unknown, actor: Actor, options: { createdAt?: string } = {}): Promise<Result<E>> {
    checkActor(actor)
    const parsed = this.spec.schema.safeParse(input, { reportInput: true })
    if (!parsed.success) return invalid(parsed.error)
    const value = parsed.data as z.output<S>
    const key = String((value as Plain)[this.spec.keyField])
    const createdAt = options.createdAt === undefined ? undefined : new Date(options.createdAt)
    if (createdAt && Number.isNaN(createdAt.getTime())) return refuse('invalid', [issue('createdAt', CUSTOM.timestamp)])
    return mutate(this.scope, async (q) => {
      if (await this.load(q, key)) return refuse('exists', [issue(this.spec.keyField, refusal('exists', { entity: this.spec.entity, id: key }))])
      const problems = (await this.spec.check?.(q, value, key)) ?? []
      if (problems.length > 0) return refuse('invalid', problems)
      const { sql, params } = insertSql(this.spec.table, this.stamp(this.spec.toColumns(value), createdAt?.toISOString()))
      await q.run(sql, params)
      const stored = (await this.load(q, key)) as E
      await writeAudit(q, this.scope.now(), actor, `${this.spec.entity}.add`, this.target(key), { after: this.masked(stored as Plain) })
      return done(stored)
    })
  }

  async update(key: string, patch: Plain, actor: Actor): Promise<Result<E>> {
    checkActor(actor)
    const newKey = patch[this.spec.keyField]
    if (newKey !== undefined && newKey !== key) return refuse('invalid', [issue(this.spec.keyField, CUSTOM.fixedId)])
    return mutate(this.scope, async (q) => {
      const current = await this.load(q, key, true)
      if (!current) return refuse('not_found', [issue(this.spec.keyField, refusal('notFound', { entity: this.spec.entity, id: key }))])
      const { createdAt, updatedAt: _updatedAt, ...stored } = current as Plain
      const parsed = this.spec.schema.safeParse(overlay(stored, patch), { reportInput: true })
      if (!parsed.success) return invalid(parsed.error)
      const value = parsed.data as z.output<S>
      const before = flatten(this.masked(stored))
      const after = flatten(this.masked(value as Plain))
      const changes = Object.fromEntries(
        Object.keys({ ...before, ...after })
          .filter((k) => stableJson(before[k]) !== stableJson(after[k]))
          .map((k) => [k, [before[k] ?? null, after[k] ?? null]]),
      )
      const secretChanged = (this.spec.secret ?? []).some((k) => (stored as Plain)[k] !== (value as Plain)[k])
      if (Object.keys(changes).length === 0 && !secretChanged) return done(current, false)
      const problems = (await this.spec.check?.(q, value, key)) ?? []
      if (problems.length > 0) return refuse('invalid', problems)
      const { sql, params } = updateSql(this.spec.table, this.stamp(this.spec.toColumns(value), String(createdAt)), this.spec.keyColumn, key)
      await q.run(sql, params)
      const detail = secretChanged ? { changes, secretChanged: this.spec.secret } : { changes }
      await writeAudit(q, this.scope.now(), actor, `${this.spec.entity}.update`, this.target(key), detail)
      return done((await this.load(q, key)) as E)
    })
  }

  async remove(key: string, actor: Actor): Promise<Result<E>> {
    checkActor(actor)
    return mutate(this.scope, async (q) => {
      const current = await this.load(q, key, true)
      if (!current) return refuse('not_found', [issue(this.spec.keyField, refusal('notFound', { entity: this.spec.entity, id: key }))])
      const blockers = (await this.spec.blockers?.(q, key)) ?? []
      if (blockers.length > 0) return refuse('in_use', blockers)
      const cascaded = (await this.spec.cascades?.(q, key)) ?? {}
      await q.run(`DELETE FROM ${this.spec.table} WHERE ${this.spec.keyColumn} = $1`, [key])
      await writeAudit(q, this.scope.now(), actor, `${this.spec.entity}.remove`, this.target(key), { before: this.masked(current as Plain), cascaded })
      return done(current)
    })
  }
}

/** How many rows of `table` match: for blockers and cascades. */
export async function count(q: Queryable, sql: string, params: readonly SqlValue[]): Promise<number> {
  const row = await q.get<{ n: unknown }>(sql, params)
  return Number(row?.n ?? 0)
}
