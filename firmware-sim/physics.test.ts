import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Climate } from './climate.js'
import { initialController, stepController } from './controller.js'
import { demoFarms } from './demo.js'
import { HEALTHY, PUMP_48V, WELL_B, dutyAt } from './pump.js'
import { PV_600, arrayWp, pvPoint } from './pv.js'
import { Rng } from './rng.js'
import { CAPACITIVE_V12, readProbe, vwcFromRaw } from './probe.js'
import { runModel, telemetryOf } from './run.js'
import { SANDY_LOAM, stepSoil } from './soil.js'
import { RANONG, clearSkyDailyKwh, clearSkyGhi, cosZenith, localHour } from './sun.js'

const DAY_MS = 86_400_000
/** Local midnight in Ranong (UTC+7) of a date. */
const ranongMidnight = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) - 7 * 3_600_000

describe('sun and clear sky (domain.md §2)', () => {
  it('gives 6.5 to 7.8 kWh/m2 of clear-sky irradiation on every day of March in Ranong', () => {
    for (let d = 1; d <= 31; d++) {
      const kwh = clearSkyDailyKwh(RANONG, ranongMidnight(2026, 3, d) + DAY_MS / 2)
      expect(kwh).toBeGreaterThanOrEqual(6.5)
      expect(kwh).toBeLessThanOrEqual(7.8)
    }
  })

  it('puts solar noon near 12:25 local time and the sun down at night', () => {
    const day = ranongMidnight(2026, 3, 15)
    let best = { t: 0, cz: -1 }
    for (let t = day; t < day + DAY_MS; t += 60_000) {
      const cz = cosZenith(RANONG, t)
      if (cz > best.cz) best = { t, cz }
    }
    const noonH = localHour(RANONG, best.t)
    expect(noonH).toBeGreaterThan(12.2)
    expect(noonH).toBeLessThan(12.7)
    expect(clearSkyGhi(cosZenith(RANONG, day + 2 * 3_600_000))).toBe(0)
    expect(clearSkyGhi(cosZenith(RANONG, day + 21 * 3_600_000))).toBe(0)
    expect(clearSkyGhi(best.cz)).toBeGreaterThan(950)
    expect(clearSkyGhi(best.cz)).toBeLessThan(1060)
  })
})

/** One pump on a day of clear sky scaled by `k`, no tank limit: litres and the mean head. */
function pumpDay(dayStart: number, k: number): { volume_m3: number; meanTdh_m: number } {
  let st = initialController(0, 24)
  let volume_m3 = 0
  let tdhSum = 0
  let running = 0
  for (let t = dayStart; t < dayStart + DAY_MS; t += 5_000) {
    const ghi = clearSkyGhi(cosZenith(RANONG, t)) * k
    const h = localHour(RANONG, t)
    const air = 23 + 10 * Math.max(0, Math.sin((Math.PI * (h - 6)) / 17))
    const pv = pvPoint(PV_600, { poa_wm2: ghi, air_c: air, soiling: 0.01, broken_strings: 0 })
    const inputs = { pv, poa_wm2: ghi, air_c: air, tankFull: false, hyd: HEALTHY, sunHeat: 1, loadHeat: 1, tempSensorBad: false, day: 0 }
    st = stepController(PUMP_48V, WELL_B, st, inputs, 5, t).state
    volume_m3 += (st.flow_m3h * 5) / 3600
    if (st.flow_m3h > 0) {
      tdhSum += dutyAt(PUMP_48V, WELL_B, st.s, HEALTHY).tdh_m
      running++
    }
  }
  return { volume_m3, meanTdh_m: tdhSum / running }
}

describe('solar pump (domain.md §1.2)', { timeout: 30_000 }, () => {
  it('lifts 10 to 15 m3 with 600 Wp at about 30 m head on a clear dry-season day', () => {
    expect(arrayWp(PV_600)).toBe(600)
    // A clear dry-season day in Ranong: daily K_T 0.60 (domain.md §2.3), 0.82 of the Haurwitz sky.
    for (const month of [1, 2, 3, 4]) {
      const { volume_m3, meanTdh_m } = pumpDay(ranongMidnight(2026, month, 15), 0.82)
      expect(volume_m3).toBeGreaterThanOrEqual(10)
      expect(volume_m3).toBeLessThanOrEqual(15)
      expect(meanTdh_m).toBeGreaterThan(26)
      expect(meanTdh_m).toBeLessThan(32)
    }
    // Even under the ideal Haurwitz sky it stays in the same range, a little above.
    expect(pumpDay(ranongMidnight(2026, 3, 15), 1).volume_m3).toBeLessThan(18)
  })

  it('gives no flow and no PV power at night, on every published reading of a week', () => {
    const farms = demoFarms({ farms: 1, seed: 'night', training: [] })
    const from = ranongMidnight(2026, 3, 1)
    const { published } = runModel({ farms, seed: 'night', fromMs: from, toMs: from + 3 * DAY_MS })
    const pump = telemetryOf(published, 'ranong-01-pump')
    const night = pump.filter((r) => {
      const h = localHour(RANONG, r.ts)
      return h < 6 || h >= 19
    })
    expect(night.length).toBeGreaterThan(100)
    for (const r of night) {
      expect(r.flow_lpm).toBe(0)
      expect(r.pv_w).toBe(0)
      expect(r.state).toBe('idle')
    }
    expect(pump.some((r) => (r.flow_lpm as number) > 20)).toBe(true)
  })
})

describe('soil water (domain.md §4.4)', { timeout: 30_000 }, () => {
  it('falls 1 to 2 percentage points a day without rain or irrigation in the dry season', () => {
    const climate = new Climate('dry', 'z', RANONG, 'f')
    let theta = SANDY_LOAM.theta_fc
    const start = ranongMidnight(2026, 3, 2)
    for (let day = 0; day < 3; day++) {
      const before = theta
      for (let t = start + day * DAY_MS; t < start + (day + 1) * DAY_MS; t += 60_000) {
        const w = climate.at(t)
        theta = stepSoil(SANDY_LOAM, 0.3, theta, { eto_mm_h: w.eto_mm_h, rain_mm_h: 0, irrigation_mm: 0, kc: 1 }, 60)
      }
      const drop_pp = (before - theta) * 100
      expect(drop_pp).toBeGreaterThanOrEqual(1)
      expect(drop_pp).toBeLessThanOrEqual(2)
    }
  })

  it('never leaves the physical range, whatever the rain, drip and ET', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.record({ rain: fc.double({ min: 0, max: 200, noNaN: true }), drip: fc.double({ min: 0, max: 50, noNaN: true }), eto: fc.double({ min: 0, max: 1.5, noNaN: true }) }), { minLength: 1, maxLength: 50 }),
        (start, steps) => {
          let theta = SANDY_LOAM.theta_min + start * (SANDY_LOAM.theta_sat - SANDY_LOAM.theta_min)
          for (const s of steps) {
            theta = stepSoil(SANDY_LOAM, 0.3, theta, { eto_mm_h: s.eto, rain_mm_h: s.rain, irrigation_mm: s.drip, kc: 1.05 }, 900)
            expect(theta).toBeGreaterThanOrEqual(SANDY_LOAM.theta_min)
            expect(theta).toBeLessThanOrEqual(SANDY_LOAM.theta_sat)
          }
        },
      ),
    )
  })

  it('reads through the probe within 0..4095 counts and 0..100 % VWC', () => {
    const rng = new Rng(7)
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.double({ min: 10, max: 60, noNaN: true }),
        fc.double({ min: -0.05, max: 0.05, noNaN: true }),
        fc.double({ min: 0.9, max: 1.1, noNaN: true }),
        (theta, soil_c, offset_v, gain) => {
          const raw = readProbe(CAPACITIVE_V12, { offset_v, gain }, theta, soil_c, 100, rng)
          expect(Number.isInteger(raw)).toBe(true)
          expect(raw).toBeGreaterThanOrEqual(0)
          expect(raw).toBeLessThanOrEqual(4095)
          const vwc = vwcFromRaw(CAPACITIVE_V12, raw)
          expect(vwc).toBeGreaterThanOrEqual(0)
          expect(vwc).toBeLessThanOrEqual(100)
        },
      ),
    )
  })

  it('stays near field capacity in the monsoon, within 0..100 %, in the published soil readings', () => {
    const farms = demoFarms({ farms: 1, seed: 'wet', training: [] }).map((f) => ({ ...f, irrigate_h: undefined }))
    const from = ranongMidnight(2026, 8, 1)
    const { published } = runModel({ farms, seed: 'wet', fromMs: from, toMs: from + 4 * DAY_MS })
    for (const p of farms[0]?.plots ?? []) {
      const vwc = telemetryOf(published, p.device).map((r) => r.vwc_pct as number)
      expect(vwc.length).toBe(4 * 96)
      // August: monsoon rain keeps the root zone near or above field capacity.
      expect(Math.max(...vwc)).toBeGreaterThan(20)
      for (const v of vwc) expect(v).toBeLessThanOrEqual(100)
    }
  })
})

describe('determinism', { timeout: 30_000 }, () => {
  const farms = demoFarms({ farms: 2, seed: 'same', training: [] })
  const from = ranongMidnight(2026, 3, 10) + 6 * 3_600_000
  const run = (seed: string) => JSON.stringify(runModel({ farms, seed, fromMs: from, toMs: from + 8 * 3_600_000 }).published)

  it('gives the same readings for the same seed, and different ones for another', () => {
    const a = run('same')
    expect(a.length).toBeGreaterThan(10_000)
    expect(run('same')).toBe(a)
    expect(run('other')).not.toBe(a)
  })
})
