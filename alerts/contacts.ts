/**
 * The shape routing reads (`Farms`: who hears about each farm, in which language and when, plus
 * per-farm and per-device rule overrides), built from the registry by directory.ts. It is also
 * the old farms file's format (ALERTS_CONTACTS_FILE, under DATA_DIR), which only `suanyang
 * import` and a first start read now (`loadFarms`): validated with zod, a typo refused with the
 * path of the bad entry. Shape documented in alerts/README.md.
 */
import { readFile, stat } from 'node:fs/promises'
import { z } from 'zod'
import { ID_PATTERN } from '../contracts/names.js'
import { parseHhmm } from './clock.js'
import { checkOverrides, type RuleOverrides } from './rules.js'
import { SEVERITIES } from './types.js'

/** `trainee`: told about a training farm's alerts during a workshop, never about a real farm's (routing.ts). */
export const ROLES = ['farmer', 'technician', 'trainer', 'lead', 'trainee'] as const
export type ContactRole = (typeof ROLES)[number]
export type Locale = 'th' | 'en'

const Hhmm = z.string().refine((s) => parseHhmm(s) !== undefined, 'expected HH:MM (24 h)')
const QuietHours = z.object({ start: Hhmm, end: Hhmm })

const Contact = z.object({
  id: z.string().regex(ID_PATTERN),
  name: z.string().min(1).max(64),
  role: z.enum(ROLES),
  locale: z.enum(['th', 'en']).default('th'),
  /** LINE userId (U + 32 hex); may also be linked later with a one-time code. */
  line: z.string().regex(/^U[0-9a-f]{32}$/).optional(),
  /** Thai mobile: 0812345678, 66812345678 or +66812345678. */
  phone: z.string().regex(/^(\+?66|0)\d{8,9}$/).optional(),
  quietHours: QuietHours.optional(),
})
/**
 * A person as routing sees them. From the registry a person may hold several roles over one
 * farm (their own, their cooperative's, every farm's): `roles` lists them all, `role` is the
 * first in ladder order. A contact from the old file has its one `role`.
 */
export type Contact = z.output<typeof Contact> & { roles?: ContactRole[] }
export const rolesOf = (c: Contact): readonly ContactRole[] => c.roles ?? [c.role]

const RuleOverride = z.object({
  enabled: z.boolean().optional(),
  severity: z.enum(SEVERITIES).optional(),
  pendingMin: z.number().min(0).optional(),
  clearMin: z.number().min(0).optional(),
  params: z.record(z.string(), z.number().nullable()).optional(),
})
const Overrides = z
  .record(z.string(), RuleOverride)
  .superRefine((o, ctx) => {
    for (const message of checkOverrides(o)) ctx.addIssue({ code: 'custom', message })
  })
  .transform((o) => o as RuleOverrides)

const Device = z.object({ name: z.string().min(1).max(64).optional(), rules: Overrides.optional() })

const Maintenance = z.object({
  panelCleaningDays: z.number().positive().default(14),
  filterRunHours: z.number().positive().default(200),
})

const Farm = z.object({
  name: z.string().min(1).max(80),
  /** A workshop farm: its alerts reach only its trainers, never a real farmer. */
  training: z.boolean().default(false),
  escalateAfterMin: z.number().positive().default(15),
  quietHours: QuietHours.default({ start: '21:00', end: '06:00' }),
  contacts: z.array(Contact).default([]),
  devices: z.record(z.string().regex(ID_PATTERN), Device).default({}),
  rules: Overrides.optional(),
  maintenance: Maintenance.default({ panelCleaningDays: 14, filterRunHours: 200 }),
})
export type FarmSettings = z.output<typeof Farm> & { id: string }

const SharedContact = Contact.extend({ farms: z.union([z.literal('*'), z.array(z.string().regex(ID_PATTERN))]) })

export const FarmsFile = z.object({
  version: z.literal(1),
  farms: z.record(z.string().regex(ID_PATTERN), Farm).default({}),
  /** People serving several farms (a cooperative's technician, a trainer): `farms` lists them, or '*'. */
  shared: z.array(SharedContact).default([]),
})
export type FarmsFile = z.output<typeof FarmsFile>

/** Looks up a farm's settings; a farm missing from the file gets defaults and the shared contacts. */
export class Farms {
  constructor(readonly file: FarmsFile, readonly fromFile: boolean) {}

  static empty(): Farms {
    return new Farms(FarmsFile.parse({ version: 1 }), false)
  }

  get(farm: string): FarmSettings {
    const own = this.file.farms[farm] ?? Farm.parse({ name: farm })
    const shared = this.file.shared
      .filter((c) => c.farms === '*' || c.farms.includes(farm))
      .filter((c) => !own.contacts.some((o) => o.id === c.id))
      .map(({ farms: _farms, ...c }) => c)
    return { ...own, id: farm, contacts: [...own.contacts, ...shared] }
  }

  deviceName(farm: string, device: string): string {
    return this.file.farms[farm]?.devices[device]?.name ?? device
  }

  /** Every contact in the file with the farms it serves (a LINE link or an acknowledgement names a person). */
  everyContact(): Array<{ farms: '*' | string[]; contact: Contact }> {
    const own = Object.entries(this.file.farms).flatMap(([farm, f]) => f.contacts.map((contact) => ({ farms: [farm], contact })))
    const shared = this.file.shared.map(({ farms, ...contact }) => ({ farms, contact }))
    return [...own, ...shared]
  }
}

export type LoadResult = { ok: true; farms: Farms; mtimeMs: number } | { ok: false; reason: string }

/** Reads and validates the farms file. A missing file is not an error: alerts go to the console. */
export async function loadFarms(path: string): Promise<LoadResult> {
  const mtimeMs = await stat(path).then((s) => s.mtimeMs, () => 0)
  if (mtimeMs === 0) return { ok: true, farms: Farms.empty(), mtimeMs }
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    return { ok: false, reason: `${path}: ${(err as Error).message}` }
  }
  const parsed = FarmsFile.safeParse(json)
  if (!parsed.success) {
    return { ok: false, reason: `${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` }
  }
  return { ok: true, farms: new Farms(parsed.data, true), mtimeMs }
}
