/**
 * Following the registry from a process's memory (issue 14): `read` runs once at start and
 * again whenever the change counter (`audit.latestId()`, one cheap query on both databases)
 * has moved, polled every `intervalMs`; `refresh()` reads at once (after a write in this
 * process). One read at a time; a failed read keeps the previous value and is reported.
 */
import type { Registry } from './index.js'

export const WATCH_INTERVAL_MS = 250

export interface WatchOptions<T> {
  read(registry: Registry): Promise<T>
  onChange(value: T, changeId: number): void
  onError(err: unknown): void
  intervalMs?: number
}

export class RegistryWatch<T> {
  private seenId = -1
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor(
    private readonly registry: Registry,
    private readonly opts: WatchOptions<T>,
  ) {}

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

  private async read(): Promise<void> {
    const latest = await this.registry.audit.latestId()
    if (latest === this.seenId) return
    const value = await this.opts.read(this.registry)
    this.seenId = latest
    this.opts.onChange(value, latest)
  }

  close(): void {
    clearInterval(this.timer)
  }
}
