import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import { DAY_MS } from './clock.js'
import { digestText } from './digest.js'
import { queueDigests, queueReminders, recordMaintenance } from './notices.js'
import { testEngine, testFarms } from './testing/farms.js'
import { healthyPump, pump, soil, waterbank } from './testing/readings.js'

const T = FIXTURE_TS // 10:00 in Ranong
const MIN = 60_000

describe('daily digest', () => {
  it('sums the day per farm: hours pumped, litres, tank level, soil moisture, faults', () => {
    const farms = testFarms()
    const engine = testEngine({ farms })
    for (let i = 0; i <= 180; i++) {
      const ts = T + i * MIN
      engine.onReading(healthyPump(ts, 800, { run_s_total: 1_000_000 + i * 60, volume_l_today: i * 30 }), ts)
    }
    engine.onReading(waterbank(T + 181 * MIN, { level_pct: 72.4 }), T + 181 * MIN)
    engine.onReading(soil(T + 182 * MIN, { vwc_pct: 19.6 }), T + 182 * MIN)
    engine.onReading(pump(T + 183 * MIN, { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0, run_s_total: 1_010_800, volume_l_today: 5_400 }), T + 183 * MIN)
    const th = digestText(farms.get('ranong-01'), farms, engine.tracks, engine.state, T + 8 * 60 * MIN, 'th')
    expect(th).toContain('สรุปวันนี้ สวนลุงสมชาย (2026-03-01)')
    expect(th).toContain('ปั๊ม ปั๊มบ่อ 1: ทำงาน 3 ชม. สูบน้ำ 5,400 ลิตร')
    expect(th).toContain('ระดับน้ำ 72%')
    expect(th).toContain('ความชื้นดิน 20%')
    expect(th).toContain('แจ้งเตือนวันนี้: 1: ปั๊มทำงานแห้ง ไม่มีน้ำเข้า')
    const en = digestText(farms.get('ranong-01'), farms, engine.tracks, engine.state, T + 8 * 60 * MIN, 'en')
    expect(en).toContain('ran 3 h, pumped 5,400 L')

    const first = queueDigests(engine, T + 8 * 60 * MIN)
    expect(first.queued.map((i) => [i.contactId, i.channel, i.purpose])).toEqual([['somchai', 'line', 'digest']])
    expect(queueDigests(engine, T + 8 * 60 * MIN + 1_000).queued).toEqual([])
    expect(digestText(farms.get('ranong-01'), farms, engine.tracks, engine.state, T + DAY_MS, 'th')).toBeUndefined()
  })
})

describe('maintenance reminders', () => {
  it('panels every 14 days and the filter every 200 pumped hours, once a week until done', () => {
    const engine = testEngine()
    engine.onReading(healthyPump(T, 800, { run_s_total: 0 }), T)
    expect(queueReminders(engine, T + 13 * DAY_MS).queued).toEqual([])
    const due = queueReminders(engine, T + 14 * DAY_MS)
    expect(due.queued.map((i) => i.sms)).toEqual([expect.stringContaining('ล้างแผงโซลาร์')])
    expect(queueReminders(engine, T + 15 * DAY_MS).queued).toEqual([])
    recordMaintenance(engine, { farm: 'ranong-01', device: 'pump-1', type: 'panel_cleaning', note: '', by: 'somchai', atMs: T + 16 * DAY_MS })
    expect(queueReminders(engine, T + 20 * DAY_MS).queued).toEqual([])

    engine.onReading(healthyPump(T + 21 * DAY_MS, 800, { run_s_total: 201 * 3600 }), T + 21 * DAY_MS)
    expect(queueReminders(engine, T + 21 * DAY_MS).queued.map((i) => i.sms)).toEqual([expect.stringContaining('ไส้กรอง')])
  })
})
