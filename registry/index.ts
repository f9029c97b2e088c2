/**
 * The registry (issue 14): one source of truth for cooperatives, farms, devices, people and
 * their roles, rule overrides and broker logins, with an audit log of every change. SQLite
 * under DATA_DIR by default, PostgreSQL when DATABASE_URL is set; the same schema, migrations
 * and repositories on both. Migrations run at open.
 *
 *   const registry = await openRegistry({ dataDir, databaseUrl })
 *   const added = await registry.farms.add({ id: 'ranong-01', nameTh: 'สวนลุงสมชาย' }, { who: 'somsak', how: 'cli' })
 *   if (!added.ok) for (const i of added.issues) console.log(i.field, i.th)
 */
import { join } from 'node:path'
import { AuditLog } from './audit.js'
import type { Database, Dialect } from './db.js'
import { inTransaction, type Scope } from './entity.js'
import { type Migration, migrate } from './migrate.js'
import { MIGRATIONS } from './migrations/index.js'
import { ServiceAccounts } from './repos/accounts.js'
import { Cooperatives } from './repos/cooperatives.js'
import { Devices } from './repos/devices.js'
import { Farms } from './repos/farms.js'
import { Memberships } from './repos/memberships.js'
import { type CheckOverrides, RuleOverrides } from './repos/overrides.js'
import { People } from './repos/people.js'
import { Sessions } from './repos/sessions.js'
import { WorkOrders } from './repos/work-orders.js'
import type { Result } from './result.js'
import { openSqlite } from './sqlite.js'

export type { Actor, AuditEntry } from './audit.js'
export type { FieldIssue, Locale } from './messages.js'
export type { Failure, Reason, Result } from './result.js'
export type * from './schemas.js'
export type { MaintenanceSchedule, Part, Visit, WorkOrder, WorkOrderKind, WorkOrderStatus } from './repos/work-orders.js'

export interface Repositories {
  cooperatives: Cooperatives
  farms: Farms
  people: People
  memberships: Memberships
  devices: Devices
  overrides: RuleOverrides
  accounts: ServiceAccounts
  /** Sign-in per person: passwords, one-time links, sessions and their broker accounts. */
  sessions: Sessions
  /** Work orders, their visits and maintenance schedules (issue 17). */
  workOrders: WorkOrders
  audit: AuditLog
}

export interface Registry extends Repositories {
  readonly dialect: Dialect
  /** Where it lives: the SQLite file, or the PostgreSQL URL without its password. */
  readonly location: string
  readonly schemaVersion: number
  /** Several changes as one: all are kept, or (on a refusal or an error) none. */
  atomically<T>(work: (r: Repositories) => Promise<Result<T>>): Promise<Result<T>>
  close(): Promise<void>
}

export interface RegistryOptions {
  dataDir: string
  /** postgres://...; unset: SQLite in `dataDir/registry.sqlite`. */
  databaseUrl?: string | undefined
  now?: () => number
  /** The alert rules' check of overrides (alerts/rules.ts checkOverrides), from the composition root. */
  checkOverrides?: CheckOverrides
  /** Tests only: migrate to an older version. */
  migrations?: readonly Migration[]
  /** An idle PostgreSQL connection failed (logged by the caller; the next query reconnects). */
  onIdleError?: (err: Error) => void
}

export const sqlitePath = (dataDir: string): string => join(dataDir, 'registry.sqlite')

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}

export async function openDatabase(opts: Pick<RegistryOptions, 'dataDir' | 'databaseUrl' | 'onIdleError'>): Promise<Database> {
  if (opts.databaseUrl === undefined) return openSqlite({ path: sqlitePath(opts.dataDir) })
  const { openPostgres } = await import('./postgres.js')
  return openPostgres({ url: opts.databaseUrl, ...(opts.onIdleError && { onIdleError: opts.onIdleError }) })
}

function repositories(scope: Scope, checkOverrides: CheckOverrides | undefined): Repositories {
  const q = () => scope.tx ?? scope.db
  return {
    cooperatives: new Cooperatives(scope),
    farms: new Farms(scope),
    people: new People(scope),
    memberships: new Memberships(scope),
    devices: new Devices(scope),
    overrides: new RuleOverrides(scope, checkOverrides),
    accounts: new ServiceAccounts(scope),
    sessions: new Sessions(scope),
    workOrders: new WorkOrders(scope),
    audit: new AuditLog(q, scope.now),
  }
}

export async function openRegistry(opts: RegistryOptions): Promise<Registry> {
  const now = opts.now ?? Date.now
  const db = await openDatabase(opts)
  let schemaVersion: number
  try {
    schemaVersion = (await migrate(db, opts.migrations ?? MIGRATIONS, now)).version
  } catch (err) {
    await db.close()
    throw err
  }
  const repos = repositories({ db, tx: undefined, now }, opts.checkOverrides)
  return {
    ...repos,
    dialect: db.dialect,
    location: opts.databaseUrl === undefined ? sqlitePath(opts.dataDir) : redactUrl(opts.databaseUrl),
    schemaVersion,
    atomically: (work) => inTransaction(db, (tx) => work(repositories({ db, tx, now }, opts.checkOverrides))),
    close: () => db.close(),
  }
}
