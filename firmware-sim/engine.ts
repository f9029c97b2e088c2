/**
 * Puts a fleet on a clock: live (real time or accelerated) or backfill (history as fast as
 * the broker acknowledges, bounded in flight), with timed fault injections. Shared by the
 * `sim` service and the `suanyang sim` command.
 */
import type { Logger } from '../runtime/logger.js'
import type { FarmSpec } from './farm.js'
import { type Decision, Fleet } from './fleet.js'
import type { TimedFault } from './run.js'
import { RealtimeDriver, Scheduler, type WallClock, runBackfill, systemClock } from './scheduler.js'
import type { TransportFactory } from './transport.js'

export interface EngineOptions {
  farms: readonly FarmSpec[]
  seed: string
  startMs: number
  speed: number
  transport: TransportFactory
  log: Logger
  faults?: readonly TimedFault[]
  bufferCapacity?: number
  wall?: WallClock
}

export const MAX_SPEED = 10_000

export class Engine {
  readonly sched: Scheduler
  readonly fleet: Fleet
  private driver: RealtimeDriver | undefined
  private readonly abort = new AbortController()

  constructor(private readonly o: EngineOptions) {
    this.sched = new Scheduler(o.startMs)
    this.fleet = new Fleet({ farms: o.farms, seed: o.seed, sched: this.sched, transport: o.transport, log: o.log, ...(o.bufferCapacity ? { bufferCapacity: o.bufferCapacity } : {}) })
    this.fleet.speed = o.speed
    for (const f of o.faults ?? []) {
      this.sched.at(f.atMs, () => {
        const d = f.action === 'clear' ? this.fleet.clear(f.device, f.fault) : this.fleet.inject(f.device, f.fault, f.severity)
        if (!d.ok) o.log.warn({ device: f.device, fault: f.fault, reason: d.reason }, 'scheduled fault not applied')
      })
    }
  }

  /** Simulated time follows the wall clock at `speed`. */
  startLive(): void {
    this.driver = new RealtimeDriver(this.sched, this.o.speed, this.o.wall ?? systemClock)
    this.fleet.onSpeed = (speed) => this.setSpeed(speed)
    this.fleet.start()
    this.driver.start()
  }

  setSpeed(speed: number): Decision {
    if (!this.driver) return { ok: false, reason: 'speed is fixed while backfilling' }
    if (!(speed > 0 && speed <= MAX_SPEED)) return { ok: false, reason: `speed must be above 0 and at most ${MAX_SPEED}` }
    this.driver.setSpeed(speed)
    this.fleet.speed = speed
    return { ok: true }
  }

  /**
   * Publishes from the start time to `endMs` as fast as acknowledgements come back, with the
   * true timestamps: the clock waits whenever connected devices hold more than `maxPending`
   * messages not yet acknowledged (each device keeps at most 10 in flight).
   */
  async backfill(endMs: number, opts: { maxPending?: number; connectTimeoutMs?: number; onProgress?: (tMs: number) => void } = {}): Promise<void> {
    const maxPending = opts.maxPending ?? 1_000
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
    this.fleet.unpaced()
    this.fleet.start()
    this.sched.runUntil(this.o.startMs + this.fleet.connectSpreadMs)
    const deadline = Date.now() + (opts.connectTimeoutMs ?? 30_000)
    while (this.fleet.disconnected() > 0 && Date.now() < deadline && !this.abort.signal.aborted) await sleep(20)
    if (this.fleet.disconnected() > 0) this.o.log.warn({ disconnected: this.fleet.disconnected() }, 'backfill starts with devices not connected: they buffer')
    await runBackfill(this.sched, endMs, { ready: () => (this.fleet.pending() > maxPending ? sleep(2) : undefined) }, this.abort.signal, opts.onProgress)
    // Let the last messages reach the broker.
    const drainBy = Date.now() + 30_000
    while (this.fleet.backlog() > 0 && Date.now() < drainBy && !this.abort.signal.aborted) await sleep(10)
  }

  async close(graceful: boolean): Promise<void> {
    this.abort.abort()
    this.driver?.stop()
    await this.fleet.close(graceful)
    this.sched.clear()
  }
}
