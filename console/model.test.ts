import { describe, expect, it } from 'vitest'
import { applyMessage, createModel, ensureDevice, farmParts, loadHistory, parseTopic, setTraining } from './public/model.js'
import { emptySeries } from './public/series.js'

const T0 = 1_772_935_200_000
const pump = (ts: number, extra: Record<string, unknown> = {}) => ({ ts, seq: 1, boot: 1, pv_w: 300, flow_lpm: 20, state: 'running', fault: null, ...extra })

describe('page model', () => {
  it('parses topics like the contract, and refuses the rest', () => {
    expect(parseTopic('farm/ranong-01/pump/p-1/cmd/ack')).toEqual({ farm: 'ranong-01', kind: 'pump', device: 'p-1', channel: 'cmd/ack' })
    for (const bad of ['farm/Ranong/pump/p/telemetry', 'farm/a/tractor/p/telemetry', 'farm/a/pump/p/other', 'sim/control/state', 'farm/a/pump']) {
      expect(parseTopic(bad)).toBeNull()
    }
  })

  it('creates farm and device on first sight, then updates in place', () => {
    const m = createModel()
    const first = applyMessage(m, 'farm/f1/pump/p1/telemetry', pump(T0), T0)
    expect(first).toMatchObject({ kind: 'telemetry', created: true, latest: true, charted: true })
    expect(m.farms.get('f1')?.devices).toEqual(['p1'])
    const second = applyMessage(m, 'farm/f1/pump/p1/telemetry', pump(T0 + 20_000, { pv_w: 310 }), T0 + 20_000)
    expect(second).toMatchObject({ created: false, latest: true })
    expect(m.devices.get('p1')?.telemetry?.pv_w).toBe(310)
    expect(m.devices.get('p1')?.online).toBe(true)
  })

  it('keeps the newest reading on show when an older one is replayed', () => {
    const m = createModel()
    applyMessage(m, 'farm/f1/pump/p1/telemetry', pump(T0 + 60_000, { pv_w: 400 }), T0)
    const late = applyMessage(m, 'farm/f1/pump/p1/telemetry', pump(T0, { pv_w: 100 }), T0)
    expect(late).toMatchObject({ latest: false, charted: true })
    expect(m.devices.get('p1')?.telemetry?.pv_w).toBe(400)
    expect(m.devices.get('p1')?.series.v.pv_w).toEqual([100, 400])
  })

  it('takes online state from status, passes cmd/ack through, ignores the rest', () => {
    const m = createModel()
    expect(applyMessage(m, 'farm/f1/soil/s1/status', { online: false, ts: T0 }, T0)).toMatchObject({ kind: 'status' })
    expect(m.devices.get('s1')?.online).toBe(false)
    expect(applyMessage(m, 'farm/f1/pump/p1/cmd/ack', { id: 'c1', ok: true }, T0)).toMatchObject({ kind: 'ack', ack: { id: 'c1' } })
    expect(applyMessage(m, 'farm/f1/pump/p1/event', { ts: T0, type: 'boot' }, T0)).toBeNull()
    expect(applyMessage(m, 'farm/f1/pump/p1/telemetry', 'not an object', T0)).toBeNull()
    expect(applyMessage(m, 'farm/f1/pump/p1/telemetry', { pv_w: 1 }, T0)).toBeNull()
  })

  it('loads the server history, marks training farms, and splits a farm by role', () => {
    const m = createModel()
    ensureDevice(m, 'f1', 'soil', 'f1-soil-2')
    ensureDevice(m, 'f1', 'soil', 'f1-soil-1')
    const series = emptySeries(['level_pct'])
    series.t.push(T0)
    series.v.level_pct?.push(55)
    loadHistory(m, [{ farm: 'f1', kind: 'waterbank', device: 'f1-bank', latest: { ts: T0, level_pct: 55 }, receivedMs: T0, series }])
    expect(m.devices.get('f1-bank')?.telemetry).toEqual({ ts: T0, level_pct: 55 })
    expect(setTraining(m, ['f1'])).toBe(true)
    expect(setTraining(m, ['f1'])).toBe(false)
    const parts = farmParts(m, m.farms.get('f1') ?? { farm: 'f1', training: false, devices: [] })
    expect(parts.soils.map((d) => d.device)).toEqual(['f1-soil-1', 'f1-soil-2'])
    expect(parts.banks.map((d) => d.device)).toEqual(['f1-bank'])
    expect(parts.pumps).toEqual([])
  })
})
