import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { FrameGuard } from './frame-guard.js'
import { AuthThrottle, LoginThrottle, networkOf } from './throttle.js'

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

describe('login throttle', () => {
  const opts = { pairLimit: 2, addressLimit: 4, windowMs: 60_000, maxKeys: 100 }

  it('never locks a username out by itself: failures from other addresses do not count', () => {
    const t = new LoginThrottle(opts)
    for (let i = 0; i < 100; i++) t.failed(`10.0.${i}.1`, 'pump-1', 0)
    expect(t.refusal('10.9.9.9', 'pump-1', 1)).toBeUndefined()
  })

  it('throttles a pair after its limit, and the address after its own (higher) one', () => {
    const t = new LoginThrottle(opts)
    t.failed('10.0.0.1', 'pump-1', 0)
    t.failed('10.0.0.1', 'pump-1', 0)
    expect(t.refusal('10.0.0.1', 'pump-1', 1)).toBe('throttled username at address')
    expect(t.refusal('10.0.0.1', 'pump-2', 1)).toBeUndefined() // a neighbour behind the same NAT
    t.failed('10.0.0.1', 'a', 0)
    t.failed('10.0.0.1', 'b', 0)
    expect(t.refusal('10.0.0.1', 'pump-2', 1)).toBe('throttled address')
    expect(t.refusal('10.0.0.1', 'pump-2', 60_000)).toBeUndefined() // the window has passed
  })

  it('forgets a pair after its success, not the address', () => {
    const t = new LoginThrottle({ ...opts, addressLimit: 3 })
    t.failed('10.0.0.1', 'pump-1', 0)
    t.failed('10.0.0.1', 'pump-1', 0)
    t.succeeded('10.0.0.1', 'pump-1')
    expect(t.refusal('10.0.0.1', 'pump-1', 1)).toBeUndefined()
    t.failed('10.0.0.1', 'x', 0)
    expect(t.refusal('10.0.0.1', 'pump-1', 1)).toBe('throttled address')
  })

  it('counts an IPv6 address by its /64 and an IPv4-mapped one as IPv4', () => {
    expect(networkOf('2001:db8:0:12:a::1')).toBe('2001:db8:0:12::/64')
    expect(networkOf('2001:0db8:0000:0012:ffff:1:2:3')).toBe('2001:db8:0:12::/64')
    expect(networkOf('2001:db8::5')).toBe('2001:db8:0:0::/64')
    expect(networkOf('::1')).toBe('0:0:0:0::/64')
    expect(networkOf('::ffff:192.0.2.7')).toBe('192.0.2.7')
    expect(networkOf('192.0.2.7')).toBe('192.0.2.7')
    const t = new LoginThrottle(opts)
    for (let i = 0; i < 4; i++) t.failed(`2001:db8:0:12::${i + 1}`, `u${i}`, 0)
    expect(t.refusal('2001:db8:0:12:ffff::9', 'pump-1', 1)).toBe('throttled address')
  })
})
