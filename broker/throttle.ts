/**
 * Throttle on repeated authentication failures, per remote address and per username. After
 * `limit` failures inside `windowMs` the key is refused without checking the password (no scrypt
 * work for an attacker) until the window has passed. Pure: the caller passes `now`.
 */
export interface ThrottleOptions {
  limit: number
  windowMs: number
  /** Bound on remembered keys, so a spray of addresses cannot grow memory without end. */
  maxKeys: number
}

interface Entry {
  failures: number
  since: number
}

export class AuthThrottle {
  private readonly entries = new Map<string, Entry>()
  constructor(readonly opts: ThrottleOptions) {}

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  blockedFor(key: string, now: number): number {
    const e = this.entries.get(key)
    if (!e) return 0
    if (now - e.since >= this.opts.windowMs) {
      this.entries.delete(key)
      return 0
    }
    return e.failures >= this.opts.limit ? this.opts.windowMs - (now - e.since) : 0
  }

  fail(key: string, now: number): void {
    const e = this.entries.get(key)
    if (e && now - e.since < this.opts.windowMs) {
      e.failures += 1
      return
    }
    if (this.entries.size >= this.opts.maxKeys) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(key, { failures: 1, since: now })
  }

  succeed(key: string): void {
    this.entries.delete(key)
  }

  get size(): number {
    return this.entries.size
  }
}
