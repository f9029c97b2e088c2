/**
 * Each fault scenario leaves the signature FAULTS.md documents, on the published readings: the
 * same seed and day is run with and without the fault and the two are compared at equal ts
 * (same weather, same noise), so the differences are the fault's.
 */
import { describe, expect, it } from 'vitest'
import { TELEMETRY } from '../contracts/payloads.js'
import type { FaultScenario } from '../contracts/sim-control.js'
import { demoFarms } from './demo.js'
import { type RunResult, runModel, telemetryOf } from './run.js'

const SEED = 'faults'
const farms = demoFarms({ farms: 1, seed: SEED, training: [] })
const farm = farms[0]
if (!farm) throw new Error('no demo farm')
const PUMP = farm.devices.pump
const BANK = farm.devices.waterbank
const SOIL = farm.plots[0]?.device ?? ''
const H = 3_600_000
const DAY0 = Date.UTC(2026, 2, 3) - 7 * H // 2026-03-03 00:00 in Ranong
const AT = DAY0 + 9 * H

type Row = Record<string, unknown> & { ts: number; seq: number; boot: number }

/** The same farm with little water drawn from its bank: it fills by midday and the float opens. */
const fillingFarms = farms.map((f) => ({ ...f, bank: { ...f.bank, other_draw_l_d: 1_500 } }))

const runs = new Map<string, RunResult>()
function run(key: string, days: number, faults: Parameters<typeof runModel>[0]['faults'] = [], specs = farms): RunResult {
  const cached = runs.get(key)
  if (cached) return cached
  const r = runModel({ farms: specs, seed: SEED, fromMs: DAY0, toMs: DAY0 + days * 24 * H, faults })
  expect([...r.fleet.refused]).toEqual([])
  runs.set(key, r)
  return r
}
const baseline = (days = 1) => run(`base-${days}`, days)
const faulted = (device: string, fault: FaultScenario, opts: { days?: number; severity?: number; clearAt?: number } = {}) =>
  run(`${device}-${fault}-${opts.severity}-${opts.clearAt}-${opts.days}`, opts.days ?? 1, [
    { atMs: AT, device, fault, ...(opts.severity === undefined ? {} : { severity: opts.severity }) },
    ...(opts.clearAt === undefined ? [] : [{ atMs: opts.clearAt, device, fault, action: 'clear' as const }]),
  ])

const tel = (r: RunResult, device: string): Row[] => telemetryOf(r.published, device)
const num = (row: Row | undefined, k: string): number => row?.[k] as number
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1] ?? NaN
}

/** Faulted and baseline readings at the same ts, both running, in [fromMs, toMs). */
function pairs(f: Row[], b: Row[], fromMs: number, toMs: number, minPvW = 150): Array<[Row, Row]> {
  const byTs = new Map(b.map((r) => [r.ts, r]))
  return f.flatMap((r): Array<[Row, Row]> => {
    const o = byTs.get(r.ts)
    if (!o || r.ts < fromMs || r.ts >= toMs || r.state !== 'running' || o.state !== 'running' || num(o, 'pv_w') < minPvW) return []
    return [[r, o]]
  })
}
const ratio = (ps: Array<[Row, Row]>, k: string) => median(ps.map(([f, b]) => num(f, k) / num(b, k)).filter(Number.isFinite))

const events = (r: RunResult, device: string) => r.published.filter((p) => p.topic.endsWith(`/${device}/event`)).map((p) => p.payload)
const statuses = (r: RunResult, device: string) => r.published.filter((p) => p.topic.endsWith(`/${device}/status`))

// Each case runs a farm for a day or more, twice: generous timeouts for a shared 2-core machine.
describe('fault signatures (FAULTS.md)', { timeout: 30_000 }, () => {
  it('baseline: every published payload is valid and the pump runs by day', () => {
    const r = baseline()
    for (const p of r.published) {
      if (p.topic.endsWith('/telemetry')) {
        const kind = p.topic.split('/')[2] as keyof typeof TELEMETRY
        expect(TELEMETRY[kind].safeParse(p.payload).success).toBe(true)
      }
    }
    expect(tel(r, PUMP).filter((x) => x.state === 'running').length).toBeGreaterThan(1_000)
  })

  it('dry_run: full speed, low power, no flow, then DRY_RUN and retries with back-off', () => {
    const f = tel(faulted(PUMP, 'dry_run'), PUMP)
    const b = new Map(tel(baseline(), PUMP).map((x) => [x.ts, x]))
    const dry = f.filter((x) => x.ts > AT && x.state === 'running' && num(x, 'motor_rpm') >= 0.9 * 3600)
    expect(dry.length).toBeGreaterThan(0)
    for (const x of dry) {
      expect(x.flow_lpm).toBe(0)
      expect(num(x, 'pv_w')).toBeLessThan(0.6 * 553)
    }
    const firstFault = f.find((x) => x.ts > AT && x.fault === 'DRY_RUN')
    expect(firstFault?.state).toBe('fault')
    expect(num(firstFault, 'ts') - AT).toBeLessThan(2 * 60_000)
    for (const x of f.filter((y) => y.fault === 'DRY_RUN')) {
      expect([x.motor_rpm, x.flow_lpm, x.pv_w]).toEqual([0, 0, 0])
      expect(b.get(x.ts)?.fault ?? null).toBe(null)
    }
    const raised = events(faulted(PUMP, 'dry_run'), PUMP).filter((e) => e.type === 'fault' && e.fault === 'DRY_RUN')
    const gaps = raised.slice(1).map((e, i) => ((e.ts as number) - ((raised[i]?.ts as number) ?? 0)) / 60_000)
    expect(raised.length).toBeGreaterThanOrEqual(3)
    expect(gaps[0]).toBeGreaterThanOrEqual(15)
    expect(gaps[1]).toBeGreaterThanOrEqual(30)
  })

  it('clogged_intake: 20-50 % less flow at the same power and speed', () => {
    const ps = pairs(tel(faulted(PUMP, 'clogged_intake'), PUMP), tel(baseline(), PUMP), AT + 600_000, DAY0 + 14 * H, 250)
    expect(ps.length).toBeGreaterThan(500)
    expect(ratio(ps, 'pv_w')).toBeCloseTo(1, 2)
    expect(ratio(ps, 'motor_rpm')).toBeCloseTo(1, 2)
    const flow = ratio(ps, 'flow_lpm')
    expect(flow).toBeGreaterThan(0.5)
    expect(flow).toBeLessThan(0.8)
  })

  it('panel_soiling: PV power down by the soiling share, voltage unchanged, back after cleaning', () => {
    const clearAt = DAY0 + 13 * H
    const r = faulted(PUMP, 'panel_soiling', { clearAt })
    const ps = pairs(tel(r, PUMP), tel(baseline(), PUMP), AT + 600_000, clearAt)
    expect(ps.length).toBeGreaterThan(300)
    expect(ratio(ps, 'pv_w')).toBeGreaterThan(0.6)
    expect(ratio(ps, 'pv_w')).toBeLessThan(0.8)
    expect(Math.abs(ratio(ps, 'pv_v') - 1)).toBeLessThan(0.05)
    const after = pairs(tel(r, PUMP), tel(baseline(), PUMP), clearAt + 600_000, DAY0 + 15 * H)
    expect(after.length).toBeGreaterThan(50)
    expect(ratio(after, 'pv_w')).toBeGreaterThan(0.97)
  })

  it('broken_pv_string: PV current and power halve, PV voltage normal', () => {
    const ps = pairs(tel(faulted(PUMP, 'broken_pv_string'), PUMP), tel(baseline(), PUMP), AT + 600_000, DAY0 + 14 * H, 250)
    expect(ps.length).toBeGreaterThan(300)
    for (const k of ['pv_w', 'pv_a']) {
      expect(ratio(ps, k)).toBeGreaterThan(0.4)
      expect(ratio(ps, k)).toBeLessThan(0.6)
    }
    expect(Math.abs(ratio(ps, 'pv_v') - 1)).toBeLessThan(0.05)
  })

  it('pipe_leak: more flow, less pressure, and the water bank rises slower', () => {
    const r = faulted(PUMP, 'pipe_leak')
    const ps = pairs(tel(r, PUMP), tel(baseline(), PUMP), AT + 600_000, DAY0 + 14 * H, 250)
    expect(ratio(ps, 'pv_w')).toBeCloseTo(1, 2)
    expect(ratio(ps, 'flow_lpm')).toBeGreaterThan(1.05)
    expect(ratio(ps, 'pressure_bar')).toBeLessThan(0.75)
    const rise = (rows: Row[]) => {
      const at = (t: number) => rows.find((x) => x.ts >= t)
      return num(at(AT + 3 * H), 'level_cm') - num(at(AT), 'level_cm')
    }
    expect(rise(tel(r, BANK))).toBeLessThan(0.6 * rise(tel(baseline(), BANK)))
  })

  it('bearing_wear: at the same PV power the current creeps up day by day while speed and flow fall', { timeout: 60_000 }, () => {
    const days = 5
    const f = tel(faulted(PUMP, 'bearing_wear', { days, severity: 1 }), PUMP)
    const b = tel(baseline(days), PUMP)
    const perDay = Array.from({ length: days }, (_, d) => {
      const ps = pairs(f, b, DAY0 + d * 24 * H + 9 * H, DAY0 + d * 24 * H + 16 * H, 250)
      return { amps: ratio(ps, 'motor_a'), rpm: ratio(ps, 'motor_rpm'), flow: ratio(ps, 'flow_lpm'), pv: ratio(ps, 'pv_w') }
    })
    for (let d = 1; d < days; d++) {
      expect(perDay[d]?.amps).toBeGreaterThan(perDay[d - 1]?.amps ?? Infinity)
      expect(perDay[d]?.pv).toBeCloseTo(1, 2)
    }
    expect(perDay[days - 1]?.amps).toBeGreaterThan(1.05)
    expect(perDay[days - 1]?.rpm).toBeLessThan(0.97)
    expect(perDay[days - 1]?.flow).toBeLessThan(0.9)
  })

  it('controller_overheating: heatsink past 75 C, trips OVERTEMP at 85 C, restarts cooler', () => {
    const r = faulted(PUMP, 'controller_overheating')
    const f = tel(r, PUMP)
    expect(Math.max(...f.map((x) => num(x, 'ctrl_temp_c')))).toBeGreaterThan(80)
    expect(Math.max(...tel(baseline(), PUMP).map((x) => num(x, 'ctrl_temp_c')))).toBeLessThan(65)
    const trip = f.find((x) => x.fault === 'OVERTEMP')
    expect(trip?.state).toBe('fault')
    expect(f.some((x) => x.ts > num(trip, 'ts') && x.state === 'running')).toBe(true)
    const ev = events(r, PUMP)
    expect(ev.some((e) => e.type === 'fault' && e.fault === 'OVERTEMP')).toBe(true)
    expect(ev.some((e) => e.type === 'fault_cleared' && e.fault === 'OVERTEMP')).toBe(true)
  })

  it('stuck_sensor: one reading frozen while the others move, on each kind', () => {
    const cases: Array<[string, string[], string]> = [
      [PUMP, ['flow_lpm'], 'pv_w'],
      [SOIL, ['raw_adc', 'vwc_pct'], 'soil_temp_c'],
      [BANK, ['level_cm', 'level_pct', 'volume_l'], 'battery_v'],
    ]
    for (const [device, frozen, moving] of cases) {
      const after = tel(faulted(device, 'stuck_sensor'), device).filter((x) => x.ts >= AT)
      expect(after.length).toBeGreaterThan(20)
      for (const k of frozen) expect(new Set(after.map((x) => x[k])).size).toBe(1)
      expect(new Set(after.map((x) => x[moving])).size).toBeGreaterThan(3)
      const before = tel(baseline(), device).filter((x) => x.ts >= AT)
      expect(new Set(before.map((x) => x[frozen[0] as string])).size).toBeGreaterThan(3)
    }
  })

  it('out_of_range_sensor: soil 4095 counts and 0 %, water bank above its height, pump 125 C and SENSOR_FAULT', () => {
    const soil = tel(faulted(SOIL, 'out_of_range_sensor'), SOIL).filter((x) => x.ts >= AT)
    expect(soil.every((x) => x.raw_adc === 4095 && x.vwc_pct === 0)).toBe(true)
    const bank = tel(faulted(BANK, 'out_of_range_sensor'), BANK).filter((x) => x.ts >= AT)
    expect(bank.length).toBeGreaterThan(50)
    expect(bank.every((x) => num(x, 'level_cm') > farm.bank.usable_cm && x.level_pct === 100)).toBe(true)
    const clearAt = DAY0 + 12 * H
    const r = faulted(PUMP, 'out_of_range_sensor', { clearAt })
    const pump = tel(r, PUMP)
    // The controller reacts on its next cycle, a few seconds after the sensor fails.
    const during = pump.filter((x) => x.ts > AT + 10_000 && x.ts < clearAt)
    expect(during.every((x) => x.ctrl_temp_c === 125 && x.fault === 'SENSOR_FAULT' && x.state === 'fault' && x.flow_lpm === 0)).toBe(true)
    expect(pump.some((x) => x.ts > clearAt && x.state === 'running' && num(x, 'ctrl_temp_c') < 80)).toBe(true)
    expect(events(r, PUMP).some((e) => e.fault === 'SENSOR_FAULT' && e.type === 'fault')).toBe(true)
  })

  it('power_loss: silence, the retained will, then a new boot with seq from 0 and a birth', () => {
    const clearAt = AT + 2 * H
    const r = faulted(PUMP, 'power_loss', { clearAt })
    const st = statuses(r, PUMP)
    const will = st.find((p) => p.will)
    expect(will?.retain).toBe(true)
    expect(will?.payload.online).toBe(false)
    expect(will?.tMs).toBe(AT)
    const pump = tel(r, PUMP)
    expect(pump.some((x) => x.ts >= AT && x.ts < clearAt)).toBe(false)
    const back = pump.filter((x) => x.ts >= clearAt)
    expect(back[0]).toMatchObject({ boot: 2, seq: 0 })
    expect(back.map((x) => x.seq)).toEqual(back.map((_, i) => i))
    const birth = st.filter((p) => p.payload.online === true).at(-1)
    expect(birth?.payload).toMatchObject({ online: true, boot: 2 })
    expect(birth?.tMs).toBeGreaterThanOrEqual(clearAt)
    // The controller pumps on while its monitor is dark: the water bank still rises.
    const level = (t: number) => num(tel(r, BANK).find((x) => x.ts >= t), 'level_cm')
    expect(level(AT + 90 * 60_000)).toBeGreaterThan(level(AT) + 5)
  })

  it('low_battery: battery voltage falls through 3.4 V, then the probe browns out and its will comes', () => {
    const r = faulted(SOIL, 'low_battery', { days: 3 })
    const soil = tel(r, SOIL)
    const v = soil.filter((x) => x.ts >= AT).map((x) => num(x, 'battery_v'))
    expect(v[0]).toBeGreaterThan(3.6)
    expect(Math.min(...v)).toBeLessThan(3.4)
    // Steady fall: each 6-hour median is below the one before (the transmit sag is noise).
    const medians = Array.from({ length: 6 }, (_, i) => median(soil.filter((x) => x.ts >= AT + i * 6 * H && x.ts < AT + (i + 1) * 6 * H).map((x) => num(x, 'battery_v'))))
    expect(medians.slice(1).every((m, i) => m < (medians[i] ?? 0))).toBe(true)
    const last = soil.at(-1)
    expect(num(last, 'ts')).toBeLessThan(DAY0 + 3 * 24 * H - 6 * H)
    const will = statuses(r, SOIL).find((p) => p.will)
    expect(will?.payload.online).toBe(false)
    expect(will?.tMs).toBeGreaterThan(num(last, 'ts'))
  })

  it('float_switch_failure: the pump keeps running with the water bank at 100 %', () => {
    const b = tel(run('filling', 1, [], fillingFarms), PUMP)
    expect(b.some((x) => x.state === 'tank_full')).toBe(true)
    for (const device of [PUMP, BANK]) {
      const r = run(`filling-${device}`, 1, [{ atMs: AT, device, fault: 'float_switch_failure' }], fillingFarms)
      const pump = tel(r, PUMP)
      expect(pump.some((x) => x.state === 'tank_full')).toBe(false)
      const full = tel(r, BANK).filter((x) => num(x, 'level_pct') >= 99.5)
      expect(full.length).toBeGreaterThan(6)
      const runningWhileFull = full.filter((lv) => pump.find((p) => p.ts >= lv.ts)?.state === 'running')
      expect(runningWhileFull.length).toBeGreaterThan(6)
    }
  })

  it('flapping_network: status toggles, readings arrive late in bursts, same readings, no seq gap', () => {
    const r = faulted(PUMP, 'flapping_network', { clearAt: AT + 2 * H })
    const st = statuses(r, PUMP).filter((p) => p.tMs >= AT && p.tMs < AT + 2 * H)
    expect(st.filter((p) => p.will).length).toBeGreaterThanOrEqual(4)
    expect(st.filter((p) => p.payload.online === true).length).toBeGreaterThanOrEqual(4)
    const got = r.published.filter((p) => p.topic.endsWith(`/${PUMP}/telemetry`))
    expect(got.filter((p) => p.tMs - (p.payload.ts as number) > 60_000).length).toBeGreaterThan(50)
    const key = (x: Row) => JSON.stringify(x)
    const f = tel(r, PUMP)
    expect(new Set(f.map(key))).toEqual(new Set(tel(baseline(), PUMP).map(key)))
    const seqs = [...new Set(f.map((x) => x.seq))].sort((a, b) => a - b)
    expect(seqs).toEqual(seqs.map((_, i) => i))
  })
})
