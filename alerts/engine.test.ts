import { describe, expect, it } from 'vitest'
import { FIXTURE_TS } from '../contracts/fixtures.js'
import type { Reading } from '../runtime/hub.js'
import type { AlertEngine, Effects } from './engine.js'
import { FLAP } from './lifecycle.js'
import { testEngine, testFarms } from './testing/farms.js'
import { event, healthyPump, pump, soil, waterbank } from './testing/readings.js'

const T = FIXTURE_TS // 10:00 in Ranong
const MIN = 60_000

/** What the dispatcher does: every due item goes out. */
function deliver(engine: AlertEngine, nowMs: number): void {
  for (const item of Object.values(engine.state.outbox)) {
    if (item.status === 'queued' && item.notBeforeMs <= nowMs) Object.assign(item, { status: 'sent', attempts: 1, doneMs: nowMs })
  }
}

/** Feeds readings at their own time (received = ts), delivering as it goes, and collects everything queued. */
function feed(engine: AlertEngine, readings: Reading[], into: Effects = { events: [], queued: [], cancelled: [] }): Effects {
  for (const r of readings) {
    const e = engine.onReading(r, r.receivedMs)
    deliver(engine, r.receivedMs)
    into.events.push(...e.events)
    into.queued.push(...e.queued)
    into.cancelled.push(...e.cancelled)
  }
  return into
}

/** A sweep, delivering what it queued. */
function sweep(engine: AlertEngine, nowMs: number): Effects {
  const e = engine.sweep(nowMs)
  deliver(engine, nowMs)
  return e
}

/** These scenarios stop sending readings after the fault: keep the offline rule out of them. */
const quietPump = { devices: { 'pump-1': { rules: { offline: { enabled: false } } } } }

const minutes = (from: number, count: number, make: (ts: number) => Reading) =>
  Array.from({ length: count }, (_, i) => make(from + i * MIN))

const dryRun = (ts: number) => pump(ts, { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0, motor_a: 1.2 })

describe('one incident', () => {
  it('a DRY_RUN fault fires at once: one LINE card to the farmer; recovery held 5 min: one resolve', () => {
    const engine = testEngine()
    const fx = feed(engine, [...minutes(T - 10 * MIN, 10, (ts) => healthyPump(ts)), ...minutes(T, 5, dryRun)])
    expect(fx.events.map((e) => e.type)).toEqual(['fire'])
    expect(fx.queued).toHaveLength(1)
    expect(fx.queued[0]).toMatchObject({ purpose: 'fire', contactId: 'somchai', channel: 'line', notBeforeMs: T })
    const alert = fx.events[0]?.alert
    expect(alert).toMatchObject({ rule: 'dry_run', farm: 'ranong-01', device: 'pump-1', severity: 'critical', status: 'firing' })
    expect(alert?.snapshot.length).toBeGreaterThanOrEqual(5)

    const after = feed(engine, minutes(T + 5 * MIN, 8, (ts) => healthyPump(ts)))
    expect(after.events.map((e) => e.type)).toEqual(['resolve'])
    expect(after.queued.map((i) => [i.purpose, i.contactId])).toEqual([['resolve', 'somchai']])
    expect(Object.keys(engine.state.alerts)).toEqual([])
  })

  it('a fault event fires the same rule as the telemetry, once', () => {
    const engine = testEngine()
    const fx = feed(engine, [healthyPump(T), event('pump-1', T + 1_000, { fault: 'LOCKED_ROTOR' }), pump(T + MIN, { state: 'fault', fault: 'LOCKED_ROTOR' })])
    expect(fx.events.map((e) => `${e.type}:${e.alert.rule}`)).toEqual(['fire:locked_rotor'])
    expect(fx.queued).toHaveLength(1)
  })

  it('dry run inhibits no-flow on the same pump', () => {
    const engine = testEngine()
    const fx = feed(engine, minutes(T, 20, dryRun))
    expect(new Set(fx.events.map((e) => e.alert.rule))).toEqual(new Set(['dry_run']))
  })
})

describe('cannot tell is not clear (issue 15)', () => {
  const HOUR = 60 * MIN
  const idle = (ts: number, state: 'idle' | 'weak_sun' = 'idle', irradiance_wm2 = 0) =>
    pump(ts, { state, flow_lpm: 0, pv_w: 0, motor_a: 0, motor_rpm: 0, irradiance_wm2, ctrl_temp_c: 31 })

  it('an overheating controller cooling at dusk, at night and on a cool morning stays one incident; strong sun without heat resolves it', () => {
    const engine = testEngine({ farms: testFarms(quietPump) })
    const fired = feed(engine, minutes(T, 5, (ts) => pump(ts, { state: 'fault', fault: 'OVERTEMP', flow_lpm: 0, ctrl_temp_c: 86 })))
    expect(fired.events.map((e) => e.type)).toEqual(['fire'])
    const quiet = feed(engine, [
      ...minutes(T + 8 * HOUR, 60, (ts) => idle(ts, 'weak_sun', 90)), // 18:00: the sun is going, the controller cools
      ...minutes(T + 10 * HOUR, 12 * 60, (ts) => idle(ts)), // the night
      ...minutes(T + 22 * HOUR, 60, (ts) => healthyPump(ts, 400, { ctrl_temp_c: 55 })), // 08:00: running in weak sun
      ...minutes(T + 23 * HOUR, 20, (ts) => healthyPump(ts, 800, { ctrl_temp_c: 66 })), // strong sun, still heating up
      ...minutes(T + 23 * HOUR + 20 * MIN, 5, (ts) => healthyPump(ts, 800, { ctrl_temp_c: 74 })),
    ])
    expect(quiet.events).toEqual([])
    expect(quiet.queued).toEqual([])
    const back = feed(engine, minutes(T + 24 * HOUR, 40, (ts) => healthyPump(ts, 850, { ctrl_temp_c: 55 })))
    expect(back.events.map((e) => [e.type, Math.round((e.atMs - T - 24 * HOUR) / MIN)])).toEqual([['resolve', 30]])
  })

  it('a tank overflowing stays one incident while the pump sleeps and the tank drains; a pump stopping at the full tank resolves it', () => {
    const engine = testEngine({ farms: testFarms(quietPump) })
    const bank = (ts: number, level_pct: number) => waterbank(ts, { level_pct, level_cm: 2 * level_pct + (ts % 7) / 100 })
    const brim = feed(engine, minutes(T, 12, (ts) => (ts % (2 * MIN) ? bank(ts, 100) : healthyPump(ts))))
    expect(brim.events.map((e) => e.type)).toEqual(['pending', 'fire'])
    const night = feed(engine, [
      ...minutes(T + 8 * HOUR, 14 * 60, (ts) => (ts % (2 * MIN) ? bank(ts, 100 - (ts - T - 8 * HOUR) / HOUR) : idle(ts))),
      ...minutes(T + 22 * HOUR, 60, (ts) => (ts % (2 * MIN) ? bank(ts, 90) : healthyPump(ts))),
    ])
    expect(night.events).toEqual([])
    const float = feed(engine, minutes(T + 23 * HOUR, 12, (ts) => (ts % (2 * MIN) ? bank(ts, 97) : pump(ts, { state: 'tank_full', flow_lpm: 0, pv_w: 4, motor_rpm: 0 }))))
    expect(float.events.map((e) => e.type)).toEqual(['resolve'])
  })

  it('a controller fault code gone at night is not a recovery: running again is', () => {
    const engine = testEngine({ farms: testFarms(quietPump) })
    feed(engine, [pump(T + 7 * HOUR, { state: 'fault', fault: 'LOCKED_ROTOR', flow_lpm: 0 })])
    expect(feed(engine, minutes(T + 8 * HOUR, 14 * 60, (ts) => idle(ts))).events).toEqual([])
    expect(feed(engine, minutes(T + 22 * HOUR, 8, (ts) => healthyPump(ts))).events.map((e) => e.type)).toEqual(['resolve'])
  })
})

describe('escalation', () => {
  it('goes farmer -> technician -> trainer while nobody acknowledges, then stops', () => {
    const engine = testEngine({ farms: testFarms(quietPump) })
    feed(engine, [dryRun(T)])
    expect(sweep(engine, T + 14 * MIN).queued).toEqual([])
    const tech = sweep(engine, T + 15 * MIN)
    expect(tech.events.map((e) => e.type)).toEqual(['escalate'])
    expect(tech.queued.map((i) => [i.purpose, i.contactId])).toEqual([['escalate', 'somsak']])
    const trainer = sweep(engine, T + 30 * MIN)
    expect(trainer.queued.map((i) => i.contactId)).toEqual(['kru-ann'])
    expect(sweep(engine, T + 120 * MIN).queued).toEqual([])
  })

  it('an acknowledgement stops it; resolving tells everyone told, once each', () => {
    const engine = testEngine({ farms: testFarms(quietPump) })
    const fired = feed(engine, [dryRun(T)])
    sweep(engine, T + 15 * MIN)
    const id = fired.events[0]?.alert.id as string
    const ack = engine.acknowledge(id, { by: 'somsak', via: 'line', atMs: T + 16 * MIN })
    expect(ack.change.ok).toBe(true)
    expect(engine.acknowledge(id, { by: 'somchai', via: 'line', atMs: T + 17 * MIN }).change).toMatchObject({ ok: false, reason: 'already acknowledged' })
    expect(sweep(engine, T + 60 * MIN).queued).toEqual([])
    const done = engine.resolve(id, { by: 'somsak', via: 'api', atMs: T + 61 * MIN }, 'refilled the pond')
    expect(done.effects.queued.map((i) => i.contactId).sort()).toEqual(['somchai', 'somsak'])
    expect(engine.resolve(id, { by: 'x', via: 'api', atMs: T + 62 * MIN }).change.ok).toBe(false)
  })

  it('a training farm reaches only its trainers', () => {
    const engine = testEngine({ farms: testFarms({ training: true, ...quietPump }) })
    feed(engine, [dryRun(T)])
    const later = sweep(engine, T + 60 * MIN)
    const all = Object.values(engine.state.outbox)
    expect(all.map((i) => i.contactId)).toEqual(['kru-ann'])
    expect(later.queued).toEqual([])
  })

  it('a device problem starts at the technician', () => {
    const engine = testEngine()
    const fx = feed(engine, minutes(T, 6, (ts) => soil(ts, { battery_v: 3.2 })).map((r, i) => ({ ...r, payload: { ...r.payload, ts: T + i * 10 * MIN }, receivedMs: T + i * 10 * MIN })))
    expect(fx.queued.map((i) => [i.purpose, i.contactId])).toEqual([['fire', 'somsak']])
  })
})

describe('quiet hours and late data', () => {
  it('holds a warning until 06:00 Bangkok but lets a critical alert through at night', () => {
    const night = T + 13 * 60 * MIN // 23:00
    const engine = testEngine()
    const crit = feed(engine, [dryRun(night)])
    expect(crit.queued[0]?.notBeforeMs).toBe(night)
    const warn = feed(engine, minutes(night, 4, (ts) => pump(ts, { ctrl_temp_c: 90 }, 'pump-2')))
    expect(warn.queued).toHaveLength(1)
    expect(warn.queued[0]?.notBeforeMs).toBe(T + 20 * 60 * MIN) // 06:00 next day
  })

  it('a buffered flush that fires and clears tells nobody', () => {
    const engine = testEngine()
    const now = T + 3 * 60 * MIN
    const flush = [...minutes(T, 3, dryRun), ...minutes(T + 3 * MIN, 10, (ts) => healthyPump(ts))].map((r) => ({ ...r, receivedMs: now }))
    const fx: Effects = { events: [], queued: [], cancelled: [] }
    for (const r of flush) {
      const e = engine.onReading(r, now)
      fx.events.push(...e.events)
      fx.queued.push(...e.queued)
      fx.cancelled.push(...e.cancelled)
    }
    expect(fx.events.map((e) => e.type)).toEqual(['fire', 'resolve'])
    expect(fx.queued.map((i) => i.purpose)).toEqual(['fire'])
    expect(fx.cancelled.map((i) => i.purpose)).toEqual(['fire'])
    expect(Object.values(engine.state.outbox).map((i) => i.status)).toEqual(['cancelled'])
  })
})

describe('flapping', () => {
  it('is reported once: after FLAP.count fires the alert stays open until calm', () => {
    const engine = testEngine()
    const fx: Effects = { events: [], queued: [], cancelled: [] }
    let t = T
    for (let flip = 0; flip < 6; flip++) {
      feed(engine, [pump(t, { state: 'fault', fault: 'LOCKED_ROTOR', flow_lpm: 0 })], fx)
      feed(engine, minutes(t + MIN, 7, (ts) => healthyPump(ts)), fx)
      t += 8 * MIN
    }
    const purposes = fx.queued.map((i) => i.purpose)
    expect(purposes.filter((p) => p === 'flapping')).toHaveLength(1)
    expect(purposes.filter((p) => p === 'fire')).toHaveLength(FLAP.count - 1)
    expect(purposes.filter((p) => p === 'resolve')).toHaveLength(FLAP.count - 1)
    const calm = feed(engine, minutes(t, 70, (ts) => healthyPump(ts)))
    expect(calm.queued.map((i) => i.purpose)).toEqual(['resolve'])
  })
})

describe('overrides', () => {
  it('a farm can switch a rule off, a device can change its parameters', () => {
    const off = testEngine({ farms: testFarms({ rules: { overtemp: { enabled: false } } }) })
    expect(feed(off, minutes(T, 10, (ts) => pump(ts, { ctrl_temp_c: 90 }))).events).toEqual([])
    const tuned = testEngine({ farms: testFarms({ devices: { 'pump-1': { rules: { overtemp: { params: { tripC: 95 } } } } } }) })
    expect(feed(tuned, minutes(T, 10, (ts) => pump(ts, { ctrl_temp_c: 90 }))).events).toEqual([])
    expect(feed(tuned, minutes(T + 10 * MIN, 10, (ts) => pump(ts, { ctrl_temp_c: 96 }))).events.map((e) => e.type)).toEqual(['pending', 'fire'])
  })
})
