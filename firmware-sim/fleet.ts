/**
 * A fleet of simulated farms on one scheduler: builds each farm's model and devices, injects
 * and clears faults, answers trainer control messages, and describes itself for
 * `sim/control/state`. Transport-agnostic: the service gives it MQTT, tests a LoopBroker.
 */
import type { Kind } from '../contracts/names.js'
import { CHANNEL_SPECS } from '../contracts/registry.js'
import { type FaultScenario, SCENARIO_KINDS, type SimAck, type SimControl, type SimState } from '../contracts/sim-control.js'
import type { Address } from '../contracts/topics.js'
import { describeIssues } from '../contracts/decode.js'
import type { Logger } from '../runtime/logger.js'
import { type DeviceContext, REPLAY_PER_S, SimDevice } from './device.js'
import { FarmModel, type FarmSpec } from './farm.js'
import { DEFAULT_SEVERITY, FaultBook } from './faults.js'
import type { Scheduler } from './scheduler.js'
import type { TransportFactory } from './transport.js'

export interface FleetOptions {
  farms: readonly FarmSpec[]
  seed: string
  sched: Scheduler
  transport: TransportFactory
  log: Logger
  /** Readings a device keeps while offline (default 2000: about 3 hours of pumping at 5 s). */
  bufferCapacity?: number
}

export type Decision = { ok: true } | { ok: false; reason: string }

export class Fleet {
  readonly faults = new FaultBook()
  readonly devices = new Map<string, SimDevice>()
  readonly models = new Map<string, FarmModel>()
  /** Outgoing payloads the contract refused (simulator bugs), by channel. */
  readonly refused = new Map<string, number>()
  private readonly ctx: DeviceContext
  /** Set by the owner of the clock: applies a `speed` control message. */
  onSpeed: ((speed: number) => Decision) | undefined
  /** Called after a fault was injected or cleared (the control channel republishes its state). */
  onFaultsChanged: (() => void) | undefined
  speed = 1

  constructor(private readonly opts: FleetOptions) {
    const ctx: DeviceContext = (this.ctx = {
      sched: opts.sched,
      seed: opts.seed,
      log: opts.log,
      transport: opts.transport,
      faultsOf: (device) => this.faults.of(device),
      check: (at, channel, payload) => this.check(at, channel, payload),
      bufferCapacity: opts.bufferCapacity ?? 2_000,
      replayPerS: REPLAY_PER_S,
      connectSpreadMs: 0,
    })
    for (const spec of opts.farms) {
      const model = new FarmModel(spec, opts.seed, opts.sched.now(), () => ({
        pump: this.faults.of(spec.devices.pump),
        waterbank: this.faults.of(spec.devices.waterbank),
      }))
      this.models.set(spec.farm, model)
      const add = (kind: Kind, device: string, plotIndex?: number) => {
        const plot = plotIndex === undefined ? undefined : spec.plots[plotIndex]
        this.devices.set(device, new SimDevice(ctx, spec.farm, kind, device, model, plot))
      }
      add('pump', spec.devices.pump)
      add('waterbank', spec.devices.waterbank)
      spec.plots.forEach((p, i) => add('soil', p.device, i))
    }
    // About 25 first connections a (simulated) second, at most 30 s for the whole fleet, as
    // devices powering up one by one do (a connect is cheap for the broker now, but the
    // simulated fleet should not look like a storm on the dashboards).
    ctx.connectSpreadMs = Math.min(30_000, this.devices.size * 40)
  }

  get connectSpreadMs(): number {
    return this.ctx.connectSpreadMs
  }

  /** Backfill: no time-based replay pace, the acknowledgements set it. */
  unpaced(): void {
    this.ctx.replayPerS = Infinity
  }

  get farms(): readonly FarmSpec[] {
    return this.opts.farms
  }

  start(): void {
    for (const d of this.devices.values()) d.start()
  }

  private check(at: Address, channel: keyof typeof CHANNEL_SPECS, payload: object): boolean {
    const result = CHANNEL_SPECS[channel].schemaFor(at.kind).safeParse(payload)
    if (result.success) return true
    this.refused.set(channel, (this.refused.get(channel) ?? 0) + 1)
    this.opts.log.error({ device: at.device, channel, reason: describeIssues(result.error) }, 'simulator produced a payload the contract refuses')
    return false
  }

  inject(device: string, fault: FaultScenario, severity?: number): Decision {
    const dev = this.devices.get(device)
    if (!dev) return { ok: false, reason: `no simulated device "${device}"` }
    if (!SCENARIO_KINDS[fault].includes(dev.at.kind)) {
      return { ok: false, reason: `${fault} applies to ${SCENARIO_KINDS[fault].join(', ')}, not ${dev.at.kind}` }
    }
    dev.model.advanceTo(this.opts.sched.now())
    this.faults.inject(device, fault, severity ?? DEFAULT_SEVERITY[fault], this.opts.sched.now())
    this.opts.log.info({ device, fault, severity: severity ?? DEFAULT_SEVERITY[fault] }, 'fault injected')
    dev.poke()
    this.onFaultsChanged?.()
    return { ok: true }
  }

  clear(device: string, fault?: FaultScenario): Decision {
    const dev = this.devices.get(device)
    if (!dev) return { ok: false, reason: `no simulated device "${device}"` }
    dev.model.advanceTo(this.opts.sched.now())
    const cleared = this.faults.clear(device, fault)
    for (const f of cleared) dev.faultCleared(f.fault)
    this.opts.log.info({ device, faults: cleared.map((f) => f.fault) }, 'faults cleared')
    dev.poke()
    this.onFaultsChanged?.()
    return { ok: true }
  }

  control(msg: SimControl): SimAck {
    const id = msg.id === undefined ? {} : { id: msg.id }
    let d: Decision
    if (msg.action === 'inject') d = this.inject(msg.device, msg.fault, msg.severity)
    else if (msg.action === 'clear') d = this.clear(msg.device, msg.fault)
    else d = this.onSpeed ? this.onSpeed(msg.speed) : { ok: false, reason: 'speed is fixed in this mode' }
    return d.ok ? { ...id, ok: true } : { ...id, ok: false, error: d.reason.slice(0, 256) }
  }

  /** For `sim/control/state`; device lists are left out when the fleet is large (payload limit). */
  state(maxDevices = 500): SimState {
    const withDevices = this.devices.size <= maxDevices
    return {
      ts: Math.round(this.opts.sched.now()),
      speed: this.speed,
      farms: this.opts.farms.map((f) => ({
        farm: f.farm,
        training: f.training,
        devices: withDevices ? [...this.devices.values()].filter((d) => d.at.farm === f.farm).map((d) => ({ device: d.at.device, kind: d.at.kind })) : [],
      })),
      faults: this.faults.all().map((f) => ({ device: f.device, fault: f.fault, severity: f.severity, since: Math.round(f.sinceMs) })),
    }
  }

  /** Readings waiting or in flight, over every device. */
  backlog(): number {
    let n = 0
    for (const d of this.devices.values()) n += d.backlog
    return n
  }

  /** Messages queued or unacknowledged on connected devices: what the broker has yet to take. */
  pending(): number {
    let n = 0
    for (const d of this.devices.values()) if (d.connected) n += d.backlog
    return n
  }

  connectedCount(): number {
    let n = 0
    for (const d of this.devices.values()) if (d.connected) n++
    return n
  }

  /** Devices that want a connection and do not have one. */
  disconnected(): number {
    let n = 0
    for (const d of this.devices.values()) if (d.expectsConnection && !d.connected) n++
    return n
  }

  async close(graceful: boolean): Promise<void> {
    await Promise.all([...this.devices.values()].map(async (d) => d.close(graceful)))
  }
}
