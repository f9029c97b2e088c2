/**
 * What the registry holds, as zod schemas of the full input of each record (defaults filled).
 * An edit is the stored record with the changes laid over it, parsed again by the same schema,
 * so a rule between two fields (wilting point below field capacity) holds after every edit.
 * Unknown fields are refused (`strictObject`): a typo never vanishes silently.
 */
import { z } from 'zod'
import { SEVERITIES } from '../contracts/alert-storage.js'
import { ID_PATTERN, KINDS } from '../contracts/names.js'
import { custom } from './messages.js'

export const Id = z.string().refine((s) => ID_PATTERN.test(s), custom('id'))
const Name = (max: number) => z.string().trim().min(1).max(max)
const orNull = <T extends z.ZodType>(schema: T) => schema.nullable().default(null)

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/
export const Hhmm = z.string().refine((s) => HHMM.test(s), custom('hhmm'))
export const QuietHours = z.strictObject({ start: Hhmm, end: Hhmm })
export type QuietHours = z.output<typeof QuietHours>

const validTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

export const LOCALES = ['th', 'en'] as const
/** Roles a person holds over a farm, a cooperative or every farm. */
export const PERSON_ROLES = ['farmer', 'trainee', 'technician', 'trainer', 'lead', 'admin'] as const
export type PersonRole = (typeof PERSON_ROLES)[number]
/** Broker logins that are not devices (accounts.json `users`). */
export const ACCOUNT_ROLES = ['service', 'viewer', 'operator'] as const
export const AUDIT_HOW = ['cli', 'api', 'console', 'line', 'system'] as const
export type AuditHow = (typeof AUDIT_HOW)[number]

export const CooperativeInput = z.strictObject({
  id: Id,
  nameTh: orNull(Name(80)),
  nameEn: orNull(Name(80)),
})

const positive = orNull(z.number().positive())
const percent = orNull(z.number().positive().max(100))

export const Equipment = z
  .strictObject({
    pvArrayWp: positive,
    pumpModel: orNull(Name(64)),
    pumpHeadM: positive,
    tankCapacityL: positive,
    bankAreaM2: positive,
    bankDepthCm: positive,
    /** Height of the ultrasonic level sensor above the bank's floor: level = this - distance. */
    levelSensorCm: positive,
    soilFieldCapacityPct: percent,
    soilWiltingPointPct: percent,
  })
  .superRefine((e, ctx) => {
    if (e.soilFieldCapacityPct !== null && e.soilWiltingPointPct !== null && e.soilWiltingPointPct >= e.soilFieldCapacityPct) {
      ctx.addIssue({ code: 'custom', path: ['soilWiltingPointPct'], message: 'wilting', params: { msg: 'wilting' } })
    }
    if (e.bankDepthCm !== null && e.levelSensorCm !== null && e.levelSensorCm < e.bankDepthCm) {
      ctx.addIssue({ code: 'custom', path: ['levelSensorCm'], message: 'sensorHeight', params: { msg: 'sensorHeight' } })
    }
  })
export type Equipment = z.output<typeof Equipment>

export const FarmInput = z.strictObject({
  id: Id,
  cooperativeId: orNull(Id),
  nameTh: orNull(Name(80)),
  nameEn: orNull(Name(80)),
  latDeg: orNull(z.number().min(-90).max(90)),
  lonDeg: orNull(z.number().min(-180).max(180)),
  /** A workshop farm: its alerts reach only its trainers, never a real farmer. */
  training: z.boolean().default(false),
  timeZone: z.string().refine(validTimeZone, custom('timeZone')).default('Asia/Bangkok'),
  escalateAfterMin: z.number().positive().default(15),
  quietHours: QuietHours.prefault({ start: '21:00', end: '06:00' }),
  maintenance: z.strictObject({ panelCleaningDays: z.number().positive().default(14), filterRunHours: z.number().positive().default(200) }).prefault({}),
  equipment: Equipment.prefault({}),
})

export const PersonInput = z.strictObject({
  id: Id,
  name: Name(64),
  locale: z.enum(LOCALES).default('th'),
  /** LINE userId (U + 32 hex); may also be linked later with a one-time code. */
  lineUserId: orNull(z.string().refine((s) => /^U[0-9a-f]{32}$/.test(s), custom('line'))),
  /** Thai mobile: 0812345678, 66812345678 or +66812345678 (as alerts/contacts.ts). */
  phone: orNull(z.string().refine((s) => /^(\+?66|0)\d{8,9}$/.test(s), custom('phone'))),
  quietHours: orNull(QuietHours),
})

/** A role over one farm, one cooperative's farms, or (neither given) every farm. */
export const MembershipInput = z
  .strictObject({ personId: Id, role: z.enum(PERSON_ROLES), farmId: orNull(Id), cooperativeId: orNull(Id) })
  .superRefine((m, ctx) => {
    if (m.farmId !== null && m.cooperativeId !== null) ctx.addIssue({ code: 'custom', path: ['cooperativeId'], message: 'oneScope', params: { msg: 'oneScope' } })
  })

const adc = z.number().int().min(0).max(4095)
/** Per kind; the fields a device of that kind may carry. */
export const CALIBRATION = {
  soil: z.strictObject({ rawDryAdc: adc.optional(), rawWetAdc: adc.optional(), offsetPct: z.number().min(-50).max(50).optional() }),
  waterbank: z.strictObject({ offsetCm: z.number().min(-500).max(500).optional(), sensorCm: z.number().positive().optional() }),
  pump: z.strictObject({ flowPulsesPerL: z.number().positive().optional(), pressureOffsetBar: z.number().min(-5).max(5).optional() }),
} as const

/** A calendar date, YYYY-MM-DD, that exists (no 2026-02-30). */
function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false
  const day = new Date(`${s}T00:00:00Z`)
  return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(s)
}

/** The two formats of runtime/secrets.ts: the keyed hash of a generated secret, or an old scrypt one. */
const SECRET_HASH = /^(?:hmac-sha256\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+|scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+)$/
export const CredentialsHash = z.string().refine((s) => SECRET_HASH.test(s), custom('hash'))

export const DeviceInput = z
  .strictObject({
    id: Id,
    farmId: Id,
    /** null: known only by the name contacts.json gave it, not provisioned yet. */
    kind: orNull(z.enum(KINDS)),
    name: orNull(Name(64)),
    credentialsHash: orNull(CredentialsHash),
    calibration: z.record(z.string(), z.number()).default({}),
    commissionedOn: orNull(z.string().refine(isIsoDate, custom('date'))),
  })
  .superRefine((d, ctx) => {
    if (Object.keys(d.calibration).length === 0) return
    if (d.kind === null) {
      ctx.addIssue({ code: 'custom', path: ['calibration'], message: 'noKindCalibration', params: { msg: 'noKindCalibration' } })
      return
    }
    const checked = CALIBRATION[d.kind].safeParse(d.calibration)
    for (const i of checked.error?.issues ?? []) ctx.addIssue({ ...i, path: ['calibration', ...i.path] } as z.core.$ZodRawIssue)
  })

export const RuleOverrideInput = z.strictObject({
  farmId: Id,
  deviceId: orNull(Id),
  rule: z.string().refine((s) => /^[a-z][a-z0-9_]{0,63}$/.test(s), custom('ruleName')),
  enabled: orNull(z.boolean()),
  severity: orNull(z.enum(SEVERITIES)),
  pendingMin: orNull(z.number().min(0)),
  clearMin: orNull(z.number().min(0)),
  params: z.record(z.string(), z.number().nullable()).default({}),
})

export const ServiceAccountInput = z.strictObject({
  username: Id,
  role: z.enum(ACCOUNT_ROLES),
  farms: z.union([z.literal('*'), z.array(Id)]).default('*'),
  credentialsHash: CredentialsHash,
})

interface Stamps {
  createdAt: string
  updatedAt: string
}
export type Cooperative = z.output<typeof CooperativeInput> & Stamps
export type Farm = z.output<typeof FarmInput> & Stamps
export type Person = z.output<typeof PersonInput> & Stamps
export type Membership = z.output<typeof MembershipInput> & { createdAt: string }
export type Device = z.output<typeof DeviceInput> & Stamps
export type RuleOverride = z.output<typeof RuleOverrideInput> & { updatedAt: string }
export type ServiceAccount = z.output<typeof ServiceAccountInput> & Stamps
