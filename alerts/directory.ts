/**
 * Who serves each farm, read from the registry (issue 14): farms, people, their roles, device
 * names and rule overrides, held in memory as the `Farms` routing has always been fed from. The
 * snapshot is rebuilt when the registry's change counter (`audit.latestId()`) moves, polled every
 * REFRESH_MS, so a person removed by `suanyang person remove` in another process stops receiving
 * within a second. Nothing on the reading path queries the database.
 */
import type { Logger } from '../runtime/logger.js'
import type { Device, Farm, Membership, Person, Registry, RuleOverride } from '../registry/index.js'
import { RegistryWatch, WATCH_INTERVAL_MS } from '../registry/watch.js'
import { type Contact, type ContactRole, Farms, FarmsFile, ROLES } from './contacts.js'
import { checkOverrides, type RuleOverride as Override, type RuleOverrides } from './rules.js'

export const REFRESH_MS = WATCH_INTERVAL_MS

export interface DirectoryRows {
  farms: readonly Farm[]
  people: readonly Person[]
  memberships: readonly Membership[]
  devices: readonly Device[]
  overrides: readonly RuleOverride[]
}

const LADDER_ORDER: readonly ContactRole[] = ['farmer', 'technician', 'trainer', 'lead', 'trainee']

function contactOf(p: Person, roles: ContactRole[]): Contact {
  const sorted = LADDER_ORDER.filter((r) => roles.includes(r))
  return {
    id: p.id,
    name: p.name,
    role: sorted[0] ?? 'farmer',
    roles: sorted,
    locale: p.locale,
    ...(p.lineUserId !== null && { line: p.lineUserId }),
    ...(p.phone !== null && { phone: p.phone }),
    ...(p.quietHours !== null && { quietHours: p.quietHours }),
  }
}

function overrideOf(o: RuleOverride): Override {
  return {
    ...(o.enabled !== null && { enabled: o.enabled }),
    ...(o.severity !== null && { severity: o.severity }),
    ...(o.pendingMin !== null && { pendingMin: o.pendingMin }),
    ...(o.clearMin !== null && { clearMin: o.clearMin }),
    ...(Object.keys(o.params).length > 0 && { params: o.params }),
  }
}

const isContactRole = (r: string): r is ContactRole => (ROLES as readonly string[]).includes(r)

/**
 * The registry's rows as the farms routing reads (pure). A membership reaches a farm directly,
 * through the farm's cooperative, or (neither set) every farm; a farm the registry does not know
 * still reaches the every-farm people. `admin` is not an alert role: it reaches nobody's phone.
 */
export function farmsFromRows(rows: DirectoryRows): { farms: Farms; skipped: string[] } {
  // An override these rules do not know (written by an older or newer version) is skipped with
  // its reason: one bad row must not stop every other change, a person removed among them.
  const skipped: string[] = []
  const overrides = rows.overrides.filter((o) => {
    const problems = checkOverrides({ [o.rule]: overrideOf(o) })
    for (const p of problems) skipped.push(`override ${o.farmId}${o.deviceId === null ? '' : `/${o.deviceId}`} ${o.rule}: ${p}`)
    return problems.length === 0
  })
  const people = new Map(rows.people.map((p) => [p.id, p]))
  const rolesOver = (farm: Farm | undefined): Map<string, ContactRole[]> => {
    const out = new Map<string, ContactRole[]>()
    for (const m of rows.memberships) {
      if (!isContactRole(m.role)) continue
      const reaches =
        (m.farmId === null && m.cooperativeId === null) ||
        (farm !== undefined && (m.farmId === farm.id || (m.cooperativeId !== null && m.cooperativeId === farm.cooperativeId)))
      if (!reaches) continue
      const held = out.get(m.personId) ?? []
      if (!held.includes(m.role)) out.set(m.personId, [...held, m.role])
    }
    return out
  }
  const contactsOf = (roles: Map<string, ContactRole[]>): Contact[] =>
    [...roles].flatMap(([id, r]) => {
      const p = people.get(id)
      return p ? [contactOf(p, r)] : []
    })
  const farms: Record<string, unknown> = {}
  for (const f of rows.farms) {
    const devices: Record<string, { name?: string; rules?: RuleOverrides }> = {}
    for (const d of rows.devices.filter((d) => d.farmId === f.id)) devices[d.id] = d.name === null ? {} : { name: d.name }
    const farmRules: RuleOverrides = {}
    for (const o of overrides.filter((o) => o.farmId === f.id)) {
      if (o.deviceId === null) farmRules[o.rule as keyof RuleOverrides] = overrideOf(o)
      else {
        const d = (devices[o.deviceId] ??= {})
        d.rules = { ...d.rules, [o.rule]: overrideOf(o) }
      }
    }
    farms[f.id] = {
      name: f.nameTh ?? f.nameEn ?? f.id,
      training: f.training,
      escalateAfterMin: f.escalateAfterMin,
      quietHours: f.quietHours,
      maintenance: f.maintenance,
      contacts: [],
      devices,
      rules: farmRules,
    }
  }
  // Parsed once for the defaults and the shape; contacts are laid in after (they carry `roles`).
  const file = FarmsFile.parse({ version: 1, farms })
  for (const f of rows.farms) {
    const settings = file.farms[f.id]
    if (settings) settings.contacts = contactsOf(rolesOver(f))
  }
  file.shared = contactsOf(rolesOver(undefined)).map((c) => ({ ...c, farms: '*' as const }))
  return { farms: new Farms(file, true), skipped }
}

export async function readDirectory(registry: Registry): Promise<DirectoryRows> {
  const [farms, people, memberships, devices, overrides] = await Promise.all([
    registry.farms.list(),
    registry.people.list(),
    registry.memberships.list(),
    registry.devices.list(),
    registry.overrides.list(),
  ])
  return { farms, people, memberships, devices, overrides }
}

/** The snapshot and its refresher: `current()` is what routing and the last-step guard read. */
export class RegistryDirectory {
  private farms: Farms = Farms.empty()
  private readonly watch: RegistryWatch<DirectoryRows>
  private loaded = false

  constructor(registry: Registry, log: Logger, onChange: (farms: Farms, changeId: number) => void = () => {}) {
    this.watch = new RegistryWatch(registry, {
      read: readDirectory,
      onChange: (rows, changeId) => {
        const { farms, skipped } = farmsFromRows(rows)
        if (skipped.length > 0) log.error({ skipped }, 'registry rows the alert rules refuse: skipped')
        if (this.loaded) log.info({ change: changeId }, 'alert contacts reloaded from the registry')
        this.loaded = true
        this.farms = farms
        onChange(farms, changeId)
      },
      onError: (err) => log.error({ err }, 'registry read failed, keeping the previous snapshot'),
      intervalMs: REFRESH_MS,
    })
  }

  current(): Farms {
    return this.farms
  }

  start(): Promise<void> {
    return this.watch.start()
  }

  /** Reads again now if the registry changed (after this process wrote to it). */
  refresh(): Promise<void> {
    return this.watch.refresh()
  }

  close(): void {
    this.watch.close()
  }
}
