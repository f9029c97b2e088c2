import { describe, expect, it } from 'vitest'
import { acknowledge, decide, FLAP, type OpenView, recordFire, resolve } from './lifecycle.js'
import type { AlertRecord, Verdict } from './types.js'

const timing = { pendingMs: 60_000, faultPendingMs: 0, clearMs: 300_000 }
const active: Verdict = { state: 'active', source: 'symptom', detail: {} }
const fault: Verdict = { state: 'active', source: 'fault', detail: {} }
const clear: Verdict = { state: 'clear' }
const unknown: Verdict = { state: 'unknown' }
const T = 1_772_334_000_000

const view = (over: Partial<OpenView>): OpenView => ({ status: 'firing', sinceMs: T, flapping: false, ...over })

describe('decide', () => {
  it('starts pending on a symptom and fires once it held for pendingMs', () => {
    expect(decide(undefined, active, T, timing)).toEqual({ do: 'pend', sinceMs: T })
    const pending = view({ status: 'pending' })
    expect(decide(pending, active, T + 59_999, timing)).toEqual({ do: 'nothing' })
    expect(decide(pending, active, T + 60_000, timing)).toEqual({ do: 'fire', sinceMs: T })
  })

  it('fires at once on a controller fault code (the controller already debounced it)', () => {
    expect(decide(undefined, fault, T, timing)).toEqual({ do: 'fire', sinceMs: T })
    expect(decide(view({ status: 'pending' }), fault, T + 1, timing)).toEqual({ do: 'fire', sinceMs: T })
  })

  it('cancels a pending alert when the condition stops holding, or cannot be judged', () => {
    expect(decide(view({ status: 'pending' }), clear, T + 10, timing)).toEqual({ do: 'cancel' })
    expect(decide(view({ status: 'pending' }), unknown, T + 10, timing)).toEqual({ do: 'cancel' })
  })

  it('does nothing without an open alert unless the condition holds', () => {
    expect(decide(undefined, clear, T, timing)).toEqual({ do: 'nothing' })
    expect(decide(undefined, unknown, T, timing)).toEqual({ do: 'nothing' })
  })

  it('resolves only after the clear condition held for clearMs, continuously (hysteresis)', () => {
    const firing = view({})
    expect(decide(firing, clear, T + 1_000, timing)).toEqual({ do: 'clear_hold', sinceMs: T + 1_000 })
    const clearing = view({ clearSinceMs: T + 1_000 })
    expect(decide(clearing, clear, T + 300_999, timing)).toEqual({ do: 'nothing' })
    expect(decide(clearing, clear, T + 301_000, timing)).toEqual({ do: 'resolve' })
    expect(decide(clearing, unknown, T + 200_000, timing)).toEqual({ do: 'clear_reset' })
    expect(decide(clearing, active, T + 200_000, timing)).toEqual({ do: 'clear_reset' })
    expect(decide({ ...clearing, status: 'acknowledged' }, clear, T + 301_000, timing)).toEqual({ do: 'resolve' })
  })

  it('resolves at once when clearMs is zero', () => {
    expect(decide(view({}), clear, T, { ...timing, clearMs: 0 })).toEqual({ do: 'resolve' })
  })

  it('needs FLAP.clearMs of calm to resolve a flapping alert', () => {
    const flapping = view({ flapping: true, clearSinceMs: T })
    expect(decide(flapping, clear, T + timing.clearMs, timing)).toEqual({ do: 'nothing' })
    expect(decide(flapping, clear, T + FLAP.clearMs, timing)).toEqual({ do: 'resolve' })
  })
})

describe('recordFire', () => {
  it('flags flapping at the FLAP.count-th fire inside the window, and forgets old fires', () => {
    let h: number[] = []
    const flags: boolean[] = []
    for (let i = 0; i < FLAP.count; i++) {
      const r = recordFire(h, T + i * 60_000)
      h = r.history
      flags.push(r.flapping)
    }
    expect(flags).toEqual([...Array(FLAP.count - 1).fill(false), true])
    expect(recordFire(h, T + FLAP.windowMs + FLAP.count * 60_000).flapping).toBe(false)
  })
})

describe('acknowledge and resolve', () => {
  const alert = {
    id: 'a',
    status: 'firing',
    version: 1,
    escalation: { step: 0, nextAtMs: T + 900_000 },
  } as AlertRecord
  const who = { by: 'somchai', via: 'line' as const, atMs: T + 5 }

  it('acknowledging records who, how and when, and stops escalation', () => {
    const r = acknowledge(alert, who)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.alert).toMatchObject({ status: 'acknowledged', ack: who, version: 2, escalation: { step: 0 } })
    expect(r.alert.escalation.nextAtMs).toBeUndefined()
    expect(acknowledge(r.alert, who)).toMatchObject({ ok: false, reason: 'already acknowledged' })
  })

  it('refuses to acknowledge a pending or resolved alert', () => {
    expect(acknowledge({ ...alert, status: 'pending' }, who)).toMatchObject({ ok: false, reason: 'not firing' })
    expect(acknowledge({ ...alert, status: 'resolved' }, who)).toMatchObject({ ok: false, reason: 'already resolved' })
  })

  it('resolving keeps the note and refuses twice', () => {
    const r = resolve(alert, { by: 'somsak', via: 'api', atMs: T + 9 }, 'cleaned strainer')
    expect(r).toMatchObject({ ok: true, alert: { status: 'resolved', resolved: { by: 'somsak', note: 'cleaned strainer' } } })
    if (r.ok) expect(resolve(r.alert, who)).toMatchObject({ ok: false, reason: 'already resolved' })
  })
})
