import { describe, expect, it } from 'vitest'
import { OfflineBuffer } from './buffer.js'
import { RealtimeDriver, Scheduler, type WallClock, runBackfill } from './scheduler.js'

describe('Scheduler', () => {
  it('runs events in time order, ties in insertion order, skips cancelled ones', () => {
    const s = new Scheduler(1_000)
    const seen: string[] = []
    s.at(3_000, () => seen.push('c'))
    s.at(2_000, () => seen.push('a'))
    s.at(2_000, () => seen.push('b'))
    s.at(2_500, () => seen.push('x')).cancel()
    s.at(4_000, () => seen.push('late'))
    expect(s.runUntil(3_500)).toBe(3)
    expect(seen).toEqual(['a', 'b', 'c'])
    expect(s.now()).toBe(3_500)
  })

  it('lets an event schedule another one inside the same run, at its own due time', () => {
    const s = new Scheduler(0)
    const times: number[] = []
    const tick = () => {
      times.push(s.now())
      if (times.length < 5) s.after(1_000, tick)
    }
    s.at(500, tick)
    s.runUntil(10_000)
    expect(times).toEqual([500, 1_500, 2_500, 3_500, 4_500])
  })

  it('keeps thousands of timers in one heap, in order', () => {
    const s = new Scheduler(0)
    const due: number[] = []
    let seed = 1
    for (let i = 0; i < 5_000; i++) {
      seed = (seed * 16_807) % 2_147_483_647
      const t = seed % 100_000
      s.at(t, () => due.push(t))
    }
    s.runUntil(100_000)
    expect(due.length).toBe(5_000)
    expect(due).toEqual([...due].sort((a, b) => a - b))
  })
})

/** A wall clock the test moves by hand. */
function fakeWall(): WallClock & { advance(ms: number): void } {
  let now = 0
  let timers: Array<{ at: number; fn: () => void; id: number }> = []
  let next = 0
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = next++
      timers.push({ at: now + ms, fn, id })
      return id
    },
    clearTimeout: (h) => {
      timers = timers.filter((t) => t.id !== h)
    },
    advance(ms) {
      const end = now + ms
      for (;;) {
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0]
        if (!due) break
        timers = timers.filter((t) => t !== due)
        now = due.at
        due.fn()
      }
      now = end
    },
  }
}

describe('RealtimeDriver', () => {
  it('maps wall time to simulated time at the given speed, and changes speed on the fly', () => {
    const wall = fakeWall()
    const s = new Scheduler(1_000_000)
    const fired: number[] = []
    for (let i = 1; i <= 10; i++) s.at(1_000_000 + i * 60_000, () => fired.push(s.now()))
    const d = new RealtimeDriver(s, 60, wall)
    d.start()
    wall.advance(3_000) // 3 s at speed 60: three simulated minutes
    expect(fired).toEqual([1_060_000, 1_120_000, 1_180_000])
    d.setSpeed(600)
    wall.advance(600) // six more minutes
    expect(fired.length).toBe(9)
    d.stop()
    wall.advance(60_000)
    expect(fired.length).toBe(9)
  })

  it('wakes early for an event scheduled sooner than its armed timer', () => {
    const wall = fakeWall()
    const s = new Scheduler(0)
    const fired: number[] = []
    s.at(3_600_000, () => fired.push(s.now()))
    const d = new RealtimeDriver(s, 1, wall)
    d.start()
    s.after(2_000, () => fired.push(s.now()))
    wall.advance(2_000)
    expect(fired).toEqual([2_000])
    d.stop()
  })
})

describe('runBackfill', () => {
  it('runs simulated time to the end, waiting on the gate', async () => {
    const s = new Scheduler(0)
    let n = 0
    for (let i = 0; i < 1_000; i++) s.at(i * 1_000, () => n++)
    let waits = 0
    await runBackfill(s, 500_000, { ready: () => (n % 100 === 0 ? ((waits++), Promise.resolve()) : undefined) })
    expect(n).toBe(501)
    expect(waits).toBeGreaterThan(0)
    expect(s.now()).toBe(500_000)
  })
})

describe('OfflineBuffer', () => {
  it('keeps order, drops the oldest when full, and puts items back at the front', () => {
    const b = new OfflineBuffer(3)
    for (const p of ['1', '2', '3', '4']) b.push({ topic: 't', payload: p })
    expect(b.dropped).toBe(1)
    const first = b.shift()
    expect(first?.payload).toBe('2')
    b.unshiftAll([{ topic: 't', payload: '2' }])
    expect([b.shift(), b.shift(), b.shift(), b.shift()].map((x) => x?.payload)).toEqual(['2', '3', '4', undefined])
  })

  it('grows as needed up to its capacity', () => {
    const b = new OfflineBuffer(1_000)
    for (let i = 0; i < 1_500; i++) b.push({ topic: 't', payload: String(i) })
    expect(b.length).toBe(1_000)
    expect(b.shift()?.payload).toBe('500')
  })
})
