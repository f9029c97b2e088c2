/**
 * What the registry says about bad input, in Thai and English (issue 14: "a field-level error in
 * Thai or English"): every issue names its field and carries both texts, so the CLI, the API and
 * the console each pick the reader's language. Words follow the console's glossary
 * (console/public/i18n.js: สวน for a farm, ช่างเทคนิค, ผู้ฝึกสอน, ธนาคารน้ำ).
 */
import type { z } from 'zod'

export type Locale = 'th' | 'en'
export interface Text {
  th: string
  en: string
}

/** One problem with one field: `field` is its path in the input (`equipment.pvArrayWp`). */
export interface FieldIssue extends Text {
  field: string
}

const t = (th: string, en: string): Text => ({ th, en })

export const ENTITIES = {
  farm: t('สวน', 'farm'),
  person: t('บุคคล', 'person'),
  cooperative: t('สหกรณ์', 'cooperative'),
  device: t('อุปกรณ์', 'device'),
  account: t('บัญชีบริการ', 'service account'),
  membership: t('บทบาท', 'role'),
  override: t('การปรับกฎแจ้งเตือน', 'rule override'),
} as const satisfies Record<string, Text>
export type Entity = keyof typeof ENTITIES

/** What a record still has, in "still has 5 devices". */
export const COUNTED = { devices: t('อุปกรณ์', 'devices'), farms: t('สวน', 'farms') } as const satisfies Record<string, Text>

/** Field names as a reader knows them; looked up by full path, then by the last segment. */
const LABELS: Record<string, Text> = {
  id: t('รหัส', 'id'),
  cooperativeId: t('สหกรณ์', 'cooperative'),
  farmId: t('สวน', 'farm'),
  personId: t('บุคคล', 'person'),
  deviceId: t('อุปกรณ์', 'device'),
  nameTh: t('ชื่อภาษาไทย', 'Thai name'),
  nameEn: t('ชื่อภาษาอังกฤษ', 'English name'),
  name: t('ชื่อ', 'name'),
  latDeg: t('ละติจูด', 'latitude'),
  lonDeg: t('ลองจิจูด', 'longitude'),
  training: t('สวนฝึกอบรม', 'training farm'),
  timeZone: t('เขตเวลา', 'time zone'),
  escalateAfterMin: t('แจ้งต่อเมื่อไม่มีผู้รับทราบภายใน (นาที)', 'escalate after (min)'),
  quietHours: t('ช่วงงดแจ้งเตือน', 'quiet hours'),
  'quietHours.start': t('เวลาเริ่มงดแจ้งเตือน', 'quiet hours start'),
  'quietHours.end': t('เวลาสิ้นสุดงดแจ้งเตือน', 'quiet hours end'),
  'maintenance.panelCleaningDays': t('ล้างแผงโซลาร์ทุก (วัน)', 'panel cleaning every (days)'),
  'maintenance.filterRunHours': t('ล้างไส้กรองทุก (ชั่วโมงที่ปั๊มทำงาน)', 'filter cleaning every (run hours)'),
  'equipment.pvArrayWp': t('กำลังแผงโซลาร์ (วัตต์)', 'PV array (Wp)'),
  'equipment.pumpModel': t('รุ่นปั๊ม', 'pump model'),
  'equipment.pumpHeadM': t('ระยะยกน้ำของปั๊ม (เมตร)', 'pump head (m)'),
  'equipment.tankCapacityL': t('ความจุถังน้ำ (ลิตร)', 'tank capacity (L)'),
  'equipment.bankAreaM2': t('พื้นที่ธนาคารน้ำ (ตร.ม.)', 'water bank area (m²)'),
  'equipment.bankDepthCm': t('ความลึกธนาคารน้ำ (ซม.)', 'water bank depth (cm)'),
  'equipment.levelSensorCm': t('ความสูงเซนเซอร์ระดับน้ำจากก้นบ่อ (ซม.)', 'level sensor height above the floor (cm)'),
  'equipment.soilFieldCapacityPct': t('ความชื้นดินที่ความจุสนาม (%)', 'soil field capacity (%)'),
  'equipment.soilWiltingPointPct': t('ความชื้นดินที่จุดเหี่ยวถาวร (%)', 'soil wilting point (%)'),
  locale: t('ภาษา', 'language'),
  lineUserId: t('ไอดี LINE', 'LINE user id'),
  phone: t('เบอร์โทรศัพท์', 'phone'),
  role: t('บทบาท', 'role'),
  kind: t('ชนิดอุปกรณ์', 'kind'),
  credentialsHash: t('รหัสผ่าน (แฮช)', 'credentials hash'),
  calibration: t('ค่าสอบเทียบ', 'calibration'),
  commissionedOn: t('วันที่เริ่มใช้งาน', 'commissioning date'),
  createdAt: t('วันเวลาที่ลงทะเบียน', 'registered at'),
  rule: t('กฎการแจ้งเตือน', 'rule'),
  enabled: t('เปิดใช้', 'enabled'),
  severity: t('ความรุนแรง', 'severity'),
  pendingMin: t('รอก่อนแจ้ง (นาที)', 'pending (min)'),
  clearMin: t('รอก่อนปิดเรื่อง (นาที)', 'clear after (min)'),
  params: t('ค่ากำหนดของกฎ', 'rule parameters'),
  username: t('ชื่อผู้ใช้', 'username'),
  farms: t('สวนที่เข้าถึงได้', 'farms'),
}

export function label(field: string): Text {
  const last = field.split('.').at(-1) ?? field
  return LABELS[field] ?? LABELS[last] ?? t(field, field)
}

/** Messages the schemas name through `params: { msg }` (zod's own texts are too technical). */
export const CUSTOM = {
  id: t('ใช้ได้เฉพาะ a-z ตัวเลข และขีด (-) ไม่เกิน 32 ตัว ห้ามขึ้นต้นด้วยขีด', 'use a-z, digits and dashes (-), at most 32, not starting with a dash'),
  hhmm: t('ใช้รูปแบบ ชช:นน แบบ 24 ชั่วโมง เช่น 21:00', 'use HH:MM (24 h), e.g. 21:00'),
  timeZone: t('ไม่รู้จักเขตเวลานี้ (เช่น Asia/Bangkok)', 'unknown time zone (e.g. Asia/Bangkok)'),
  line: t('LINE userId คือ U ตามด้วยเลขฐานสิบหก 32 ตัว', 'a LINE userId is U and 32 hex digits'),
  phone: t('เบอร์มือถือไทย เช่น 0812345678 หรือ +66812345678', 'a Thai mobile number, e.g. 0812345678 or +66812345678'),
  hash: t('ต้องเป็นแฮชที่ระบบสร้าง (hmac-sha256 หรือ scrypt)', 'must be a hash as suanyang makes them (hmac-sha256 or scrypt)'),
  date: t('ใช้รูปแบบ ปปปป-ดด-วว (ค.ศ.) เช่น 2026-03-01', 'use YYYY-MM-DD, e.g. 2026-03-01'),
  timestamp: t('ต้องเป็นวันเวลาแบบ ISO 8601 เช่น 2026-03-01T08:00:00Z', 'must be an ISO 8601 date and time, e.g. 2026-03-01T08:00:00Z'),
  wilting: t('ต้องน้อยกว่าความชื้นดินที่ความจุสนาม', 'must be below the soil field capacity'),
  sensorHeight: t('เซนเซอร์ต้องอยู่สูงกว่าหรือเท่ากับความลึกของธนาคารน้ำ', 'the sensor must sit at or above the water bank depth'),
  oneScope: t('ระบุสวนหรือสหกรณ์อย่างใดอย่างหนึ่ง ไม่ใช่ทั้งสอง', 'give a farm or a cooperative, not both'),
  calibration: t('อุปกรณ์ชนิดนี้ไม่มีค่าสอบเทียบนี้', 'this kind of device has no such calibration'),
  noKindCalibration: t('ระบุชนิดอุปกรณ์ก่อนใส่ค่าสอบเทียบ', 'give the kind of device before its calibration'),
  fixedId: t('เปลี่ยนรหัสไม่ได้ เพิ่มรายการใหม่แทน', 'an id cannot be changed: add a new record instead'),
  ruleName: t('ชื่อกฎใช้ a-z ตัวเลข และ _', 'a rule name is a-z, digits and _'),
} as const satisfies Record<string, Text>
export type CustomMessage = keyof typeof CUSTOM

/** For a zod check: `.refine(fn, custom('hhmm'))`. */
export const custom = (msg: CustomMessage) => ({ params: { msg } })

const TYPE_NAMES: Record<string, Text> = {
  number: t('ตัวเลข', 'a number'),
  string: t('ข้อความ', 'text'),
  boolean: t('จริงหรือเท็จ (true/false)', 'true or false'),
  array: t('รายการ', 'a list'),
  object: t('ชุดข้อมูล', 'an object'),
}

type Issue = z.core.$ZodIssue

function describeIssue(issue: Issue): Text {
  switch (issue.code) {
    case 'custom': {
      const msg = (issue.params as { msg?: string } | undefined)?.msg
      if (msg && msg in CUSTOM) return CUSTOM[msg as CustomMessage]
      return t(issue.message, issue.message)
    }
    case 'invalid_type': {
      if (issue.input === undefined || issue.input === null) return t('ต้องระบุ', 'required') // null: a required field cleared
      const want = TYPE_NAMES[issue.expected] ?? t(issue.expected, issue.expected)
      return t(`ต้องเป็น${want.th}`, `must be ${want.en}`)
    }
    case 'too_small': {
      const n = String(issue.minimum)
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? t('ต้องไม่เว้นว่าง', 'must not be empty') : t(`ต้องยาวอย่างน้อย ${n} ตัวอักษร`, `at least ${n} characters`)
      return issue.inclusive ? t(`ต้องไม่น้อยกว่า ${n}`, `must be at least ${n}`) : t(`ต้องมากกว่า ${n}`, `must be greater than ${n}`)
    }
    case 'too_big': {
      const n = String(issue.maximum)
      if (issue.origin === 'string') return t(`ยาวได้ไม่เกิน ${n} ตัวอักษร`, `at most ${n} characters`)
      return issue.inclusive ? t(`ต้องไม่เกิน ${n}`, `must be at most ${n}`) : t(`ต้องน้อยกว่า ${n}`, `must be less than ${n}`)
    }
    case 'invalid_value': {
      const values = issue.values.map(String).join(', ')
      return t(`ต้องเป็นหนึ่งใน: ${values}`, `must be one of: ${values}`)
    }
    case 'unrecognized_keys':
      return t('ไม่รู้จักช่องนี้', 'unknown field')
    default:
      return t('ค่าไม่ถูกต้อง', 'invalid value')
  }
}

/** Field-level issues of a failed parse, in both languages. Unknown keys become one issue each. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String)
    const fields = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...base, k].join('.')) : [base.join('.')]
    const text = describeIssue(issue)
    return fields.map((field) => ({ field, th: text.th, en: text.en }))
  })
}

/** "ค่าไม่ถูกต้อง ไม่ได้บันทึกอะไร" and friends, with each field's label. */
export function formatIssue(issue: FieldIssue, locale: Locale): string {
  return `${label(issue.field)[locale]}: ${issue[locale]}`
}

export const issue = (field: string, text: Text): FieldIssue => ({ field, ...text })

const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '')

/** Texts of the registry's own refusals (not found, exists, still in use). */
export const REFUSALS = {
  notFound: t('ไม่มี{entity} "{id}" ในระบบ', 'no {entity} "{id}"'),
  exists: t('มี{entity} "{id}" อยู่แล้ว', '{entity} "{id}" already exists'),
  inUse: t('{entity} "{id}" ยังมี{what}อยู่ {n} รายการ: ลบหรือย้ายออกก่อน', '{entity} "{id}" still has {n} {what}: remove or move them first'),
  taken: t('{value} เป็นของ{entity} "{id}" อยู่แล้ว', '{value} already belongs to {entity} "{id}"'),
} as const satisfies Record<string, Text>

export function refusal(key: keyof typeof REFUSALS, values: { entity: Entity; id: string; what?: Text; n?: number; value?: string }): Text {
  const entity = ENTITIES[values.entity]
  const common = { id: values.id, n: String(values.n ?? ''), value: values.value ?? '' }
  return {
    th: fill(REFUSALS[key].th, { ...common, entity: entity.th, what: values.what?.th ?? '' }),
    en: fill(REFUSALS[key].en, { ...common, entity: entity.en, what: values.what?.en ?? '' }),
  }
}
