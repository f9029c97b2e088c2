/**
 * Grouping and debounce of offline alerts (issue 15): a drop shorter than the grace tells nobody
 * (no card, no "back to normal"); a farm whose devices all go silent together is one incident; a
 * link flapping for hours is one card for the episode (and one "back to normal" once it settles).
 */
import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import type { Reading } from '../runtime/hub.js'
import type { AlertEngine } from './engine.js'
import type { OutboxItem } from './outbox.js'
import { testEngine } from './testing/farms.js'
import { healthyPump, soil, status, waterbank } from './testing/readings.js'

const T = FIXTURE_TS // 10:00 in Ranong
const MIN = 60_000

/**
 * Feeds readings in time order with a sweep every 10 s up to `untilMs`, delivering each message
 * when it is due (as the dispatcher would); returns the offline messages that really left.
 */
function sent(engine: AlertEngine, readings: Reading[], untilMs: number): OutboxItem[] {
  const sorted = [...readings].sort((a, b) => a.receivedMs - b.receivedMs)
  const out = new Map<string, OutboxItem>()
  let i = 0
  for (let t = sorted[0]?.receivedMs ?? T; t <= untilMs; t += 10_000) {
    while (sorted[i] && (sorted[i] as Reading).receivedMs <= t) {
      const r = sorted[i++] as Reading
      engine.onReading(r, r.receivedMs)
    }
    engine.sweep(t)
    for (const item of Object.values(engine.state.outbox)) {
      if (item.status !== 'queued' || item.notBeforeMs > t) continue
      Object.assign(item, { status: 'sent', attempts: 1, doneMs: t })
      out.set(item.key, item)
    }
  }
  const offline = new Set([...Object.values(engine.state.alerts), ...engine.state.recent].filter((a) => a.rule === 'offline').map((a) => a.id))
  return [...out.values()].filter((item) => offline.has(item.alertId ?? ''))
}

/** A pump reporting every minute from `from` to `to`, except inside the given down windows (minutes after T). */
function pumpWithDrops(from: number, to: number, downs: ReadonlyArray<[number, number]>): Reading[] {
  const out: Reading[] = []
  const down = (t: number) => downs.some(([a, b]) => t >= T + a * MIN && t < T + b * MIN)
  for (let t = from; t < to; t += MIN) if (!down(t)) out.push(healthyPump(t))
  for (const [a, b] of downs) out.push(status('pump', 'pump-1', T + a * MIN + 1000, false), status('pump', 'pump-1', T + b * MIN, true))
  return out
}

describe('offline: grace, farm grouping, flapping', () => {
  it('a 2-minute 4G drop gives nobody a card or a resolved message; a long one does, within 5 minutes', () => {
    const short = testEngine()
    const readings = [status('pump', 'pump-1', T - 11 * MIN, true), ...pumpWithDrops(T - 10 * MIN, T + 20 * MIN, [[5, 7]])]
    expect(sent(short, readings, T + 20 * MIN)).toEqual([])
    const long = testEngine()
    const items = sent(long, [status('pump', 'pump-1', T - 11 * MIN, true), ...pumpWithDrops(T - 10 * MIN, T + 30 * MIN, [[5, 15]])], T + 30 * MIN)
    expect(items.map((i) => i.purpose).sort()).toEqual(['fire', 'resolve'])
    const card = items.find((i) => i.purpose === 'fire') as OutboxItem
    expect(card.doneMs as number).toBeLessThanOrEqual(T + 5 * MIN + 5 * MIN)
  })

  it('a farm whose devices all go silent together is one incident: one card per person, one resolved', () => {
    const engine = testEngine()
    const before = [
      status('pump', 'pump-1', T - 31 * MIN, true),
      status('waterbank', 'tank-1', T - 31 * MIN, true),
      ...Array.from({ length: 30 }, (_, i) => healthyPump(T - 30 * MIN + i * MIN)),
      ...Array.from({ length: 6 }, (_, i) => waterbank(T - 30 * MIN + i * 5 * MIN, { level_cm: 120 + i / 10 })),
      ...Array.from({ length: 2 }, (_, i) => soil(T - 30 * MIN + i * 15 * MIN, { raw_adc: 1800 + i })),
    ]
    // The tower goes down at T: every device's Last Will, then silence for an hour, then all back.
    const down = [status('pump', 'pump-1', T + 1000, false), status('waterbank', 'tank-1', T + 2000, false)]
    const back = [
      ...Array.from({ length: 41 }, (_, i) => healthyPump(T + 60 * MIN + i * MIN)),
      ...Array.from({ length: 9 }, (_, i) => waterbank(T + 60 * MIN + i * 5 * MIN, { level_cm: 121 + i / 10 })),
      soil(T + 61 * MIN, { raw_adc: 1810 }),
      soil(T + 76 * MIN, { raw_adc: 1812 }),
      soil(T + 91 * MIN, { raw_adc: 1814 }),
    ]
    const items = sent(engine, [...before, ...down, ...back], T + 100 * MIN)
    const cards = items.filter((i) => i.purpose !== 'resolve')
    expect(new Set(cards.map((i) => i.alertId)).size).toBe(1)
    expect(cards.length).toBe(new Set(cards.map((i) => i.contactId)).size)
    expect(cards.length).toBeGreaterThan(0)
    expect(items.filter((i) => i.purpose === 'resolve').length).toBe(cards.length)
    // All three devices' alerts exist (the history shows them), grouped under the first.
    const offline = [...Object.values(engine.state.alerts), ...engine.state.recent].filter((a) => a.rule === 'offline')
    expect(offline.length).toBe(3)
  })

  it('three hours of a flapping link are one card, and one "back to normal" after it settles', () => {
    const engine = testEngine()
    // Down 2 of every 5 minutes, with a 6-minute drop every half hour (from minute 20), for three hours.
    const downs: Array<[number, number]> = []
    for (let m = 0; m < 180; m += 5) downs.push(m % 30 === 20 ? [m, m + 6] : [m, m + 2])
    const merged = downs.filter(([a], i) => i === 0 || a >= (downs[i - 1] as [number, number])[1])
    const items = sent(engine, [status('pump', 'pump-1', T - 11 * MIN, true), ...pumpWithDrops(T - 10 * MIN, T + 270 * MIN, merged)], T + 270 * MIN)
    // Per person on the ladder (technician, then trainer): one flapping note, one "back to normal".
    const cards = items.filter((i) => i.purpose !== 'resolve')
    expect(cards.map((i) => i.purpose)).toEqual(['flapping', 'flapping'])
    expect(new Set(cards.map((i) => i.contactId)).size).toBe(2)
    expect(items.filter((i) => i.purpose === 'resolve').map((i) => i.contactId).sort()).toEqual(cards.map((i) => i.contactId).sort())
    expect(new Set(items.map((i) => i.alertId)).size).toBe(1)
  })
})
