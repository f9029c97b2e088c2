import type { Kind } from '../../contracts/names.js'
import { count, EntityRepo, type EntitySpec, type Scope } from '../entity.js'
import { issue, refusal } from '../messages.js'
import { json, str, text } from '../rows.js'
import { type Device, DeviceInput } from '../schemas.js'
import { exists, mustExist } from './common.js'

const spec: EntitySpec<typeof DeviceInput, Device> = {
  entity: 'device',
  table: 'devices',
  keyColumn: 'id',
  keyField: 'id',
  schema: DeviceInput,
  secret: ['credentialsHash'],
  toColumns: (d) => ({
    id: d.id,
    farm_id: d.farmId,
    kind: d.kind,
    name: d.name,
    credentials_hash: d.credentialsHash,
    calibration: JSON.stringify(d.calibration),
    commissioned_on: d.commissionedOn,
  }),
  fromRow: (r) => ({
    id: str(r.id),
    farmId: str(r.farm_id),
    kind: text(r.kind) as Kind | null,
    name: text(r.name),
    credentialsHash: text(r.credentials_hash),
    calibration: json<Record<string, number>>(r.calibration),
    commissionedOn: text(r.commissioned_on),
    createdAt: str(r.created_at),
    updatedAt: str(r.updated_at),
  }),
  async check(q, d) {
    // One broker login name space: a device id must not be a service account's username.
    const taken = (await exists(q, 'account', d.id)) ? [issue('id', refusal('exists', { entity: 'account', id: d.id }))] : []
    return [...taken, ...(await mustExist(q, 'farmId', 'farm', d.farmId))]
  },
  async cascades(q, id) {
    return { overrides: await count(q, 'SELECT COUNT(*) AS n FROM rule_overrides WHERE device_id = $1', [id]) }
  },
}

export class Devices extends EntityRepo<typeof DeviceInput, Device> {
  constructor(scope: Scope) {
    super(scope, spec)
  }

  list(filter: { farmId?: string } = {}): Promise<Device[]> {
    return filter.farmId === undefined ? this.select() : this.select('farm_id = $1', [filter.farmId])
  }
}
