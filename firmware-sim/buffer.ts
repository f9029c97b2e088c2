/**
 * The firmware's bounded offline queue (a ring buffer, as in flash on an ESP32): readings wait
 * here while the link is down and are replayed in order with their original ts and seq. When it
 * is full the oldest reading is dropped and counted, so a long outage shows as a seq gap rather
 * than a crash.
 */

export interface Queued {
  topic: string
  payload: string
}

export class OfflineBuffer {
  private items: Array<Queued | undefined>
  private head = 0
  private count = 0
  dropped = 0

  constructor(readonly capacity: number) {
    this.items = new Array<Queued | undefined>(Math.min(capacity, 64))
  }

  get length(): number {
    return this.count
  }

  push(item: Queued): void {
    if (this.count === this.capacity) {
      this.shift()
      this.dropped++
    }
    if (this.count === this.items.length) this.grow()
    this.items[(this.head + this.count) % this.items.length] = item
    this.count++
  }

  /** Puts items back at the front, keeping their order (messages that were in flight when the link died). */
  unshiftAll(front: readonly Queued[]): void {
    for (let i = front.length - 1; i >= 0; i--) {
      const item = front[i] as Queued
      if (this.count === this.capacity) {
        this.dropped++
        continue
      }
      if (this.count === this.items.length) this.grow()
      this.head = (this.head - 1 + this.items.length) % this.items.length
      this.items[this.head] = item
      this.count++
    }
  }

  shift(): Queued | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.items.length
    this.count--
    return item
  }

  private grow(): void {
    const size = Math.min(this.capacity, Math.max(1, this.items.length * 2))
    const next = new Array<Queued | undefined>(size)
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length]
    this.items = next
    this.head = 0
  }
}
