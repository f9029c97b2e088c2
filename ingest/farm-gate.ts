/**
 * Where a reading goes depends on its farm's registry entry (a training farm's readings are kept
 * apart, issue 16), and ingest follows the registry by polling it. A farm added a moment ago (the
 * simulator registers its training farm, then its devices connect and publish at once) is not
 * in ingest's copy yet: its first readings would have been stored among real data.
 *
 * The gate holds the readings of a farm ingest does not know until one read of the registry that
 * began after they arrived, then lets them through in order. Readings of known farms never wait.
 * A farm still unknown after that read (not in the registry at all) is remembered for a while
 * and not looked up again for each reading, so a stream from it costs one query a second at most.
 * Held readings are not acknowledged yet: the broker still holds them if ingest stops.
 */
export interface FarmGateOptions {
  known(farm: string): boolean
  /** A read of the registry that starts after this call. */
  fresh(): Promise<void>
  onError(err: unknown): void
  now(): number
  /** How long a farm found unknown is let through without another read. */
  unknownForMs?: number
}

const MAX_REMEMBERED = 10_000

export class FarmGate {
  private readonly waiting = new Map<string, Array<() => void>>()
  private readonly unknownSince = new Map<string, number>()
  private held = 0

  constructor(private readonly opts: FarmGateOptions) {}

  /** Runs `handle` now, or once the registry has been read again for `farm`. */
  pass(farm: string | undefined, handle: () => void): void {
    if (this.open(farm)) handle()
    else this.hold(farm as string, handle)
  }

  /** True when a reading of `farm` may be handled now (the hot path: no allocation). */
  open(farm: string | undefined): boolean {
    return farm === undefined || (!this.waiting.has(farm) && (this.opts.known(farm) || this.recentlyUnknown(farm)))
  }

  /** Runs `handle` once the registry has been read again for `farm` (after the ones held before it). */
  hold(farm: string, handle: () => void): void {
    const queue = this.waiting.get(farm)
    if (queue) {
      queue.push(handle)
      this.held++
      return
    }
    this.waiting.set(farm, [handle])
    this.held++
    this.opts
      .fresh()
      .catch((err: unknown) => this.opts.onError(err))
      .finally(() => {
        const handles = this.waiting.get(farm) ?? []
        this.waiting.delete(farm)
        this.held -= handles.length
        if (!this.opts.known(farm)) this.remember(farm)
        for (const h of handles) h()
      })
  }

  /** Readings waiting for a registry read now. */
  get waitingCount(): number {
    return this.held
  }

  private recentlyUnknown(farm: string): boolean {
    const since = this.unknownSince.get(farm)
    if (since === undefined) return false
    if (this.opts.now() - since < (this.opts.unknownForMs ?? 1_000)) return true
    this.unknownSince.delete(farm)
    return false
  }

  private remember(farm: string): void {
    if (this.unknownSince.size >= MAX_REMEMBERED) this.unknownSince.clear()
    this.unknownSince.set(farm, this.opts.now())
  }
}

/** `farm/<farm>/...`: the farm; anything else has none (the pipeline judges it). */
export function farmOfTopic(topic: string): string | undefined {
  if (!topic.startsWith('farm/')) return undefined
  const end = topic.indexOf('/', 5)
  return end > 5 ? topic.slice(5, end) : undefined
}
