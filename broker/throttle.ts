/**
 * Throttle on repeated authentication failures (issue 13). Pure: the caller passes `now`.
 *
 * Two keys, never the username alone: a spray of wrong passwords for one device id from many
 * addresses must not lock the device out (its id is not a secret, and every device password is a
 * 128-bit random secret, so guessing it is not what the throttle guards against; the cost of a
 * storm is, for the accounts still on an old scrypt hash).
 * - (address, username): `pairLimit` failures in the window and that pair is refused before any
 *   password work. Stops a guesser, or a device with a stale password, from one address.
 * - address: `addressLimit` failures in the window, over any usernames, and the address is
 *   refused before any password work: a storm of names. Higher than `pairLimit`, because many
 *   devices share one carrier-grade NAT address and one of them with a stale password must not
 *   lock the others out (its own pair stops counting once it is throttled).
 * An IPv6 address counts by its /64: one host holds a whole /64 and could rotate through it.
 */
import { isIPv6 } from 'node:net'

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

/** Failures per key inside a fixed window from the first one. */
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

/** The network a remote address counts as: the address itself, or an IPv6 address's /64. */
export function networkOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped?.[1]) return mapped[1]
  if (!isIPv6(address)) return address
  const [head = '', tail = ''] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === '' ? [] : tail.split(':')
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`
}

export interface LoginThrottleOptions {
  pairLimit: number
  addressLimit: number
  windowMs: number
  maxKeys: number
}

export type ThrottleReason = 'throttled address' | 'throttled username at address'

export class LoginThrottle {
  private readonly pairs: AuthThrottle
  private readonly addresses: AuthThrottle

  constructor(opts: LoginThrottleOptions) {
    this.pairs = new AuthThrottle({ limit: opts.pairLimit, windowMs: opts.windowMs, maxKeys: opts.maxKeys })
    this.addresses = new AuthThrottle({ limit: opts.addressLimit, windowMs: opts.windowMs, maxKeys: opts.maxKeys })
  }

  /** Why a login from `address` as `username` is refused before any password work; undefined: check it. */
  refusal(address: string, username: string, now: number): ThrottleReason | undefined {
    const net = networkOf(address)
    if (this.addresses.blockedFor(net, now) > 0) return 'throttled address'
    if (this.pairs.blockedFor(`${net} ${username}`, now) > 0) return 'throttled username at address'
    return undefined
  }

  failed(address: string, username: string, now: number): void {
    const net = networkOf(address)
    this.addresses.fail(net, now)
    this.pairs.fail(`${net} ${username}`, now)
  }

  /** The pair's failures are forgotten; the address's are not (a NAT address may hold an attacker too). */
  succeeded(address: string, username: string): void {
    this.pairs.succeed(`${networkOf(address)} ${username}`)
  }

  get size(): number {
    return this.pairs.size + this.addresses.size
  }
}
