/**
 * Seeded randomness. One generator is mulberry32 (a single 32-bit state, so a device's random
 * stream costs 4 bytes); streams are derived from a seed and names with an FNV-1a hash, so
 * every farm, device and day gets its own stream and the same seed gives the same readings
 * whatever order the streams are used in.
 */

/** FNV-1a over the parts, then a murmur3 finaliser so near names land far apart. */
export function hashSeed(...parts: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5
  for (const part of parts) {
    const s = `${String(part)}\u0000`
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i)
      h = Math.imul(h, 0x01000193)
    }
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0
  }

  static of(...parts: ReadonlyArray<string | number>): Rng {
    return new Rng(hashSeed(...parts))
  }

  /** Uniform in [0, 1). mulberry32. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  /** Standard normal (Box-Muller), scaled. */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next()
    const v = this.next()
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  int(minIncl: number, maxIncl: number): number {
    return minIncl + Math.floor(this.next() * (maxIncl - minIncl + 1))
  }
}

/** A value in [0, 1) fixed by its key: noise that is a pure function of (seed, name, time bucket). */
export function unitNoise(...parts: ReadonlyArray<string | number>): number {
  return hashSeed(...parts) / 4_294_967_296
}

export const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x)

export const round = (x: number, digits: number): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
