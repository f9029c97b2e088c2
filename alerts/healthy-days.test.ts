/**
 * Thirty healthy days (nights, clouds, rain, a full tank, weak sun, dawn spin-up) must raise no
 * alert at all (issue 6 "Done when"). A small seeded stand-in for the simulator, so this core
 * property is checked without sockets; the simulator's own scenarios run in test/.
 */
import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import type { PumpTelemetry } from '../contracts/payloads.js'
import type { Reading } from '../runtime/hub.js'
import { bangkokMidnight } from './clock.js'
import { testEngine } from './testing/farms.js'
import { pump, soil, waterbank } from './testing/readings.js'

function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const MIN = 60_000

/** One day of readings, in time order: pump every minute while awake, soil every 15 min, tank every 5 min. */
function day(start: number, rand: () => number, runS: { v: number }, tank: { pct: number }, vwc: { v: number }): Reading[] {
  const out: Reading[] = []
  const rainy = rand() < 0.35
  let cloud = 1
  let volume = 0
  for (let m = 0; m < 24 * 60; m++) {
    const ts = start + m * MIN
    const h = m / 60
    const clear = h > 6.3 && h < 18.5 ? Math.sin((Math.PI * (h - 6.3)) / 12.2) * 950 : 0
    if (m % 10 === 0) cloud = rainy ? 0.15 + rand() * 0.4 : rand() < 0.3 ? 0.3 + rand() * 0.4 : 0.9 + rand() * 0.1
    const irr = Math.max(0, clear * cloud)
    if (h >= 6.5 && h <= 18.5) {
      // The controller is awake in daylight: weak sun, spinning up without water at dawn, running, tank full.
      const tankFull = tank.pct >= 97
      let p: Partial<PumpTelemetry>
      if (tankFull) p = { state: 'tank_full', flow_lpm: 0, pv_w: 4, pv_a: 0.02, motor_a: 0, motor_rpm: 0 }
      else if (irr < 120) p = { state: 'weak_sun', flow_lpm: 0, pv_w: irr * 0.5, pv_a: 0.1, motor_a: 0, motor_rpm: 0 }
      else {
        const k = irr / 800
        const flow = irr < 220 ? 0 : 31.5 * k * (0.97 + rand() * 0.06)
        p = { state: 'running', flow_lpm: flow, pv_w: Math.min(700, 565 * k), pv_a: 3.1 * k, motor_a: 3.4 * k, motor_rpm: 2850 * Math.sqrt(k) }
        volume += flow
        runS.v += 60
        tank.pct = Math.min(100, tank.pct + flow / 40)
      }
      out.push(pump(ts, { ...p, irradiance_wm2: Math.round(irr), ctrl_temp_c: 35 + irr / 30, volume_l_today: volume, run_s_total: runS.v, fault: null, seq: m }))
    }
    // Drip irrigation draws the tank in the afternoon; rain tops it up.
    if (h > 14 && h < 17) tank.pct = Math.max(5, tank.pct - 0.25)
    if (m % 5 === 0) {
      const level = tank.pct + (rand() - 0.5) * 0.4
      out.push(waterbank(ts, { level_pct: Math.min(100, Math.max(0, level)), level_cm: level * 2, volume_l: level * 100, battery_v: 3.95 }))
    }
    if (m % 15 === 0) {
      vwc.v = rainy ? Math.min(35, vwc.v + 0.05) : Math.max(15, vwc.v - 0.01)
      out.push(soil(ts, { vwc_pct: vwc.v + (rand() - 0.5), raw_adc: Math.round(2600 - vwc.v * 40 + (rand() - 0.5) * 30), battery_v: 3.9 }))
    }
  }
  return out
}

describe('healthy days', () => {
  // About two seconds alone; generous on a shared 2-core machine.
  it('thirty days of nights, clouds, rain, weak sun and a full tank raise no alert', { timeout: 30_000 }, () => {
    const rand = mulberry32(20_260_301)
    const engine = testEngine()
    const start = bangkokMidnight(FIXTURE_TS)
    const fired: string[] = []
    const runS = { v: 1_000_000 }
    const tank = { pct: 60 }
    const vwc = { v: 22 }
    for (let d = 0; d < 30; d++) {
      let nextSweep = start + d * 86_400_000
      for (const r of day(start + d * 86_400_000, rand, runS, tank, vwc)) {
        while (nextSweep <= r.receivedMs) {
          for (const e of engine.sweep(nextSweep).events) if (e.type === 'fire') fired.push(`${e.alert.rule}@${e.alert.device}`)
          nextSweep += MIN
        }
        for (const e of engine.onReading(r, r.receivedMs).events) if (e.type === 'fire') fired.push(`${e.alert.rule}@${e.alert.device}`)
      }
    }
    expect(fired).toEqual([])
    // The learned references exist, so the efficiency and PV rules were really judging.
    const track = engine.tracks['ranong-01/pump-1']
    expect(track?.days.filter((x) => x.goodWh >= 200).length).toBeGreaterThan(15)
    expect(track?.powerRefN).toBeGreaterThan(1000)
  })
})
