/**
 * Firmware behaviour against the in-memory broker on simulated time: birth and will, cadence,
 * seq and boot, the offline buffer and its replay, backoff, and commands with their acks.
 */
import { describe, expect, it } from 'vitest'
import { CommandAck, Status } from '../contracts/payloads.js'
import { demoFarms } from './demo.js'
import { type RunOptions, runModel, telemetryOf } from './run.js'

const H = 3_600_000
const DAY0 = Date.UTC(2026, 2, 5) - 7 * H
const farms = demoFarms({ farms: 1, seed: 'fw', training: [] })
const farm = farms[0]
if (!farm) throw new Error('no farm')
const PUMP = farm.devices.pump
const SOIL = farm.plots[0]?.device ?? ''
const BANK = farm.devices.waterbank
const run = (o: Partial<RunOptions> & { fromMs: number; toMs: number }) => runModel({ farms, seed: 'fw', ...o })
const topicOf = (device: string, channel: string) => `farm/${farm.farm}/${device === PUMP ? 'pump' : device === BANK ? 'waterbank' : 'soil'}/${device}/${channel}`
const gapsOf = (xs: number[]) => xs.slice(1).map((x, i) => x - (xs[i] ?? 0))

describe('firmware: birth, cadence, seq', { timeout: 30_000 }, () => {
  const from = DAY0 + 6 * H
  const r = run({ fromMs: from, toMs: from + 6 * H })

  it('publishes a retained birth on connect and sets a retained will', () => {
    for (const d of [PUMP, SOIL, BANK]) {
      const birth = r.published.find((p) => p.topic === topicOf(d, 'status'))
      expect(birth?.retain).toBe(true)
      expect(Status.parse(birth?.payload)).toMatchObject({ online: true, boot: 1, fw: 'sim-1.0.0' })
    }
  })

  it('numbers telemetry from 0 without gaps, one device at a time', () => {
    for (const d of [PUMP, SOIL, BANK]) {
      const seqs = telemetryOf(r.published, d).map((x) => x.seq)
      expect(seqs.length).toBeGreaterThan(20)
      expect(seqs).toEqual(seqs.map((_, i) => i))
    }
  })

  it('reports every 5 s while pumping, every minute otherwise, soil every 15 min, the bank every 5 min', () => {
    const pump = telemetryOf(r.published, PUMP)
    const running = pump.filter((x, i) => x.state === 'running' && pump[i - 1]?.state === 'running')
    expect(running.length).toBeGreaterThan(100)
    const tsOf = new Map(pump.map((x, i) => [x, pump[i - 1]?.ts ?? 0]))
    for (const x of running) expect(x.ts - (tsOf.get(x) ?? 0)).toBe(5_000)
    const idle = pump.filter((x) => x.state === 'idle')
    expect(Math.min(...gapsOf(idle.map((x) => x.ts)))).toBeGreaterThanOrEqual(60_000)
    expect(new Set(gapsOf(telemetryOf(r.published, SOIL).map((x) => x.ts)))).toEqual(new Set([900_000]))
    // A missed level reading (no echo) is skipped, not sent late: gaps are whole 5-minute steps.
    for (const g of gapsOf(telemetryOf(r.published, BANK).map((x) => x.ts))) expect(g % 300_000).toBe(0)
  })
})

describe('firmware: offline buffer', { timeout: 30_000 }, () => {
  const from = DAY0 + 10 * H
  const outage = { fromMs: from + H, toMs: from + H + 10 * 60_000 }

  it('replays readings of a 10-minute broker outage in order, with their original ts and no seq gap', () => {
    const r = run({ fromMs: from, toMs: from + 2 * H, outages: [outage] })
    const got = r.published.filter((p) => p.topic === topicOf(PUMP, 'telemetry'))
    const seqs = got.map((p) => p.payload.seq as number)
    expect([...new Set(seqs)].sort((a, b) => a - b)).toEqual(seqs.map((_, i) => i).slice(0, new Set(seqs).size))
    expect(got.every((p) => p.tMs < outage.fromMs || p.tMs >= outage.toMs)).toBe(true)
    const buffered = got.filter((p) => (p.payload.ts as number) >= outage.fromMs && (p.payload.ts as number) < outage.toMs)
    expect(buffered.length).toBeGreaterThanOrEqual(100) // 10 min at 5 s while pumping
    expect(buffered.every((p) => p.tMs >= outage.toMs)).toBe(true)
    // The same readings as without the outage, only later.
    const calm = telemetryOf(run({ fromMs: from, toMs: from + 2 * H }).published, PUMP)
    expect(new Set(got.map((p) => JSON.stringify(p.payload)))).toEqual(new Set(calm.map((x) => JSON.stringify(x))))
    // Paced by a token bucket (a burst of 20, then 20 a second), not all at once.
    const replay = got.filter((p) => p.tMs >= outage.toMs && (p.payload.ts as number) < outage.toMs)
    const spanS = ((replay.at(-1)?.tMs ?? 0) - (replay[0]?.tMs ?? 0)) / 1000
    expect(spanS).toBeGreaterThanOrEqual((replay.length - 20) / 20 - 0.5)
    // A new birth after reconnecting, same boot.
    const births = r.published.filter((p) => p.topic === topicOf(PUMP, 'status') && p.payload.online === true)
    expect(births.at(-1)?.tMs).toBeGreaterThanOrEqual(outage.toMs)
    expect(births.at(-1)?.payload.boot).toBe(1)
  })

  it('backs off exponentially with jitter while the broker is down', () => {
    const r = run({ fromMs: from, toMs: from + 2 * H, outages: [{ fromMs: from + H, toMs: from + H + 20 * 60_000 }] })
    const tries = r.broker.connects.filter((c) => c.device === PUMP && !c.ok).map((c) => c.tMs)
    const gaps = gapsOf(tries)
    expect(tries.length).toBeGreaterThan(6)
    expect(tries.length).toBeLessThan(40)
    expect(gaps[0]).toBeLessThan(4_000)
    expect(Math.max(...gaps)).toBeGreaterThan(30_000)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(90_000)
    // Jitter: two devices do not retry in step.
    const soilTries = r.broker.connects.filter((c) => c.device === SOIL && !c.ok).map((c) => c.tMs)
    expect(soilTries).not.toEqual(tries)
  })

  it('drops the oldest readings when the buffer is full, which shows as a seq gap', () => {
    const r = run({ fromMs: from, toMs: from + 2 * H, outages: [outage], bufferCapacity: 50 })
    expect(r.fleet.devices.get(PUMP)?.droppedReadings).toBeGreaterThan(50)
    const seqs = [...new Set(telemetryOf(r.published, PUMP).map((x) => x.seq))].sort((a, b) => a - b)
    expect(gapsOf(seqs).some((g) => g > 1)).toBe(true)
  })
})

describe('firmware: commands', { timeout: 30_000 }, () => {
  const from = DAY0 + 10 * H
  const cmd = (atMs: number, id: string, name: string, args?: Record<string, number>, device = PUMP) => ({ atMs, device, cmd: { id, cmd: name, ...(args ? { args } : {}) } as never })
  const acks = (r: ReturnType<typeof run>, device = PUMP) => r.published.filter((p) => p.topic === topicOf(device, 'cmd/ack')).map((p) => CommandAck.parse(p.payload))

  it('acknowledges stop, and the next reading shows the pump stopped until start', () => {
    const stopAt = from + H
    const startAt = from + 2 * H
    const r = run({ fromMs: from, toMs: from + 3 * H, commands: [cmd(stopAt, 'c-stop', 'stop'), cmd(startAt, 'c-start', 'start')] })
    expect(acks(r)).toEqual([{ id: 'c-stop', ok: true }, { id: 'c-start', ok: true }])
    const pump = telemetryOf(r.published, PUMP)
    expect(pump.find((x) => x.ts >= stopAt - 5_000 && x.ts < stopAt)?.state).toBe('running')
    const next = pump.find((x) => x.ts >= stopAt)
    expect(next).toMatchObject({ state: 'off', flow_lpm: 0, motor_rpm: 0 })
    expect((next?.ts ?? 0) - stopAt).toBeLessThan(1_000)
    expect(pump.filter((x) => x.ts > stopAt && x.ts < startAt).every((x) => x.state === 'off')).toBe(true)
    expect(pump.some((x) => x.ts > startAt && x.state === 'running')).toBe(true)
  })

  it('answers bad, unsupported and repeated commands without running them twice', () => {
    const r = run({
      fromMs: from,
      toMs: from + H,
      commands: [
        cmd(from + 60_000, 'c-1', 'set_interval', { seconds: 0 }),
        cmd(from + 70_000, 'c-2', 'stop', undefined, SOIL),
        cmd(from + 80_000, 'c-3', 'stop'),
        cmd(from + 90_000, 'c-4', 'start'),
        cmd(from + 100_000, 'c-3', 'stop'),
      ],
    })
    const a = acks(r)
    expect(a[0]).toMatchObject({ id: 'c-1', ok: false })
    expect(a[0]?.error).toMatch(/seconds/)
    expect(acks(r, SOIL)[0]).toMatchObject({ id: 'c-2', ok: false })
    expect(a.slice(1)).toEqual([{ id: 'c-3', ok: true }, { id: 'c-4', ok: true }, { id: 'c-3', ok: true }])
    const pump = telemetryOf(r.published, PUMP)
    expect(pump.filter((x) => x.ts > from + 100_000 && x.ts < from + 110_000).every((x) => x.state !== 'off')).toBe(true)
  })

  it('changes its cadence on set_interval', () => {
    const at = from + H
    const r = run({ fromMs: from, toMs: from + 2 * H, commands: [cmd(at, 'c-i', 'set_interval', { seconds: 30 })] })
    const running = telemetryOf(r.published, PUMP).filter((x) => x.ts > at + 60_000 && x.state === 'running')
    expect(running.length).toBeGreaterThan(50)
    expect(new Set(gapsOf(running.map((x) => x.ts)))).toEqual(new Set([30_000]))
  })

  it('reboots on command: ack, will, a new boot with seq 0 and a birth', () => {
    const at = from + H
    const r = run({ fromMs: from, toMs: from + 2 * H, commands: [cmd(at, 'c-r', 'reboot')] })
    expect(acks(r)).toEqual([{ id: 'c-r', ok: true }])
    const status = r.published.filter((p) => p.topic === topicOf(PUMP, 'status') && p.tMs >= at)
    expect(status.map((p) => [p.payload.online, p.payload.boot, p.will ?? false])).toEqual([
      [false, 1, true],
      [true, 2, false],
    ])
    const after = telemetryOf(r.published, PUMP).filter((x) => x.boot === 2)
    expect(after[0]?.seq).toBe(0)
    expect(after[0]?.ts).toBeGreaterThan(at)
  })
})
