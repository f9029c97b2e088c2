/**
 * The workshop kit (issue 16): every session file under firmware-sim/workshops/ is a valid
 * workshop and a scenario the simulator plays, on devices the demo fleet has, with faults those
 * devices can have; every fault has its lesson, in Thai and in English, with the four parts a
 * trainer needs.
 */
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FAULT_SCENARIOS, SCENARIO_KINDS } from '../contracts/sim-control.js'
import { demoFarms, devicesOf } from './demo.js'
import { WORKSHOPS_DIR, lessonPath, loadWorkshop, parseWorkshop, workshopEnv } from './workshop.js'

const sessions = (await readdir(WORKSHOPS_DIR)).filter((f) => f.endsWith('.json')).sort()
const THAI = /[\u0E00-\u0E7F]/
const PARTS = {
  th: ['### นักเรียนจะเห็นอะไร', '### ตรวจอะไรก่อนที่ปั๊มจริง', '### แก้อย่างไร', '### ความปลอดภัย'],
  en: ['### What the students will see', '### What to check first on a real pump', '### How to fix it', '### Safety'],
}

/** The bullet points under `heading`, up to the next heading. */
function bullets(section: string, heading: string): string[] {
  const start = section.indexOf(heading)
  if (start === -1) return []
  const rest = section.slice(start + heading.length)
  const end = rest.search(/\n#{2,3} /)
  return (end === -1 ? rest : rest.slice(0, end)).split('\n').filter((l) => l.startsWith('- ') && l.trim().length > 4)
}

describe('workshop sessions', () => {
  it('there are at least three, each a half day or more of a training farm', () => {
    expect(sessions.length).toBeGreaterThanOrEqual(3)
  })

  it.each(sessions)('%s is a valid workshop on devices the demo fleet has', async (file) => {
    const loaded = await loadWorkshop(join(WORKSHOPS_DIR, file))
    if (!loaded.ok) throw new Error(loaded.reason)
    const w = loaded.workshop
    expect(THAI.test(w.title.th) && THAI.test(w.summary.th)).toBe(true)
    const training = w.training as string[]
    const fleet = new Map(devicesOf(demoFarms({ farms: 10, seed: 'ranong', training })).map((d) => [d.device, d]))
    for (const e of w.events) {
      const device = fleet.get(e.device)
      expect(device, `${e.device} is a demo device`).toBeDefined()
      expect(SCENARIO_KINDS[e.fault], `${e.fault} on a ${device?.kind}`).toContain(device?.kind)
      expect(training).toContain(device?.farm)
    }
    // Every injected fault is cleared again before the session ends: the farm ends healthy.
    const open = new Map<string, number>()
    for (const e of w.events) open.set(`${e.device} ${e.fault}`, (open.get(`${e.device} ${e.fault}`) ?? 0) + (e.action === 'inject' ? 1 : -1))
    expect([...open].filter(([, n]) => n !== 0)).toEqual([])
    const env = workshopEnv(join('firmware-sim/workshops', file), w, '2026-03-02')
    expect(Number.isFinite(Date.parse(env.SIM_START ?? ''))).toBe(true)
    expect(env.SIM_TRAINING_FARMS).toBe(training.join(','))
  })

  it('refuses a session whose lessons, farms or length do not fit its events', () => {
    const base = {
      title: { th: 'ทดสอบ', en: 'test' },
      summary: { th: 'ทดสอบ', en: 'test' },
      start: '08:00',
      speed: 60,
      minutes: 2,
      lessons: ['dry_run'],
      training: ['ranong-01'],
      events: [{ at: '+20m', device: 'ranong-01-pump', fault: 'dry_run' }],
    }
    expect(parseWorkshop(base)).toMatchObject({ ok: true })
    expect(parseWorkshop({ ...base, lessons: ['pipe_leak'] })).toMatchObject({ ok: false, reason: expect.stringMatching(/no lesson listed for dry_run/) })
    expect(parseWorkshop({ ...base, training: ['ranong-02'] })).toMatchObject({ ok: false, reason: expect.stringMatching(/not on a training farm/) })
    expect(parseWorkshop({ ...base, events: [{ ...base.events[0], at: '+3h' }] })).toMatchObject({ ok: false, reason: expect.stringMatching(/after the session's 2/) })
    expect(parseWorkshop({ ...base, start: '8am' })).toMatchObject({ ok: false })
    expect(parseWorkshop({ ...base, events: [{ ...base.events[0], at: 'soon' }] })).toMatchObject({ ok: false, reason: expect.stringMatching(/events.0.at/) })
  })
})

describe('lessons', () => {
  it.each(FAULT_SCENARIOS)('%s has a lesson in Thai and English with what to see, check, fix and keep safe', async (fault) => {
    const text = await readFile(lessonPath(fault), 'utf8')
    const th = text.slice(text.indexOf('## ภาษาไทย'), text.indexOf('## English'))
    const en = text.slice(text.indexOf('## English'))
    expect(text.indexOf('## ภาษาไทย')).toBeGreaterThan(0)
    expect(text.indexOf('## English')).toBeGreaterThan(text.indexOf('## ภาษาไทย'))
    for (const heading of PARTS.th) {
      const items = bullets(th, heading)
      expect(items.length, `${fault}: ${heading}`).toBeGreaterThan(0)
      for (const item of items) expect(THAI.test(item), item).toBe(true)
    }
    for (const heading of PARTS.en) {
      const items = bullets(en, heading)
      expect(items.length, `${fault}: ${heading}`).toBeGreaterThan(0)
      for (const item of items) expect(THAI.test(item), item).toBe(false)
    }
    expect(text).toContain(`\`${fault}\``)
  })
})
