/**
 * The long-term rules of issue 15 (water balance, bearing wear, PV soiling): each fires on its own
 * fault after healthy days taught the pump's reference, stays quiet on the healthy days, and does
 * not take another fault for its own (a clog lowers the flow too, without more current or a leak).
 */
import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import type { Reading } from '../runtime/hub.js'
import { bangkokMidnight } from './clock.js'
import { testEngine } from './testing/farms.js'
import { pump, waterbank } from './testing/readings.js'

const MIN = 60_000
const DAY = 86_400_000
const START = bangkokMidnight(FIXTURE_TS)
/** Litres a minute the household draws from the bank in the daytime. */
const DRAW = 8

type Fault = 'healthy' | 'leak' | 'wear' | 'soiling' | 'clog'

/**
 * One day: the pump every minute 08:00-16:00 in clear sun (a slow arc, so the operating points
 * repeat), the 20 m3 bank every 5 minutes rising by what reaches it less the draw; the fault from
 * day `faultDay` on.
 */
function days(n: number, faultDay: number, fault: Fault): Reading[] {
  const out: Reading[] = []
  let volume = 6000
  let runS = 1_000_000
  for (let d = 0; d < n; d++) {
    const f = d >= faultDay ? fault : 'healthy'
    let pumped = 0
    let arrived = 0
    for (let m = 8 * 60; m <= 16 * 60; m++) {
      const ts = START + d * DAY + m * MIN
      const irr = Math.round(550 + 400 * Math.sin((Math.PI * (m - 8 * 60)) / (8 * 60)) + ((m * 7) % 5))
      const k = irr / 800
      const pv = 565 * k * (f === 'soiling' ? 0.7 : 1)
      const kp = pv / 565
      const flow = 31.5 * kp * (f === 'wear' ? 0.93 : f === 'clog' ? 0.62 : f === 'leak' ? 1.1 : 1)
      const amps = 3.4 * kp * (f === 'wear' ? 1.03 : 1)
      runS += 60
      pumped += flow
      arrived += flow * (f === 'leak' ? 0.5 : 1) - DRAW
      out.push(pump(ts, { state: 'running', irradiance_wm2: irr, pv_w: pv, pv_a: 3.1 * kp, motor_a: amps, motor_rpm: 2850 * Math.sqrt(kp), flow_lpm: flow, volume_l_today: pumped, run_s_total: runS, fault: null, ctrl_temp_c: 45, seq: m }))
      if (m % 5 === 0) {
        volume = Math.max(500, volume + arrived)
        arrived = 0
        out.push(waterbank(ts, { volume_l: Math.round(volume), level_pct: volume / 200, level_cm: volume / 100, battery_v: 3.95 }))
      }
    }
    volume = 6000 // drawn overnight
  }
  return out
}

function fires(readings: Reading[]): Array<{ rule: string; day: number }> {
  const engine = testEngine({ farms: undefined })
  const out: Array<{ rule: string; day: number }> = []
  for (const r of readings) {
    for (const e of engine.onReading(r, r.receivedMs).events) if (e.type === 'fire') out.push({ rule: e.alert.rule, day: Math.floor((r.receivedMs - START) / DAY) })
  }
  return out
}

describe('long-term rules against the healthy reference', () => {
  it('healthy days raise nothing', () => {
    expect(fires(days(9, 99, 'healthy'))).toEqual([])
  })

  it('a pipe leak raises water_balance on its first day, and nothing else', () => {
    const f = fires(days(8, 5, 'leak'))
    expect(f.map((x) => x.rule)).toEqual(['water_balance'])
    expect(f[0]?.day).toBe(5)
  })

  it('bearing wear (more current, less flow at the same power) raises bearing_wear, not efficiency_drop', () => {
    const f = fires(days(9, 5, 'wear'))
    expect(f.map((x) => x.rule)).toEqual(['bearing_wear'])
    expect(f[0]?.day).toBeLessThanOrEqual(6)
  })

  it('dirty panels raise one alert, within its first day', () => {
    const f = fires(days(8, 5, 'soiling'))
    expect(f).toHaveLength(1)
    expect(['pv_soiling', 'pv_low']).toContain(f[0]?.rule)
    expect(f[0]?.day).toBe(5)
  })

  it('a clog is efficiency_drop alone: neither a leak nor wear', () => {
    expect(fires(days(8, 5, 'clog')).map((x) => x.rule)).toEqual(['efficiency_drop'])
  })
})
