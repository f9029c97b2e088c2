/**
 * Buffers kept for a long time (a device's Last Will, a retained message, for as long as the
 * device exists) must not come from Node's shared 8 KB allocation pool: `Buffer.from(small)`
 * takes a slice of the current pool slab, and one long-lived slice keeps the whole slab alive
 * with whatever short-lived slices shared it. With 10,000 devices that held ~7 MB of slabs for
 * ~1 MB of payloads (bench/broker.ts, "array buffers", issue 20).
 */
export function detachedCopy(source: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(source.byteLength)
  out.set(source)
  return out
}
