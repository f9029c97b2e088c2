import { describe, expect, it } from 'vitest'
import { SimState } from '../contracts/sim-control.js'
import { silentLogger } from '../runtime/logger.js'
import { parseSimArgs } from './cli.js'
import { applyControl } from './control.js'
import { demoFarms, devicesOf } from './demo.js'
import { Fleet } from './fleet.js'
import { parseAt, parseScenario } from './scenario.js'
import { Scheduler } from './scheduler.js'
import { LoopBroker } from './transport.js'

const START = Date.parse('2026-03-01T00:00:00+07:00')

describe('scenario times and files', () => {
  it('reads relative and absolute times', () => {
    expect(parseAt('+90s', START)).toEqual({ ok: true, ms: START + 90_000 })
    expect(parseAt('+1h30m', START)).toEqual({ ok: true, ms: START + 5_400_000 })
    expect(parseAt('+1d', START)).toEqual({ ok: true, ms: START + 86_400_000 })
    expect(parseAt('2026-03-02', 0)).toEqual({ ok: true, ms: START + 86_400_000 })
    expect(parseAt('2026-03-01T10:00:00+07:00', 0)).toEqual({ ok: true, ms: START + 10 * 3_600_000 })
    expect(parseAt('soon', START).ok).toBe(false)
    expect(parseAt('+5x', START).ok).toBe(false)
  })

  it('parses a scenario and names what is wrong in a bad one', () => {
    const ok = parseScenario({ training: ['ranong-03'], events: [{ at: '+20m', device: 'ranong-03-pump', fault: 'dry_run' }, { at: '+50m', device: 'ranong-03-pump', fault: 'dry_run', action: 'clear' }] }, START)
    expect(ok).toEqual({
      ok: true,
      scenario: {
        training: ['ranong-03'],
        faults: [
          { atMs: START + 1_200_000, device: 'ranong-03-pump', fault: 'dry_run', action: 'inject' },
          { atMs: START + 3_000_000, device: 'ranong-03-pump', fault: 'dry_run', action: 'clear' },
        ],
      },
    })
    const bad = parseScenario({ events: [{ at: '+1m', device: 'ranong-03-pump', fault: 'gremlins' }] }, START)
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.reason).toMatch(/events\.0\.fault/)
    const badTime = parseScenario({ events: [{ at: 'tomorrow', device: 'ranong-03-pump', fault: 'dry_run' }] }, START)
    expect(!badTime.ok && badTime.reason).toMatch(/events\.0\.at/)
  })
})

describe('sim/control messages', () => {
  const farms = demoFarms({ farms: 2, seed: 'c', training: ['ranong-02'] })
  const sched = new Scheduler(START)
  const fleet = new Fleet({ farms, seed: 'c', sched, transport: new LoopBroker(sched).transport, log: silentLogger })
  const send = (msg: unknown) => applyControl(fleet, Buffer.from(typeof msg === 'string' ? msg : JSON.stringify(msg)))

  it('injects and clears faults, answering with the request id', () => {
    expect(send({ action: 'inject', id: 'r1', device: 'ranong-01-pump', fault: 'dry_run', severity: 0.5 })).toEqual({ id: 'r1', ok: true })
    expect(fleet.faults.of('ranong-01-pump')).toEqual([{ fault: 'dry_run', severity: 0.5, sinceMs: START }])
    expect(send({ action: 'clear', id: 'r2', device: 'ranong-01-pump' })).toEqual({ id: 'r2', ok: true })
    expect(fleet.faults.of('ranong-01-pump')).toEqual([])
  })

  it('refuses what cannot be done, with a reason', () => {
    expect(send('{nope')).toEqual({ ok: false, error: 'malformed JSON' })
    expect(send({ action: 'inject', id: 'r3', device: 'ranong-01-soil-1', fault: 'dry_run' })).toMatchObject({ id: 'r3', ok: false, error: expect.stringMatching(/applies to pump/) })
    expect(send({ action: 'inject', device: 'ranong-09-pump', fault: 'dry_run' })).toMatchObject({ ok: false, error: expect.stringMatching(/no simulated device/) })
    expect(send({ action: 'explode', id: 'r4' })).toMatchObject({ id: 'r4', ok: false })
    expect(send({ action: 'speed', speed: 60 })).toMatchObject({ ok: false, error: expect.stringMatching(/speed/) })
  })

  it('describes the fleet for sim/control/state: farms, training farms, devices and faults', () => {
    send({ action: 'inject', device: 'ranong-02-bank', fault: 'stuck_sensor' })
    const state = SimState.parse(fleet.state())
    expect(state.farms.map((f) => [f.farm, f.training])).toEqual([['ranong-01', false], ['ranong-02', true]])
    expect(state.farms.flatMap((f) => f.devices.map((d) => d.device))).toEqual(devicesOf(farms).map((d) => d.device))
    expect(state.faults).toEqual([{ device: 'ranong-02-bank', fault: 'stuck_sensor', severity: 1, since: START }])
    expect(JSON.stringify(fleet.state()).length).toBeLessThan(64 * 1024)
  })
})

describe('suanyang sim arguments', () => {
  const env = { MQTT_PORT: '1999', DATA_DIR: '/tmp/x' }
  const now = Date.parse('2026-04-01T00:00:00Z')

  it('takes flags over environment over defaults', () => {
    const r = parseSimArgs(['--farms', '3', '--speed', '60', '--seed', 's', '--fault', 'dry_run', '--device', 'ranong-01-pump', '--at', '+30m'], { ...env, SIM_SPEED: '5' }, now)
    expect(r).toMatchObject({ ok: true, help: false, args: { farms: 3, speed: 60, seed: 's', url: 'mqtt://127.0.0.1:1999', backfillEndMs: undefined, startMs: now } })
    expect(r.ok && !r.help && r.args.faults).toEqual([{ atMs: now + 1_800_000, device: 'ranong-01-pump', fault: 'dry_run' }])
    expect(parseSimArgs([], { ...env, SIM_FARMS: '4', SIM_TRAINING_FARMS: 'ranong-02,ranong-03' }, now)).toMatchObject({ ok: true, args: { farms: 4, speed: 1, training: ['ranong-02', 'ranong-03'] } })
  })

  it('reads a backfill window', () => {
    const r = parseSimArgs(['--from', '2026-03-01', '--days', '30'], env, now)
    expect(r).toMatchObject({ ok: true, args: { startMs: START, backfillEndMs: START + 30 * 86_400_000 } })
    expect(parseSimArgs(['--from', '2026-03-01'], env, now)).toMatchObject({ ok: true, args: { backfillEndMs: now } })
  })

  it('refuses bad input with a reason', () => {
    expect(parseSimArgs(['--days', '3'], env, now)).toMatchObject({ ok: false, reason: expect.stringMatching(/--from/) })
    expect(parseSimArgs(['--speed', 'fast'], env, now)).toMatchObject({ ok: false })
    expect(parseSimArgs(['--fault', 'dry_run'], env, now)).toMatchObject({ ok: false, reason: expect.stringMatching(/--device/) })
    expect(parseSimArgs(['--fault', 'gremlins', '--device', 'x'], env, now)).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown fault/) })
    expect(parseSimArgs(['--bogus'], env, now)).toMatchObject({ ok: false })
    expect(parseSimArgs([], { SIM_SPEED: '-1' }, now)).toMatchObject({ ok: false, reason: expect.stringMatching(/SIM_SPEED/) })
    expect(parseSimArgs(['--help'], env, now)).toEqual({ ok: true, help: true })
  })
})
