/** Each failure signature raises its rule within its budget; its look-alike healthy state does not. */
import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import { FAULT_CODES } from '../contracts/names.js'
import type { Reading } from '../runtime/hub.js'
import type { AlertEngine } from './engine.js'
import { testEngine, testFarms } from './testing/farms.js'
import { healthyPump, pump, soil, status, waterbank } from './testing/readings.js'
import { FAULT_RULE } from './types.js'

const T = FIXTURE_TS // 10:00 in Ranong
const MIN = 60_000
const HOUR = 60 * MIN

/** Feeds readings at their own time, with a sweep before each; returns "rule@minutes since start" of each fire. */
function run(engine: AlertEngine, readings: Reading[], start = T): string[] {
  const fired: string[] = []
  for (const r of readings) {
    for (const e of [...engine.sweep(r.receivedMs).events, ...engine.onReading(r, r.receivedMs).events]) {
      if (e.type === 'fire') fired.push(`${e.alert.rule}@${Math.round((r.receivedMs - start) / MIN)}`)
    }
  }
  return fired
}

const every = <R = Reading>(from: number, count: number, stepMs: number, make: (ts: number, i: number) => R): R[] =>
  Array.from({ length: count }, (_, i) => make(from + i * stepMs, i))

/** For scenarios that stop a device's readings on purpose. */
const noOffline = () => testFarms({ rules: { offline: { enabled: false } } })

/** Healthy pumping yesterday and this morning, so learned references exist. */
const warmUp = (engine: AlertEngine) =>
  run(engine, [...every(T - 24 * HOUR, 60, MIN, (ts) => healthyPump(ts)), ...every(T - HOUR, 60, MIN, (ts) => healthyPump(ts))])

describe('pump signatures', () => {
  it('every controller fault code raises its own rule', () => {
    for (const code of FAULT_CODES) {
      const engine = testEngine()
      const fired = run(engine, every(T, 12, MIN, (ts) => pump(ts, { state: 'fault', fault: code, flow_lpm: 0 })))
      expect(fired[0]?.split('@')[0], code).toBe(FAULT_RULE[code])
    }
  })

  it('dry run without a fault code (speed up, power down, no flow) fires within 2 minutes', () => {
    const engine = testEngine()
    warmUp(engine)
    const dry = every(T, 5, MIN, (ts) => healthyPump(ts, 800, { flow_lpm: 0, pv_w: 150, motor_a: 1 }))
    expect(run(engine, dry)).toEqual(['dry_run@1'])
  })

  it('no flow while running in good sun fires after 5 minutes; not at dawn spin-up', () => {
    const engine = testEngine()
    warmUp(engine)
    expect(run(engine, every(T, 30, MIN, (ts) => healthyPump(ts, 200, { flow_lpm: 0 })))).toEqual([])
    expect(run(engine, every(T + 30 * MIN, 8, MIN, (ts) => healthyPump(ts, 800, { flow_lpm: 0 })), T + 30 * MIN)).toEqual(['no_flow@5'])
  })

  it('idle in good sun with room in the tank fires after 20 minutes; weak sun, tank full and off do not', () => {
    const idle = (state: 'idle' | 'weak_sun' | 'tank_full' | 'off') => (ts: number) =>
      pump(ts, { state, flow_lpm: 0, pv_w: 3, motor_a: 0, motor_rpm: 0, irradiance_wm2: 850 })
    for (const state of ['weak_sun', 'tank_full', 'off'] as const) {
      expect(run(testEngine(), every(T, 40, MIN, idle(state))), state).toEqual([])
    }
    expect(run(testEngine(), every(T, 25, MIN, idle('idle')))).toEqual(['not_running@20'])
    const fullTank = testEngine({ farms: noOffline() })
    run(fullTank, [waterbank(T - MIN, { level_pct: 99 })])
    expect(run(fullTank, every(T, 40, MIN, idle('idle')))).toEqual([])
  })

  it('PV far below what irradiance and array size predict fires after 30 minutes', () => {
    const farms = testFarms({ devices: { 'pump-1': { rules: { pv_low: { params: { arrayWp: 1000 } } } } } })
    const engine = testEngine({ farms })
    run(engine, every(T - HOUR, 60, MIN, (ts, i) => healthyPump(ts, 700, { pv_w: 540 + (i % 3) })))
    const soiled = every(T, 45, MIN, (ts, i) => healthyPump(ts, 700, { pv_w: 250 + (i % 3), flow_lpm: 20 + (i % 2) }))
    // Pending starts once the median of the last 10 samples is low (5 minutes), then holds 30 minutes.
    expect(run(engine, soiled)).toEqual(['pv_low@35'])
  })

  it('efficiency below the pump\'s commissioning reference fires on the first clogged day, once', () => {
    const engine = testEngine({ farms: noOffline() })
    const fired: string[] = []
    for (let d = 0; d < 14; d++) {
      const clogged = d >= 10
      // Three hours of good sun a day; a clogged intake gives 40 % less water for the same power.
      const day = every(T + d * 24 * HOUR, 180, MIN, (ts) => healthyPump(ts, 800, clogged ? { flow_lpm: 19 } : {}))
      fired.push(...run(engine, day).map((f) => `${f.split('@')[0]}#${d}`))
    }
    // references.test.ts has the timing (within the first hour) and the rest of the lifecycle.
    expect(fired).toEqual(['efficiency_drop#10'])
  })
})

describe('offline', () => {
  it('a silent pump goes offline within 3 intervals in daytime, never at night, and not because of a restart', () => {
    const engine = testEngine()
    run(engine, every(T - 10 * MIN, 10, MIN, (ts) => healthyPump(ts)))
    const last = T - MIN
    // Sweeps every 10 s, as the service runs them: offline within 3 intervals (180 s) of the last reading.
    const firedAfterS = every(last, 30, 10_000, (t) => t).filter((t) => engine.sweep(t).events.some((e) => e.type === 'fire'))
    expect(firedAfterS.map((t) => (t - last) / 1000)).toEqual([160])
    const night = testEngine()
    const dusk = T + 8 * HOUR // 18:00
    run(night, every(dusk - 10 * MIN, 10, MIN, (ts) => healthyPump(ts, 150)))
    expect(every(dusk, 14 * 60, MIN, (t) => t).flatMap((t) => night.sweep(t).events)).toEqual([])
    const restarted = testEngine({ startedMs: T + HOUR })
    run(restarted, every(T - 10 * MIN, 10, MIN, (ts) => healthyPump(ts)))
    expect(restarted.sweep(T + HOUR + MIN).events).toEqual([])
    expect(restarted.sweep(T + HOUR + 3 * MIN).events.map((e) => e.type)).toEqual(['fire'])
  })

  it('a water bank\'s Last Will fires before its silence would; a sleeping soil probe\'s does not; telemetry clears it', () => {
    const engine = testEngine()
    run(engine, [...every(T - 30 * MIN, 6, 5 * MIN, (ts) => waterbank(ts, { level_cm: 100 + ts / 1e12 })), status('waterbank', 'tank-1', T, false)])
    expect(engine.sweep(T + 30_000).events).toEqual([])
    expect(engine.sweep(T + MIN).events.map((e) => e.alert.rule)).toEqual(['offline'])
    const back = every(T + 4 * MIN, 3, MIN, (ts) => waterbank(ts, { level_cm: 101 + ts / 1e12 })).flatMap((r) => engine.onReading(r, r.receivedMs).events)
    expect(back.map((e) => e.type)).toEqual(['resolve'])
    const probe = testEngine()
    run(probe, [soil(T), status('soil', 'soil-1', T + MIN, false)])
    expect(probe.sweep(T + 20 * MIN).events).toEqual([])
    expect(probe.sweep(T + 40 * MIN).events.map((e) => e.alert.rule)).toEqual(['offline'])
  })

  it('a connected device that skips a few readings is not offline; a link that keeps dropping is flapping at once', () => {
    const engine = testEngine()
    // The level sensor finds no echo on a humid morning: 20 minutes without a reading, connection up.
    run(engine, [status('waterbank', 'tank-1', T - 31 * MIN, true), ...every(T - 30 * MIN, 3, 5 * MIN, (ts, i) => waterbank(ts, { level_cm: 120 + i / 10 }))])
    expect(every(T - 20 * MIN, 20, MIN, (t) => t).flatMap((t) => engine.sweep(t).events)).toEqual([])
    const link = testEngine()
    // Reporting every minute, with 30-second drops at minutes 5, 15 and 25: too short to alert.
    const drops = [5, 15, 25].flatMap((m) => [status('pump', 'pump-1', T + m * MIN + 5_000, false), status('pump', 'pump-1', T + m * MIN + 35_000, true)])
    expect(run(link, [...every(T, 30, MIN, (ts) => healthyPump(ts)), ...drops].sort((a, b) => a.receivedMs - b.receivedMs))).toEqual([])
    // The third drop lasts: one alert, already known as flapping (the short drops before count).
    run(link, [status('pump', 'pump-1', T + 30 * MIN, false)])
    const fired = link.sweep(T + 31.5 * MIN).events
    expect(fired.map((e) => [e.type, e.alert.flapping])).toEqual([['fire', true], ['flapping', true]])
  })
})

describe('storage and plots', () => {
  it('tank low fires after 10 minutes and clears above the reset level only', () => {
    const engine = testEngine()
    expect(run(engine, every(T, 4, 5 * MIN, (ts) => waterbank(ts, { level_pct: 12 })))).toEqual(['level_low@10'])
    const events = every(T + 20 * MIN, 6, 5 * MIN, (ts, i) => waterbank(ts, { level_pct: i < 3 ? 20 : 30 })).flatMap(
      (r) => engine.onReading(r, r.receivedMs).events,
    )
    expect(events.map((e) => e.type)).toEqual(['resolve'])
  })

  it('overflow: tank at the brim while a pump runs', () => {
    const engine = testEngine()
    const mixed = every(T, 12, MIN, (ts, i) => (i % 2 ? waterbank(ts, { level_pct: 99.5 }) : healthyPump(ts)))
    expect(run(engine, mixed)).toEqual(['overflow@7'])
    const rain = testEngine()
    expect(run(rain, every(T, 12, MIN, (ts, i) => waterbank(ts, { level_pct: 99.5, level_cm: 199 + i / 100 })))).toEqual([])
  })

  it('soil too dry for 6 hours asks to irrigate', () => {
    expect(run(testEngine(), every(T, 30, 15 * MIN, (ts, i) => soil(ts, { vwc_pct: 11, raw_adc: 2100 + i })))).toEqual(['soil_dry@360'])
  })

  it('a frozen or out-of-range water-bank level is a sensor fault', () => {
    const frozen = every(T, 14, 5 * MIN, (ts, i) => waterbank(ts, { level_cm: i < 2 ? 150 + i * 0.3 : 150.6 }))
    expect(run(testEngine(), frozen)).toEqual(['sensor_stuck@65'])
    const blind = every(T, 10, 5 * MIN, (ts, i) => waterbank(ts, i < 4 ? { level_cm: 120 + i / 10, level_pct: 60 + i / 20 } : { level_cm: 232, level_pct: 100 }))
    expect(run(testEngine(), blind)).toEqual(['sensor_range@30'])
  })

  it('a stuck probe, an open probe and a low battery go to the technician', () => {
    expect(run(testEngine(), every(T, 13, 15 * MIN, (ts) => soil(ts, { raw_adc: 1840 })))).toEqual(['sensor_stuck@165'])
    expect(run(testEngine(), every(T, 4, 15 * MIN, (ts, i) => soil(ts, { raw_adc: 4095 - (i % 2) })))).toEqual(['sensor_range@15'])
    expect(run(testEngine(), every(T, 4, 15 * MIN, (ts, i) => soil(ts, { battery_v: 3.3, raw_adc: 1800 + i })))).toEqual(['low_battery@30'])
  })
})
