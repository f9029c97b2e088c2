/**
 * What `suanyang import` writes into the registry, decided from today's files alone (pure):
 * accounts.json (devices with their scrypt hashes, service and viewer logins), contacts.json
 * (farms, people and their roles, training flags, quiet hours, device names, rule overrides)
 * and the LINE links made with one-time codes (DATA_DIR/alerts/state.json `links`, which win
 * over a contact's `line` as they do in alerts/notify.ts).
 *
 * Each record is a patch of the fields the files state: a record the registry already has is
 * updated in those fields only, so a second run with the same files changes nothing. A person
 * listed under several farms must read the same everywhere; a device must sit on the farm
 * accounts.json gives it. Any disagreement refuses the whole import.
 */
import type { FarmsFile } from '../alerts/contacts.js'
import type { RuleOverride as Override } from '../alerts/rules.js'
import type { AccountsFile } from '../runtime/accounts.js'
import { stableJson } from '../registry/rows.js'

export interface ImportSources {
  accounts: AccountsFile | undefined
  contacts: FarmsFile | undefined
  lineLinks: Readonly<Record<string, string>>
}

type Patch = Record<string, unknown>
export interface Planned {
  key: string
  patch: Patch
  /** When the old file says the record was made. */
  createdAt?: string
}

export interface ImportPlan {
  farms: Planned[]
  people: Planned[]
  memberships: Array<{ personId: string; role: string; farmId: string | null }>
  devices: Planned[]
  overrides: Patch[]
  accounts: Planned[]
}

export type PlanResult = { ok: true; plan: ImportPlan } | { ok: false; reasons: string[] }

const THAI = /[\u0E00-\u0E7F]/

type Contact = FarmsFile['shared'][number] | FarmsFile['farms'][string]['contacts'][number]

function personPatch(c: Contact): Patch {
  const patch: Patch = { name: c.name, locale: c.locale }
  if (c.line !== undefined) patch.lineUserId = c.line
  if (c.phone !== undefined) patch.phone = c.phone
  if (c.quietHours !== undefined) patch.quietHours = c.quietHours
  return patch
}

const overridePatch = (farmId: string, deviceId: string | null, rule: string, o: Override | undefined): Patch => ({
  farmId,
  deviceId,
  rule,
  enabled: o?.enabled ?? null,
  severity: o?.severity ?? null,
  pendingMin: o?.pendingMin ?? null,
  clearMin: o?.clearMin ?? null,
  params: o?.params ?? {},
})

export function planImport(src: ImportSources): PlanResult {
  const reasons: string[] = []
  const farms = new Map<string, Patch>()
  const people = new Map<string, { patch: Patch; where: string }>()
  const memberships: ImportPlan['memberships'] = []
  const devices = new Map<string, { patch: Patch; createdAt?: string; where: string }>()
  const overrides: Patch[] = []
  const needFarm = (id: string) => farms.has(id) || farms.set(id, {})

  for (const [device, d] of Object.entries(src.accounts?.devices ?? {})) {
    needFarm(d.farm)
    devices.set(device, { patch: { farmId: d.farm, kind: d.kind, credentialsHash: d.hash }, createdAt: d.createdAt, where: 'accounts.json' })
  }

  const addPerson = (c: Contact, where: string) => {
    const patch = personPatch(c)
    const known = people.get(c.id)
    if (known === undefined) return void people.set(c.id, { patch, where })
    for (const [field, value] of Object.entries(patch)) {
      const was = known.patch[field]
      if (was !== undefined && stableJson(was) !== stableJson(value)) {
        reasons.push(`person "${c.id}": ${field} is ${stableJson(was)} in ${known.where} but ${stableJson(value)} in ${where}`)
      } else known.patch[field] = value
    }
  }

  for (const [farmId, f] of Object.entries(src.contacts?.farms ?? {})) {
    farms.set(farmId, {
      [THAI.test(f.name) ? 'nameTh' : 'nameEn']: f.name,
      training: f.training,
      escalateAfterMin: f.escalateAfterMin,
      quietHours: f.quietHours,
      maintenance: f.maintenance,
    })
    f.contacts.forEach((c, i) => {
      addPerson(c, `contacts.json farms.${farmId}.contacts[${i}]`)
      memberships.push({ personId: c.id, role: c.role, farmId })
    })
    for (const [rule, o] of Object.entries(f.rules ?? {})) overrides.push(overridePatch(farmId, null, rule, o))
    for (const [deviceId, d] of Object.entries(f.devices)) {
      const known = devices.get(deviceId)
      if (known && known.patch.farmId !== farmId) {
        reasons.push(`device "${deviceId}" is on farm "${String(known.patch.farmId)}" in accounts.json but listed under farm "${farmId}" in contacts.json`)
        continue
      }
      const patch = known?.patch ?? { farmId }
      if (d.name !== undefined) patch.name = d.name
      if (!known) devices.set(deviceId, { patch, where: 'contacts.json' })
      for (const [rule, o] of Object.entries(d.rules ?? {})) overrides.push(overridePatch(farmId, deviceId, rule, o))
    }
  }

  for (const [i, s] of (src.contacts?.shared ?? []).entries()) {
    addPerson(s, `contacts.json shared[${i}]`)
    if (s.farms === '*') memberships.push({ personId: s.id, role: s.role, farmId: null })
    for (const farmId of s.farms === '*' ? [] : s.farms) {
      needFarm(farmId)
      memberships.push({ personId: s.id, role: s.role, farmId })
    }
  }

  for (const [id, line] of Object.entries(src.lineLinks)) {
    const person = people.get(id)
    if (person) person.patch.lineUserId = line // linked with a code: what alerts uses today
  }

  if (reasons.length > 0) return { ok: false, reasons }
  const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return {
    ok: true,
    plan: {
      farms: sorted(farms).map(([key, patch]) => ({ key, patch })),
      people: sorted(people).map(([key, p]) => ({ key, patch: p.patch })),
      memberships,
      devices: sorted(devices).map(([key, d]) => ({ key, patch: d.patch, ...(d.createdAt !== undefined && { createdAt: d.createdAt }) })),
      overrides,
      accounts: Object.entries(src.accounts?.users ?? {})
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, u]) => ({ key, patch: { role: u.role, farms: u.farms, credentialsHash: u.hash }, createdAt: u.createdAt })),
    },
  }
}
