import { describe, expect, it } from 'vitest'
import { COUNTED, CUSTOM, ENTITIES, fieldIssues, formatIssue, label, refusal } from './messages.js'
import { FarmInput, PersonInput } from './schemas.js'

const THAI = /[\u0E00-\u0E7F]/

describe('registry messages', () => {
  it('says every custom message and entity in Thai and English', () => {
    for (const text of [...Object.values(CUSTOM), ...Object.values(ENTITIES)]) {
      expect(text.th).toMatch(THAI)
      expect(text.en).not.toMatch(THAI)
    }
  })

  it('labels every farm and person field in both languages', () => {
    const farm = FarmInput.parse({ id: 'f' })
    const paths = [
      ...Object.entries(farm).flatMap(([k, v]) => (typeof v === 'object' && v !== null ? Object.keys(v).map((n) => `${k}.${n}`) : [k])),
      ...Object.keys(PersonInput.shape),
    ]
    for (const path of paths) {
      expect(label(path).th, path).toMatch(THAI)
    }
  })

  it('turns zod issues into field issues with readable texts', () => {
    const parsed = FarmInput.safeParse({ id: 'x', escalateAfterMin: 0, maintenance: { filterRunHours: 'x' }, nameEn: 'n'.repeat(81) }, { reportInput: true })
    expect(parsed.success).toBe(false)
    const issues = parsed.success ? [] : fieldIssues(parsed.error)
    expect(issues).toEqual([
      { field: 'nameEn', th: 'ยาวได้ไม่เกิน 80 ตัวอักษร', en: 'at most 80 characters' },
      { field: 'escalateAfterMin', th: 'ต้องมากกว่า 0', en: 'must be greater than 0' },
      { field: 'maintenance.filterRunHours', th: 'ต้องเป็นตัวเลข', en: 'must be a number' },
    ])
    expect(formatIssue(issues[2] ?? { field: '', th: '', en: '' }, 'th')).toBe('ล้างไส้กรองทุก (ชั่วโมงที่ปั๊มทำงาน): ต้องเป็นตัวเลข')
    expect(refusal('inUse', { entity: 'farm', id: 'ranong-01', n: 5, what: COUNTED.devices })).toEqual({
      th: 'สวน "ranong-01" ยังมีอุปกรณ์อยู่ 5 รายการ: ลบหรือย้ายออกก่อน',
      en: 'farm "ranong-01" still has 5 devices: remove or move them first',
    })
  })
})
