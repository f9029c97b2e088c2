import { describe, expect, it } from 'vitest'
import { addPoint, emptySeries } from './public/series.js'

const MIN = 60_000
const T0 = 1_772_935_200_000

describe('chart series (last hour, one point per spacing)', () => {
  it('keeps points in time order, spaced, and drops what is older than the window', () => {
    const s = emptySeries(['pv_w'])
    expect(addPoint(s, T0, { pv_w: 1 })).toBe(true)
    expect(addPoint(s, T0 + 5_000, { pv_w: 2 })).toBe(false) // within 10 s of the last
    expect(addPoint(s, T0 + 10_000, { pv_w: 3 })).toBe(true)
    expect(s).toEqual({ t: [T0, T0 + 10_000], v: { pv_w: [1, 3] } })
    expect(addPoint(s, T0 + 61 * MIN, { pv_w: 4 })).toBe(true)
    expect(s.t).toEqual([T0 + 61 * MIN]) // both older points left the hour
    expect(s.v.pv_w).toEqual([4])
  })

  it('puts a replayed (late) reading where its time says, and refuses one older than the window', () => {
    const s = emptySeries(['level_pct'])
    addPoint(s, T0, { level_pct: 10 })
    addPoint(s, T0 + 2 * MIN, { level_pct: 30 })
    expect(addPoint(s, T0 + MIN, { level_pct: 20 })).toBe(true)
    expect(s.v.level_pct).toEqual([10, 20, 30])
    expect(addPoint(s, T0 + 2 * MIN - 61 * MIN, { level_pct: 1 })).toBe(false)
  })

  it('records a missing or non-numeric field as a gap', () => {
    const s = emptySeries(['pv_w', 'flow_lpm'])
    addPoint(s, T0, { pv_w: 5, flow_lpm: 'x' })
    expect(s.v).toEqual({ pv_w: [5], flow_lpm: [null] })
  })
})
