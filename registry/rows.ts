/** Column values in and out, the same for both drivers (db.ts normalises what they return). */
import type { Row, SqlValue } from './db.js'

export const bool = (v: unknown): boolean => v === true || v === 1
export const optBool = (v: unknown): boolean | null => (v === null || v === undefined ? null : bool(v))
export const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
export const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T
export const str = (v: unknown): string => String(v)

/** JSON with object keys sorted: PostgreSQL's jsonb does not keep the order they were written in. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  )
}

export type Columns = Record<string, SqlValue>

export function insertSql(table: string, columns: Columns): { sql: string; params: SqlValue[] } {
  const names = Object.keys(columns)
  return {
    sql: `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`,
    params: Object.values(columns),
  }
}

export function updateSql(table: string, columns: Columns, keyColumn: string, key: string): { sql: string; params: SqlValue[] } {
  const names = Object.keys(columns)
  return {
    sql: `UPDATE ${table} SET ${names.map((n, i) => `${n} = $${i + 1}`).join(', ')} WHERE ${keyColumn} = $${names.length + 1}`,
    params: [...Object.values(columns), key],
  }
}

export type { Row }
