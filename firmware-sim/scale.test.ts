/**
 * Issue 4 "Scale": one process simulates at least 5,000 devices at realistic rates. 1,000 farms
 * (5,000 devices) for 10 simulated minutes of a March midday, on one scheduler, against the
 * in-memory broker: it must run well ahead of real time, with a small state per device.
 */
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../runtime/logger.js'
import { demoFarms } from './demo.js'
import { Fleet } from './fleet.js'
import { Scheduler } from './scheduler.js'
import { LoopBroker } from './transport.js'

describe('scale', () => {
  it('runs 5,000 devices 10 simulated minutes in a small fraction of that time', { timeout: 120_000 }, () => {
    const start = Date.parse('2026-03-08T11:00:00+07:00')
    const farms = demoFarms({ farms: 1_000, seed: 'scale', training: [] })
    globalThis.gc?.()
    const heapBefore = process.memoryUsage().heapUsed
    const sched = new Scheduler(start)
    const broker = new LoopBroker(sched)
    broker.keep = false
    const fleet = new Fleet({ farms, seed: 'scale', sched, transport: broker.transport, log: silentLogger })
    fleet.start()
    sched.runUntil(start + 60_000) // everyone connected and reporting
    const heapPerDeviceB = (process.memoryUsage().heapUsed - heapBefore) / fleet.devices.size
    const before = broker.count
    const t0 = process.cpuUsage()
    const simulatedMs = 10 * 60_000
    sched.runUntil(start + 60_000 + simulatedMs)
    const cpu = process.cpuUsage(t0)
    const cpuMs = (cpu.user + cpu.system) / 1000
    const messages = broker.count - before
    expect(fleet.devices.size).toBe(5_000)
    expect([...fleet.refused]).toEqual([])
    // Realistic rates: pumps every 5 s while running, banks every 5 min, probes every 15 min.
    expect(messages).toBeGreaterThan(50_000)
    // Well ahead of real time on a shared 2-core machine: at least 10x.
    expect(cpuMs).toBeLessThan(simulatedMs / 10)
    expect(heapPerDeviceB).toBeLessThan(30_000)
    console.log(`scale: 5000 devices, 10 simulated min, ${messages} messages, ${(cpuMs / 1000).toFixed(1)} s CPU (${(simulatedMs / cpuMs).toFixed(0)}x real time), ~${(heapPerDeviceB / 1024).toFixed(1)} KiB heap per device`)
  })
})
