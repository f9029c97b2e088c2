import { describe, expect, it } from 'vitest'
import { FarmGate, farmOfTopic } from './farm-gate.js'

/** A registry copy that learns `added` only on a read begun after it was added. */
function world() {
  const copy = new Set(['real-01'])
  const registry = new Set(['real-01'])
  let reads = 0
  let release: () => void = () => undefined
  let now = 0
  const gate = new FarmGate({
    known: (f) => copy.has(f),
    fresh: () =>
      new Promise<void>((resolve) => {
        reads++
        release = () => {
          for (const f of registry) copy.add(f)
          resolve()
        }
      }),
    onError: (err) => {
      throw err
    },
    now: () => now,
  })
  return { gate, registry, reads: () => reads, release: () => release(), tick: (ms: number) => (now += ms) }
}
const settle = () => new Promise((r) => setImmediate(r))

describe('the farm gate', () => {
  it('lets known farms through at once and holds an unknown one until a fresh read, in order', async () => {
    const w = world()
    const out: string[] = []
    w.gate.pass('real-01', () => out.push('real 1'))
    w.registry.add('train-01') // the simulator registers its training farm...
    w.gate.pass('train-01', () => out.push('train 1')) // ...and its first reading arrives before the poll
    w.gate.pass('train-01', () => out.push('train 2'))
    w.gate.pass('real-01', () => out.push('real 2'))
    expect(out).toEqual(['real 1', 'real 2'])
    expect(w.gate.waitingCount).toBe(2)
    expect(w.reads()).toBe(1) // one read for the farm, not one per reading
    w.release()
    await settle()
    expect(out).toEqual(['real 1', 'real 2', 'train 1', 'train 2'])
    expect(w.gate.waitingCount).toBe(0)
    w.gate.pass('train-01', () => out.push('train 3'))
    expect(out.at(-1)).toBe('train 3')
  })

  it('a farm the registry does not have costs one read a second, not one per reading', async () => {
    const w = world()
    const out: number[] = []
    w.gate.pass('nowhere', () => out.push(1))
    w.release()
    await settle()
    for (let i = 2; i <= 100; i++) w.gate.pass('nowhere', () => out.push(i))
    expect(out).toHaveLength(100)
    expect(w.reads()).toBe(1)
    w.tick(1_500)
    w.gate.pass('nowhere', () => out.push(101))
    expect(w.reads()).toBe(2)
  })

  it('reads the farm from the topic', () => {
    expect(farmOfTopic('farm/ranong-01/pump/p1/telemetry')).toBe('ranong-01')
    expect(farmOfTopic('farm//pump')).toBeUndefined()
    expect(farmOfTopic('sim/control')).toBeUndefined()
    expect(farmOfTopic('farm/x')).toBeUndefined()
  })
})
