/** Broker logins that are not devices: services (ingest, alerts, sim, console) and viewers/operators. */
import { EntityRepo, type EntitySpec, type Scope } from '../entity.js'
import { issue, refusal } from '../messages.js'
import { json, str } from '../rows.js'
import { type ServiceAccount, ServiceAccountInput } from '../schemas.js'
import { exists } from './common.js'

const spec: EntitySpec<typeof ServiceAccountInput, ServiceAccount> = {
  entity: 'account',
  table: 'service_accounts',
  keyColumn: 'username',
  keyField: 'username',
  schema: ServiceAccountInput,
  secret: ['credentialsHash'],
  toColumns: (a) => ({ username: a.username, role: a.role, farms: JSON.stringify(a.farms), credentials_hash: a.credentialsHash }),
  fromRow: (r) => ({
    username: str(r.username),
    role: str(r.role) as ServiceAccount['role'],
    farms: json<ServiceAccount['farms']>(r.farms),
    credentialsHash: str(r.credentials_hash),
    createdAt: str(r.created_at),
    updatedAt: str(r.updated_at),
  }),
  async check(q, a) {
    return (await exists(q, 'device', a.username)) ? [issue('username', refusal('exists', { entity: 'device', id: a.username }))] : []
  },
}

export class ServiceAccounts extends EntityRepo<typeof ServiceAccountInput, ServiceAccount> {
  constructor(scope: Scope) {
    super(scope, spec)
  }

  list(): Promise<ServiceAccount[]> {
    return this.select()
  }
}
