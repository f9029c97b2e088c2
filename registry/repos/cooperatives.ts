import { count, EntityRepo, type EntitySpec, type Scope } from '../entity.js'
import { COUNTED, issue, refusal } from '../messages.js'
import { str, text } from '../rows.js'
import { type Cooperative, CooperativeInput } from '../schemas.js'

const spec: EntitySpec<typeof CooperativeInput, Cooperative> = {
  entity: 'cooperative',
  table: 'cooperatives',
  keyColumn: 'id',
  keyField: 'id',
  schema: CooperativeInput,
  toColumns: (c) => ({ id: c.id, name_th: c.nameTh, name_en: c.nameEn }),
  fromRow: (r) => ({ id: str(r.id), nameTh: text(r.name_th), nameEn: text(r.name_en), createdAt: str(r.created_at), updatedAt: str(r.updated_at) }),
  async blockers(q, id) {
    const n = await count(q, 'SELECT COUNT(*) AS n FROM farms WHERE cooperative_id = $1', [id])
    return n > 0 ? [issue('id', refusal('inUse', { entity: 'cooperative', id, n, what: COUNTED.farms }))] : []
  },
  async cascades(q, id) {
    return { memberships: await count(q, 'SELECT COUNT(*) AS n FROM memberships WHERE cooperative_id = $1', [id]) }
  },
}

export class Cooperatives extends EntityRepo<typeof CooperativeInput, Cooperative> {
  constructor(scope: Scope) {
    super(scope, spec)
  }

  list(): Promise<Cooperative[]> {
    return this.select()
  }
}
