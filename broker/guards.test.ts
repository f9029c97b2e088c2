import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { FrameGuard } from './frame-guard.js'
import { AuthThrottle } from './throttle.js'

const publish = (bytes: number) =>
  mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(bytes), qos: 0, dup: false, retain: false })

describe('frame guard', () => {
  it('lets packets under the limit through, whatever the chunking', () => {
    const stream = Buffer.concat([publish(10), publish(1000), publish(5000), mqttPacket.generate({ cmd: 'pingreq' })])
    for (const size of [1, 2, 3, 7, 100, stream.length]) {
      const guard = new FrameGuard(6000)
      for (let i = 0; i < stream.length; i += size) expect(guard.push(stream.subarray(i, i + size)).ok).toBe(true)
    }
  })

  it('stops at the header of the first oversized packet, before its body arrives', () => {
    const guard = new FrameGuard(6000)
    expect(guard.push(publish(100)).ok).toBe(true)
    const big = publish(70_000)
    const verdict = guard.push(big.subarray(0, 5)) // fixed header only
    expect(verdict).toEqual({ ok: false, packetType: 3, remainingLength: 70_000 + 3 })
  })

  it('refuses a malformed remaining length longer than four bytes', () => {
    const guard = new FrameGuard(1e9)
    expect(guard.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])).ok).toBe(false)
  })
})

describe('auth throttle', () => {
  const opts = { limit: 3, windowMs: 60_000, maxKeys: 2 }

  it('blocks a key after the limit, for the rest of the window', () => {
    const t = new AuthThrottle(opts)
    for (let i = 0; i < 3; i++) {
      expect(t.blockedFor('a', 1000 + i)).toBe(0)
      t.fail('a', 1000 + i)
    }
    expect(t.blockedFor('a', 2000)).toBe(59_000)
    expect(t.blockedFor('a', 61_000)).toBe(0)
  })

  it('forgets failures after a success, and bounds its memory', () => {
    const t = new AuthThrottle(opts)
    t.fail('a', 0)
    t.fail('a', 0)
    t.succeed('a')
    t.fail('a', 0)
    expect(t.blockedFor('a', 1)).toBe(0)
    t.fail('b', 0)
    t.fail('c', 0)
    expect(t.size).toBe(2)
  })
})
