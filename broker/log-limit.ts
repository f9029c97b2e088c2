/**
 * At most one log line per key per interval, with a count of the lines held back, so a flood
 * (10,000 refused logins a second) is visible in the log without the log becoming the load.
 * Pure: the caller passes `now`; memory is bounded by `maxKeys`.
 */
export type Admit = { log: true; suppressed: number } | { log: false }

export class LogLimiter {
  private readonly keys = new Map<string, { at: number; suppressed: number }>()
  constructor(
    readonly intervalMs: number,
    readonly maxKeys = 10_000,
  ) {}

  admit(key: string, now: number): Admit {
    const e = this.keys.get(key)
    if (e && now - e.at < this.intervalMs) {
      e.suppressed += 1
      return { log: false }
    }
    const suppressed = e?.suppressed ?? 0
    this.keys.delete(key) // re-insert: the Map's order is then oldest-logged first
    if (this.keys.size >= this.maxKeys) {
      const oldest = this.keys.keys().next().value
      if (oldest !== undefined) this.keys.delete(oldest)
    }
    this.keys.set(key, { at: now, suppressed: 0 })
    return { log: true, suppressed }
  }
}
