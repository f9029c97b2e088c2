/**
 * Test fixtures into the registry: a farms file in the old contacts.json shape (as
 * alerts/testing/farms.ts builds them) written as farms, people, roles, device names and rule
 * overrides, the way the tests used to write contacts.json. Real installs come over with
 * `suanyang import` (cli/import.ts), which the composition root runs on a first start.
 */
import type { Registry } from '../../registry/index.js'
import { FarmsFile } from '../contacts.js'

const ACTOR = { who: 'test-fixture', how: 'system' } as const

async function must(r: Promise<{ ok: boolean }>, what: string): Promise<void> {
  const done = await r
  if (!done.ok) throw new Error(`fixture ${what} refused: ${JSON.stringify(done)}`)
}

export async function seedRegistry(registry: Registry, json: unknown): Promise<void> {
  const file = FarmsFile.parse(json)
  const people = new Set<string>()
  const person = async (c: FarmsFile['shared'][number] | FarmsFile['farms'][string]['contacts'][number]) => {
    if (people.has(c.id)) return
    people.add(c.id)
    await must(registry.people.add({ id: c.id, name: c.name, locale: c.locale, lineUserId: c.line ?? null, phone: c.phone ?? null, quietHours: c.quietHours ?? null }, ACTOR), `person ${c.id}`)
  }
  for (const [id, f] of Object.entries(file.farms)) {
    await must(registry.farms.add({ id, nameTh: f.name, training: f.training, escalateAfterMin: f.escalateAfterMin, quietHours: f.quietHours, maintenance: f.maintenance }, ACTOR), `farm ${id}`)
    for (const c of f.contacts) {
      await person(c)
      await must(registry.memberships.add({ personId: c.id, role: c.role, farmId: id, cooperativeId: null }, ACTOR), `role of ${c.id}`)
    }
    for (const [device, d] of Object.entries(f.devices)) {
      await must(registry.devices.add({ id: device, farmId: id, kind: null, name: d.name ?? null, credentialsHash: null, commissionedOn: null }, ACTOR), `device ${device}`)
      for (const [rule, o] of Object.entries(d.rules ?? {})) await must(registry.overrides.set({ farmId: id, deviceId: device, rule, ...override(o) }, ACTOR), `override ${rule}`)
    }
    for (const [rule, o] of Object.entries(f.rules ?? {})) await must(registry.overrides.set({ farmId: id, deviceId: null, rule, ...override(o) }, ACTOR), `override ${rule}`)
  }
  for (const c of file.shared) {
    await person(c)
    const farms = c.farms === '*' ? [null] : c.farms
    for (const farmId of farms) await must(registry.memberships.add({ personId: c.id, role: c.role, farmId, cooperativeId: null }, ACTOR), `role of ${c.id}`)
  }
}

const override = (o: { enabled?: boolean | undefined; severity?: string | undefined; pendingMin?: number | undefined; clearMin?: number | undefined; params?: Record<string, number | null> | undefined } | undefined) => ({
  enabled: o?.enabled ?? null,
  severity: o?.severity ?? null,
  pendingMin: o?.pendingMin ?? null,
  clearMin: o?.clearMin ?? null,
  params: o?.params ?? {},
})
