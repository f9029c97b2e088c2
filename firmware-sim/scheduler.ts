/**
 * One timer queue for every simulated device (a binary heap of due times), instead of thousands
 * of setIntervals. Time is simulated epoch ms; a driver decides how it relates to the wall clock:
 * `runUntil` (tests: a day in milliseconds), `RealtimeDriver` (speed 1 or accelerated) and
 * `BackfillDriver` (history as fast as the pipeline accepts). Events run at their exact due
 * time, so readings do not depend on how late a timer fired.
 */

interface Entry {
  due: number
  order: number
  fn: () => void
  cancelled: boolean
}

export interface TimerHandle {
  cancel(): void
}

export class Scheduler {
  private heap: Entry[] = []
  private order = 0
  private current: number
  private inEvent = false
  /** Where the wall clock says simulated time is; the realtime driver sets it. */
  timeSource: (() => number) | undefined
  /** Called when a new event becomes the earliest (the realtime driver re-arms its timer). */
  onNewHead: (() => void) | undefined

  constructor(startMs: number) {
    this.current = startMs
  }

  /** Simulated now: the running event's due time, or the driver's clock between events. */
  now(): number {
    if (this.inEvent) return this.current
    const wall = this.timeSource?.()
    return wall !== undefined && wall > this.current ? wall : this.current
  }

  nextDue(): number | undefined {
    return this.heap[0]?.due
  }

  at(due: number, fn: () => void): TimerHandle {
    const entry: Entry = { due: Math.max(due, this.current), order: this.order++, fn, cancelled: false }
    this.push(entry)
    if (this.heap[0] === entry) this.onNewHead?.()
    return { cancel: () => void (entry.cancelled = true) }
  }

  after(delayMs: number, fn: () => void): TimerHandle {
    return this.at(this.now() + delayMs, fn)
  }

  /** Runs every event due at or before `tMs`, in order, then sets now to `tMs`. Returns how many ran. */
  runUntil(tMs: number, maxEvents = Infinity): number {
    let ran = 0
    while (ran < maxEvents) {
      const top = this.heap[0]
      if (!top || top.due > tMs) break
      this.pop()
      if (top.cancelled) continue
      this.current = Math.max(this.current, top.due)
      this.inEvent = true
      try {
        top.fn()
      } finally {
        this.inEvent = false
      }
      ran++
    }
    if (ran < maxEvents) this.current = Math.max(this.current, tMs)
    return ran
  }

  clear(): void {
    this.heap = []
  }

  private less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order)
  }

  private push(e: Entry): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = h[p] as Entry
      if (!this.less(e, parent)) break
      h[i] = parent
      i = p
    }
    h[i] = e
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop()
    if (last === undefined || h.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      let best = last
      const left = h[l]
      const right = h[r]
      if (left && this.less(left, best)) {
        m = l
        best = left
      }
      if (right && this.less(right, best)) {
        m = r
        best = right
      }
      if (m === i) break
      h[i] = best
      i = m
    }
    h[i] = last
  }
}

export interface WallClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: WallClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
}

/** Simulated time runs at `speed` times the wall clock, from `simStartMs`. One timer at a time. */
export class RealtimeDriver {
  private anchorWall: number
  private anchorSim: number
  private timer: unknown
  private stopped = true
  private firing = false

  constructor(
    private readonly sched: Scheduler,
    private speed: number,
    private readonly wall: WallClock = systemClock,
  ) {
    this.anchorWall = wall.now()
    this.anchorSim = sched.now()
  }

  get currentSpeed(): number {
    return this.speed
  }

  simNow(): number {
    return this.anchorSim + (this.wall.now() - this.anchorWall) * this.speed
  }

  start(): void {
    this.stopped = false
    this.anchorWall = this.wall.now()
    this.anchorSim = this.sched.now()
    this.sched.timeSource = () => this.simNow()
    this.sched.onNewHead = () => {
      if (!this.firing) this.arm()
    }
    this.arm()
  }

  setSpeed(speed: number): void {
    this.anchorSim = this.simNow()
    this.anchorWall = this.wall.now()
    this.speed = speed
    this.arm()
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) this.wall.clearTimeout(this.timer)
    this.timer = undefined
    this.sched.timeSource = undefined
    this.sched.onNewHead = undefined
  }

  private arm(): void {
    if (this.stopped) return
    if (this.timer !== undefined) this.wall.clearTimeout(this.timer)
    const due = this.sched.nextDue()
    if (due === undefined) {
      this.timer = this.wall.setTimeout(() => this.fire(), 1_000)
      return
    }
    const delay = Math.max(0, Math.min(60_000, (due - this.simNow()) / this.speed))
    this.timer = this.wall.setTimeout(() => this.fire(), delay)
  }

  private fire(): void {
    this.timer = undefined
    this.firing = true
    try {
      // A bounded batch per timer keeps the event loop free for sockets.
      this.sched.runUntil(this.simNow(), 5_000)
    } finally {
      this.firing = false
    }
    this.arm()
  }
}

export interface BackfillGate {
  /** Resolves when the pipeline can take more (bounded in-flight, devices connected). */
  ready(): Promise<void> | undefined
}

/**
 * Runs simulated time from now to `endMs` as fast as the gate allows: after every few events it
 * waits for the gate and yields to the event loop so sockets and acks make progress.
 */
export async function runBackfill(sched: Scheduler, endMs: number, gate: BackfillGate, signal?: AbortSignal, onProgress?: (tMs: number) => void): Promise<void> {
  let lastProgress = 0
  while (!signal?.aborted) {
    const due = sched.nextDue()
    if (due === undefined || due > endMs) break
    sched.runUntil(due, 200)
    const wait = gate.ready()
    if (wait) await wait
    else await new Promise<void>((resolve) => setImmediate(resolve))
    if (onProgress && due - lastProgress >= 3_600_000) {
      lastProgress = due
      onProgress(due)
    }
  }
  if (!signal?.aborted) sched.runUntil(endMs)
}
