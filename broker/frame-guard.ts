/**
 * Refuses an oversized MQTT packet from its fixed header, before the parser buffers it.
 * Aedes 1.x has no maximum packet size: without this, one client can make the broker buffer up to
 * 256 MB ([MQTT-2.2.3]: Remaining Length is at most 268,435,455). The guard walks packet
 * boundaries over the raw byte stream and reports the first packet over the limit.
 */
export type GuardResult = { ok: true } | { ok: false; packetType: number; remainingLength: number }

export class FrameGuard {
  /** 0: expecting a fixed header byte; 1: reading the remaining length; 2: skipping the body. */
  private phase = 0
  private type = 0
  private length = 0
  private multiplier = 1
  private skip = 0

  constructor(readonly maxRemainingLength: number) {}

  push(chunk: Uint8Array): GuardResult {
    let i = 0
    while (i < chunk.length) {
      if (this.phase === 2) {
        const take = Math.min(this.skip, chunk.length - i)
        this.skip -= take
        i += take
        if (this.skip === 0) this.phase = 0
        continue
      }
      const byte = chunk[i++] as number
      if (this.phase === 0) {
        this.type = byte >> 4
        this.length = 0
        this.multiplier = 1
        this.phase = 1
        continue
      }
      // [MQTT-2.2.3] variable byte integer, 7 bits per byte, at most four bytes
      this.length += (byte & 0x7f) * this.multiplier
      this.multiplier *= 128
      if (byte & 0x80) {
        if (this.multiplier >= 128 ** 4) return { ok: false, packetType: this.type, remainingLength: Number.POSITIVE_INFINITY }
        continue
      }
      if (this.length > this.maxRemainingLength) return { ok: false, packetType: this.type, remainingLength: this.length }
      this.skip = this.length
      this.phase = this.skip === 0 ? 0 : 2
    }
    return { ok: true }
  }
}
