/**
 * Runs farms over simulated time against an in-memory broker and returns what the broker got:
 * the whole firmware (cadence, seq, buffer, will, commands) without a socket or a timer. A day
 * of a farm takes well under a second; tests assert fault signatures on its output.
 */
import type { Command } from '../contracts/payloads.js'
import type { FaultScenario } from '../contracts/sim-control.js'
import { topicOf } from '../contracts/topics.js'
import { silentLogger } from '../runtime/logger.js'
import type { FarmSpec } from './farm.js'
import { Fleet } from './fleet.js'
import { Scheduler } from './scheduler.js'
import { LoopBroker, type Published } from './transport.js'

export interface TimedFault {
  atMs: number
  device: string
  fault: FaultScenario
  action?: 'inject' | 'clear'
  severity?: number
}

export interface RunOptions {
  farms: readonly FarmSpec[]
  seed: string
  fromMs: number
  toMs: number
  faults?: readonly TimedFault[]
  commands?: ReadonlyArray<{ atMs: number; device: string; cmd: Command }>
  /** Broker outages: every connection drops and connects are refused. */
  outages?: ReadonlyArray<{ fromMs: number; toMs: number }>
  bufferCapacity?: number
}

export interface RunResult {
  published: Published[]
  fleet: Fleet
  broker: LoopBroker
}

export function runModel(opts: RunOptions): RunResult {
  const sched = new Scheduler(opts.fromMs)
  const broker = new LoopBroker(sched)
  const fleet = new Fleet({ farms: opts.farms, seed: opts.seed, sched, transport: broker.transport, log: silentLogger, ...(opts.bufferCapacity ? { bufferCapacity: opts.bufferCapacity } : {}) })
  for (const f of opts.faults ?? []) {
    sched.at(f.atMs, () => {
      const d = f.action === 'clear' ? fleet.clear(f.device, f.fault) : fleet.inject(f.device, f.fault, f.severity)
      if (!d.ok) throw new Error(d.reason)
    })
  }
  for (const c of opts.commands ?? []) {
    sched.at(c.atMs, () => {
      const dev = fleet.devices.get(c.device)
      if (!dev) throw new Error(`no device ${c.device}`)
      broker.deliver(topicOf(dev.at, 'cmd'), c.cmd)
    })
  }
  for (const o of opts.outages ?? []) {
    sched.at(o.fromMs, () => broker.setDown(true))
    sched.at(o.toMs, () => broker.setDown(false))
  }
  fleet.start()
  sched.runUntil(opts.toMs)
  return { published: broker.published, fleet, broker }
}

/** Telemetry payloads of one device, in the order the broker got them. */
export function telemetryOf(published: readonly Published[], device: string): Array<Record<string, unknown> & { ts: number; seq: number; boot: number }> {
  return published
    .filter((p) => p.topic.endsWith(`/${device}/telemetry`))
    .map((p) => p.payload as Record<string, unknown> & { ts: number; seq: number; boot: number })
}
