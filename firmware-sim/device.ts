/**
 * One simulated ESP32, as its firmware behaves (issue 4 "Firmware behaviour"): telemetry on its
 * cadence with `seq` and `boot`; events from the pump controller; commands answered on
 * `cmd/ack`; power loss, brown-out, reboot and a flapping link. Its connection, offline buffer
 * and replay are the Uplink's. All timing is on the shared Scheduler (simulated time).
 */
import type { Kind } from '../contracts/names.js'
import { type Address, topicOf } from '../contracts/topics.js'
import type { Logger } from '../runtime/logger.js'
import { handleCommand, type CommandReply } from './commands.js'
import type { FarmModel, PlotSpec } from './farm.js'
import { type ActiveFault, linkUp, nextLinkSlotMs } from './faults.js'
import { type ProbeUnit, probeUnit } from './probe.js'
import { type SensorState, browned, pumpReading, soilReading, waterbankReading } from './readings.js'
import { Rng, hashSeed } from './rng.js'
import type { Scheduler, TimerHandle } from './scheduler.js'
import type { TransportFactory } from './transport.js'
import { Uplink } from './uplink.js'

export const FIRMWARE_VERSION = 'sim-1.0.0'

export interface DeviceContext {
  sched: Scheduler
  seed: string
  log: Logger
  transport: TransportFactory
  faultsOf(device: string): readonly ActiveFault[]
  /** Checks an outgoing payload against the contract; a refusal is a simulator bug. */
  check(at: Address, channel: 'telemetry' | 'status' | 'event' | 'cmd/ack', payload: object): boolean
  bufferCapacity: number
  /** Replay pace per device, messages per simulated second (Infinity in backfill: acks pace it). */
  replayPerS: number
  /** Devices first connect spread over this long, so a big fleet does not storm the broker. */
  connectSpreadMs: number
}

/** Telemetry cadence defaults, seconds (domain.md §7 telemetry, issue 4). */
export const CADENCE = { pumpRunning: 5, pumpIdle: 60, waterbank: 300, soil: 900 } as const

export const REPLAY_PER_S = 20
const BOOT_MS = 4_000

export class SimDevice {
  readonly at: Address
  boot = 1
  seq = 0
  interval_s: number
  idle_s: number = CADENCE.pumpIdle
  private powered = true
  private closed = false
  private readonly uplink: Uplink
  private tickTimer: TimerHandle | undefined
  private bootTimer: TimerHandle | undefined
  private lastTelemetryMs = -Infinity
  private lastReadingMs: number
  private lastMode: string | undefined
  readonly sensor: SensorState
  private readonly unit: ProbeUnit
  readonly recentCommands: Array<{ id: string; reply: CommandReply }> = []

  constructor(
    private readonly ctx: DeviceContext,
    farm: string,
    kind: Kind,
    device: string,
    readonly model: FarmModel,
    readonly plot: PlotSpec | undefined,
  ) {
    this.at = { farm, kind, device }
    this.interval_s = kind === 'pump' ? CADENCE.pumpRunning : kind === 'soil' ? CADENCE.soil : CADENCE.waterbank
    const r = Rng.of(ctx.seed, device, 'sensor')
    this.sensor = { rng: r, rssiBase_dbm: Math.round(r.uniform(-95, -60)), soc: r.uniform(0.6, 0.95), stuck: undefined, installedMs: ctx.sched.now() - r.uniform(0, 120) * 86_400_000 }
    this.unit = probeUnit(ctx.seed, device)
    this.lastReadingMs = ctx.sched.now()
    this.uplink = new Uplink(
      {
        sched: ctx.sched,
        transport: ctx.transport,
        clientId: device,
        statusTopic: topicOf(this.at, 'status'),
        cmdTopic: topicOf(this.at, 'cmd'),
        rng: Rng.of(ctx.seed, device, 'net'),
        bufferCapacity: ctx.bufferCapacity,
        replayPerS: () => ctx.replayPerS,
        log: ctx.log.child({ device }),
      },
      {
        mayConnect: () => this.expectsConnection,
        earliestRetryMs: (now) => (this.linkIsUp(now) ? now : nextLinkSlotMs(now)),
        statusPayload: (online) => JSON.stringify({ online, ts: Math.round(ctx.sched.now()), boot: this.boot, fw: FIRMWARE_VERSION }),
        onMessage: (_topic, payload) => this.onCommand(payload),
      },
    )
  }

  get connected(): boolean {
    return this.uplink.connected
  }

  get backlog(): number {
    return this.uplink.backlog
  }

  get droppedReadings(): number {
    return this.uplink.dropped
  }

  /** True when the device wants to be connected: powered, link up. */
  get expectsConnection(): boolean {
    return this.powered && !this.closed && this.linkIsUp(this.ctx.sched.now())
  }

  private get faults(): readonly ActiveFault[] {
    return this.ctx.faultsOf(this.at.device)
  }

  private linkIsUp(nowMs: number): boolean {
    return linkUp(this.faults, this.ctx.seed, this.at.device, nowMs)
  }

  start(): void {
    const now = this.ctx.sched.now()
    const periodMs = this.at.kind === 'pump' ? CADENCE.pumpRunning * 1000 : this.interval_s * 1000
    // Devices of a fleet report at spread-out phases, fixed by their id.
    const phase = hashSeed(this.ctx.seed, this.at.device, 'phase') % periodMs
    const first = Math.ceil((now - phase) / periodMs) * periodMs + phase
    this.tickTimer = this.ctx.sched.at(first, () => this.tick())
    // Devices power up over a few seconds, not in one wave that would storm the broker.
    const spread = Math.max(1, this.ctx.connectSpreadMs)
    this.bootTimer = this.ctx.sched.at(now + (hashSeed(this.ctx.seed, this.at.device, 'boot') % spread), () => {
      this.bootTimer = undefined
      this.uplink.connect()
    })
  }

  /** Re-evaluates power and link now (after a fault was injected or cleared). */
  poke(): void {
    if (this.closed) return
    this.checkPower()
    if (this.powered) this.checkLink()
  }

  private tick(): void {
    if (this.closed) return
    const now = this.ctx.sched.now()
    const st = this.model.advanceTo(now)
    this.checkPower()
    if (this.powered) {
      this.checkLink()
      this.sample(now)
    } else if (this.at.kind === 'pump') {
      this.model.takeEvents() // the controller runs on; its telemetry board is dark
    }
    let nextMs = this.at.kind === 'pump' ? CADENCE.pumpRunning * 1000 : this.interval_s * 1000
    if (this.at.kind === 'pump' && st.ctrl.mode === 'idle' && st.weather.clear_wm2 === 0) nextMs = CADENCE.pumpIdle * 1000
    this.tickTimer = this.ctx.sched.at(now + nextMs, () => this.tick())
  }

  /** Takes this tick's readings and queues what the firmware would send. */
  private sample(now: number): void {
    const st = this.model.state
    const faults = this.faults
    const sinceLast_s = Math.max(0, (now - this.lastReadingMs) / 1000)
    if (this.at.kind === 'pump') {
      for (const { ts, ev } of this.model.takeEvents()) this.enqueueEvent({ ts, type: ev.type, ...(ev.fault !== undefined ? { fault: ev.fault } : {}), ...(ev.detail ? { detail: ev.detail } : {}) })
      const mode = st.ctrl.mode
      const periodMs = (mode === 'running' ? this.interval_s : this.idle_s) * 1000
      if (mode === this.lastMode && now - this.lastTelemetryMs < periodMs) return
      this.lastMode = mode
      this.enqueueTelemetry(now, pumpReading(this.model.spec, st, this.sensor, faults))
    } else if (this.at.kind === 'waterbank') {
      this.lastReadingMs = now
      const body = waterbankReading(this.model.spec, st, this.sensor, faults, sinceLast_s)
      if (body) this.enqueueTelemetry(now, body)
    } else if (this.plot) {
      this.lastReadingMs = now
      const i = this.model.spec.plots.indexOf(this.plot)
      const theta = st.theta[i] ?? this.plot.soil.theta_fc
      this.enqueueTelemetry(now, soilReading(this.model.spec, this.plot, theta, st, this.sensor, this.unit, faults, sinceLast_s))
    }
  }

  /** Reads and sends at once (after a command), outside the cadence. */
  reportNow(): void {
    if (!this.powered || this.at.kind !== 'pump') return
    const now = this.ctx.sched.now()
    this.model.advanceTo(now)
    this.lastMode = undefined
    this.sample(now)
  }

  private enqueueTelemetry(now: number, body: object): void {
    const payload = { ts: Math.round(now), seq: this.seq, boot: this.boot, ...body }
    if (!this.ctx.check(this.at, 'telemetry', payload)) return
    this.seq++
    this.lastTelemetryMs = now
    this.uplink.enqueue(topicOf(this.at, 'telemetry'), JSON.stringify(payload))
  }

  private enqueueEvent(event: { ts: number; type: string; fault?: string | null; detail?: string }): void {
    if (!this.ctx.check(this.at, 'event', event)) return
    this.uplink.enqueue(topicOf(this.at, 'event'), JSON.stringify(event))
  }

  // --- power and link ---

  private checkLink(): void {
    if (!this.linkIsUp(this.ctx.sched.now())) {
      if (!this.uplink.isDown) this.uplink.kill()
    } else {
      this.uplink.reconnectNow()
    }
  }

  private checkPower(): void {
    const off = this.faults.some((f) => f.fault === 'power_loss') || (this.at.kind !== 'pump' && browned(this.sensor.soc))
    if (off && this.powered) {
      this.powered = false
      this.bootTimer?.cancel()
      this.uplink.kill()
    } else if (!off && !this.powered && !this.bootTimer) {
      this.bootAfter(BOOT_MS)
    }
  }

  /** Comes up again after `delayMs`: a new boot, seq from 0, birth on connect. */
  private bootAfter(delayMs: number): void {
    this.powered = false
    this.bootTimer = this.ctx.sched.after(delayMs, () => {
      this.bootTimer = undefined
      if (this.closed || this.faults.some((f) => f.fault === 'power_loss')) return
      this.powered = true
      this.boot++
      this.seq = 0
      this.lastMode = undefined
      this.uplink.reconnectNow()
    })
  }

  // --- commands ---

  private onCommand(raw: Buffer): void {
    const now = this.ctx.sched.now()
    this.model.advanceTo(now)
    const reply = handleCommand(this, raw, now)
    if (this.ctx.check(this.at, 'cmd/ack', reply.ack)) this.uplink.sendNow(topicOf(this.at, 'cmd/ack'), JSON.stringify(reply.ack))
    if (reply.effect === 'report') this.reportNow()
    if (reply.effect === 'reboot') {
      this.uplink.kill()
      this.bootAfter(BOOT_MS)
    }
  }

  /** Fault side effects the physics does not see: a new battery, a cleaned panel. */
  faultCleared(fault: string): void {
    if (fault === 'low_battery') this.sensor.soc = 0.95
    if (fault === 'panel_soiling') this.model.state = { ...this.model.state, soiling: 0 }
  }

  /** Stops for good. `graceful`: the retained status says offline (a shutdown, not a crash). */
  close(graceful: boolean): Promise<void> | void {
    if (this.closed) return
    this.closed = true
    this.tickTimer?.cancel()
    this.bootTimer?.cancel()
    return this.uplink.close(graceful)
  }
}
