/**
 * Following the registry from a process's memory (issue 14): `read` runs once at start and
 * again whenever the change mark (`changeMark`, one cheap query on both databases) has moved,
 * polled every `intervalMs`; `refresh()` reads at once (after a write in this process). One read
 * at a time; a failed read keeps the previous value and is reported.
 */
import type { Registry } from './index.js'

export const WATCH_INTERVAL_MS = 250
/** How long the counter must stand still before the window below it closes. */
const SETTLE_MS = 5_000

export interface ChangeMark {
  /** Equal marks: nothing changed in between. */
  mark: string
  /** The newest audit id (for metrics and logs). */
  latestId: number
}

/**
 * The audit log's counter, read with a window below it: a PostgreSQL transaction can commit a
 * lower id after a higher one was read, so the newest id alone would miss that change. The
 * count of rows above `base` catches it; `base` moves up once the counter stood still for
 * SETTLE_MS (whatever was in flight below it has landed by then).
 */
export function changeMark(registry: Registry, now: () => number = Date.now): () => Promise<ChangeMark> {
  let base = 0
  let lastId = -1
  let lastMovedMs = now()
  return async () => {
    const { latestId, count } = await registry.audit.since(base)
    if (latestId !== lastId) {
      lastId = latestId
      lastMovedMs = now()
    } else if (now() - lastMovedMs >= SETTLE_MS && base < latestId) {
      base = latestId
    }
    return { mark: `${base}:${latestId}:${count}`, latestId }
  }
}

export interface WatchOptions<T> {
  read(registry: Registry): Promise<T>
  onChange(value: T, changeId: number): void
  onError(err: unknown): void
  intervalMs?: number
}

export class RegistryWatch<T> {
  private seen: string | undefined
  private readonly mark: () => Promise<ChangeMark>
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor(
    private readonly registry: Registry,
    private readonly opts: WatchOptions<T>,
  ) {
    this.mark = changeMark(registry)
  }

  /** The first read: its error reaches the caller (a process that cannot read its registry does not start). */
  async start(): Promise<void> {
    await this.refresh()
    this.timer = setInterval(() => void this.refresh().catch((err: unknown) => this.opts.onError(err)), this.opts.intervalMs ?? WATCH_INTERVAL_MS)
    this.timer.unref()
  }

  refresh(): Promise<void> {
    this.running ??= this.read().finally(() => (this.running = undefined))
    return this.running
  }

  /** A read that begins after this call (one already running may have read the registry before a change the caller knows of). */
  async fresh(): Promise<void> {
    await this.running?.catch(() => undefined)
    await this.refresh()
  }

  private async read(): Promise<void> {
    const { mark, latestId } = await this.mark()
    if (mark === this.seen) return
    const value = await this.opts.read(this.registry)
    this.seen = mark
    this.opts.onChange(value, latestId)
  }

  close(): void {
    clearInterval(this.timer)
  }
}
