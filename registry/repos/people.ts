import type { Queryable } from '../db.js'
import { count, EntityRepo, type EntitySpec, reader, type Scope } from '../entity.js'
import { type FieldIssue, issue, refusal } from '../messages.js'
import { str, text } from '../rows.js'
import { type Person, PersonInput, type PersonRole } from '../schemas.js'

async function lineTaken(q: Queryable, p: { id: string; lineUserId: string | null }): Promise<FieldIssue[]> {
  if (p.lineUserId === null) return []
  const other = await q.get<{ id: string }>('SELECT id FROM people WHERE line_user_id = $1 AND id <> $2', [p.lineUserId, p.id])
  return other ? [issue('lineUserId', refusal('taken', { entity: 'person', id: other.id, value: p.lineUserId }))] : []
}

const spec: EntitySpec<typeof PersonInput, Person> = {
  entity: 'person',
  table: 'people',
  keyColumn: 'id',
  keyField: 'id',
  schema: PersonInput,
  toColumns: (p) => ({
    id: p.id,
    name: p.name,
    locale: p.locale,
    line_user_id: p.lineUserId,
    phone: p.phone,
    quiet_start: p.quietHours?.start ?? null,
    quiet_end: p.quietHours?.end ?? null,
  }),
  fromRow: (r) => ({
    id: str(r.id),
    name: str(r.name),
    locale: str(r.locale) as Person['locale'],
    lineUserId: text(r.line_user_id),
    phone: text(r.phone),
    quietHours: r.quiet_start === null ? null : { start: str(r.quiet_start), end: str(r.quiet_end) },
    createdAt: str(r.created_at),
    updatedAt: str(r.updated_at),
  }),
  check: (q, p) => lineTaken(q, p),
  async cascades(q, id) {
    return { memberships: await count(q, 'SELECT COUNT(*) AS n FROM memberships WHERE person_id = $1', [id]) }
  },
}

/** Someone who serves a farm, with every role that reaches it (own, cooperative's, every farm's). */
export interface FarmContact {
  person: Person
  roles: PersonRole[]
}

export class People extends EntityRepo<typeof PersonInput, Person> {
  constructor(scope: Scope) {
    super(scope, spec)
  }

  /** Everyone, or the people with a role over `farmId` (directly, by cooperative, or over all farms). */
  async list(filter: { farmId?: string } = {}): Promise<Person[]> {
    if (filter.farmId === undefined) return this.select()
    return (await this.forFarm(filter.farmId)).map((c) => c.person)
  }

  async forFarm(farmId: string): Promise<FarmContact[]> {
    const rows = await reader(this.scope).all<{ person_id: string; role: PersonRole }>(
      `SELECT DISTINCT m.person_id, m.role FROM memberships m
         LEFT JOIN farms f ON f.id = $1
        WHERE m.farm_id = $1
           OR (m.cooperative_id IS NOT NULL AND m.cooperative_id = f.cooperative_id)
           OR (m.farm_id IS NULL AND m.cooperative_id IS NULL)
        ORDER BY m.person_id, m.role`,
      [farmId],
    )
    const byPerson = new Map<string, PersonRole[]>()
    for (const r of rows) byPerson.set(r.person_id, [...(byPerson.get(r.person_id) ?? []), r.role])
    const people = await this.select(
      byPerson.size === 0 ? '1 = 0' : `id IN (${[...byPerson.keys()].map((_, i) => `$${i + 1}`).join(', ')})`,
      [...byPerson.keys()],
    )
    return people.map((person) => ({ person, roles: byPerson.get(person.id) ?? [] }))
  }
}
