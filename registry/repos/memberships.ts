/** Roles: a person over one farm, one cooperative's farms, or every farm. */
import { type Actor, checkActor, writeAudit } from '../audit.js'
import type { Row } from '../db.js'
import { mutate, reader, type Scope } from '../entity.js'
import { issue, refusal } from '../messages.js'
import { done, invalid, refuse, type Result } from '../result.js'
import { str, text } from '../rows.js'
import { type Membership, MembershipInput, type PersonRole } from '../schemas.js'
import { mustExist } from './common.js'

const fromRow = (r: Row): Membership => ({
  personId: str(r.person_id),
  role: str(r.role) as PersonRole,
  farmId: text(r.farm_id),
  cooperativeId: text(r.cooperative_id),
  createdAt: str(r.created_at),
})

const MATCH = "person_id = $1 AND role = $2 AND COALESCE(farm_id, '') = $3 AND COALESCE(cooperative_id, '') = $4"
const matchParams = (m: { personId: string; role: string; farmId: string | null; cooperativeId: string | null }) => [m.personId, m.role, m.farmId ?? '', m.cooperativeId ?? '']
const scopeName = (m: { farmId: string | null; cooperativeId: string | null }) =>
  m.farmId !== null ? `farm:${m.farmId}` : m.cooperativeId !== null ? `cooperative:${m.cooperativeId}` : '*'

export class Memberships {
  constructor(private readonly scope: Scope) {}

  async list(filter: { personId?: string; farmId?: string; cooperativeId?: string } = {}): Promise<Membership[]> {
    const rows = await reader(this.scope).all<Row>(
      `SELECT * FROM memberships WHERE ($1 = '' OR person_id = $1) AND ($2 = '' OR farm_id = $2) AND ($3 = '' OR cooperative_id = $3)
        ORDER BY person_id, role, COALESCE(cooperative_id, ''), COALESCE(farm_id, '')`,
      [filter.personId ?? '', filter.farmId ?? '', filter.cooperativeId ?? ''],
    )
    return rows.map(fromRow)
  }

  /** Gives a role; giving one the person already holds changes nothing. */
  async add(input: unknown, actor: Actor): Promise<Result<Membership>> {
    checkActor(actor)
    const parsed = MembershipInput.safeParse(input, { reportInput: true })
    if (!parsed.success) return invalid(parsed.error)
    const m = parsed.data
    return mutate(this.scope, async (q) => {
      const problems = [
        ...(await mustExist(q, 'personId', 'person', m.personId)),
        ...(await mustExist(q, 'farmId', 'farm', m.farmId)),
        ...(await mustExist(q, 'cooperativeId', 'cooperative', m.cooperativeId)),
      ]
      if (problems.length > 0) return refuse(problems.some((p) => p.field === 'personId') ? 'not_found' : 'invalid', problems)
      const held = await q.get<Row>(`SELECT * FROM memberships WHERE ${MATCH}`, matchParams(m))
      if (held) return done(fromRow(held), false)
      const createdAt = new Date(this.scope.now()).toISOString()
      await q.run('INSERT INTO memberships (person_id, role, farm_id, cooperative_id, created_at) VALUES ($1, $2, $3, $4, $5)', [
        m.personId,
        m.role,
        m.farmId,
        m.cooperativeId,
        createdAt,
      ])
      await writeAudit(q, this.scope.now(), actor, 'membership.add', `person:${m.personId}`, { role: m.role, scope: scopeName(m) })
      return done({ ...m, createdAt })
    })
  }

  async remove(input: unknown, actor: Actor): Promise<Result<Membership>> {
    checkActor(actor)
    const parsed = MembershipInput.safeParse(input, { reportInput: true })
    if (!parsed.success) return invalid(parsed.error)
    const m = parsed.data
    return mutate(this.scope, async (q) => {
      const held = await q.get<Row>(`SELECT * FROM memberships WHERE ${MATCH}`, matchParams(m))
      if (!held) return refuse('not_found', [issue('role', refusal('notFound', { entity: 'membership', id: `${m.role} ${scopeName(m)}` }))])
      await q.run(`DELETE FROM memberships WHERE ${MATCH}`, matchParams(m))
      await writeAudit(q, this.scope.now(), actor, 'membership.remove', `person:${m.personId}`, { role: m.role, scope: scopeName(m) })
      return done(fromRow(held))
    })
  }
}
