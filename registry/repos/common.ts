/** Checks several repositories share: does a referenced record exist. */
import type { Queryable } from '../db.js'
import { type Entity, type FieldIssue, issue, refusal } from '../messages.js'

const TABLES: Partial<Record<Entity, { table: string; key: string }>> = {
  farm: { table: 'farms', key: 'id' },
  cooperative: { table: 'cooperatives', key: 'id' },
  person: { table: 'people', key: 'id' },
  device: { table: 'devices', key: 'id' },
  account: { table: 'service_accounts', key: 'username' },
}

export async function exists(q: Queryable, entity: Entity, id: string): Promise<boolean> {
  const t = TABLES[entity]
  if (!t) throw new Error(`no table for ${entity}`)
  return (await q.get(`SELECT 1 AS x FROM ${t.table} WHERE ${t.key} = $1`, [id])) !== undefined
}

/** An issue on `field` when `id` is given and names no record of `entity`. */
export async function mustExist(q: Queryable, field: string, entity: Entity, id: string | null): Promise<FieldIssue[]> {
  if (id === null || (await exists(q, entity, id))) return []
  return [issue(field, refusal('notFound', { entity, id }))]
}
