/**
 * The two hash formats of runtime/secrets.ts: generated secrets under the keyed hash (cheap, on
 * the caller's thread), people's passwords under scrypt, and old scrypt hashes of generated
 * secrets still accepted.
 */
import { describe, expect, it } from 'vitest'
import { DUMMY_PASSWORD_HASH, DUMMY_SECRET_HASH, hashPassword, hashSecret, isKeyed, newSecret, verifyKeyed, verifySecret } from './secrets.js'

describe('generated secrets', () => {
  it('are kept under a salted keyed hash that only the secret itself matches', async () => {
    const secret = newSecret()
    const a = hashSecret(secret)
    const b = hashSecret(secret)
    expect(a).toMatch(/^hmac-sha256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    expect(a).not.toBe(b) // salted: equal secrets do not give equal hashes
    expect(a).not.toContain(secret)
    expect(verifyKeyed(secret, a)).toBe(true)
    expect(await verifySecret(secret, b)).toBe(true)
    expect(verifyKeyed(newSecret(), a)).toBe(false)
    expect(verifyKeyed(`${secret}x`, a)).toBe(false)
    expect(verifyKeyed(secret.slice(1), a)).toBe(false)
  })

  it('never take a short or hand-typed password', () => {
    expect(() => hashSecret('device-password')).toThrow(/hashPassword/)
    expect(() => hashSecret('a'.repeat(21))).toThrow(/generated secrets/)
    expect(() => hashSecret(`${newSecret()} `)).toThrow(/generated secrets/)
    expect(() => hashSecret('ก'.repeat(30))).toThrow(/generated secrets/)
  })

  it('are checked in microseconds, not milliseconds: a reconnect storm costs the broker no slow hash', () => {
    const secret = newSecret()
    const hash = hashSecret(secret)
    const t0 = performance.now()
    for (let i = 0; i < 1_000; i++) verifyKeyed(secret, hash)
    // 1,000 checks: ~2 ms here; one scrypt at the production cost takes ~60 ms (a loose bound).
    expect(performance.now() - t0).toBeLessThan(500)
  })

  it('malformed hashes are a refusal, never a throw', async () => {
    const secret = newSecret()
    for (const bad of ['', 'hmac-sha256', 'hmac-sha256$', 'hmac-sha256$$', `${hashSecret(secret)}$extra`, 'md5$a$b', 'scrypt$x$y$z$a$b', 'scrypt$16384$8$1$$', 'scrypt$3$8$1$a$b', 'scrypt$1099511627776$8$1$a$b']) {
      expect(verifyKeyed(secret, bad)).toBe(false)
      expect(await verifySecret(secret, bad)).toBe(false)
    }
    expect(verifyKeyed(secret, DUMMY_SECRET_HASH)).toBe(false)
    expect(isKeyed(DUMMY_SECRET_HASH)).toBe(true)
  })
})

describe('passwords people choose', () => {
  it('are kept under scrypt at the production cost, and old scrypt hashes of generated secrets still pass', async () => {
    const password = 'สวนยาง-2569-ranong'
    const hash = await hashPassword(password)
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/)
    expect(isKeyed(hash)).toBe(false)
    expect(await verifySecret(password, hash)).toBe(true)
    expect(await verifySecret(`${password}!`, hash)).toBe(false)
    expect(await verifySecret(password, DUMMY_PASSWORD_HASH)).toBe(false)
    // An MQTT account imported from an old accounts.json: a generated secret under scrypt.
    const secret = newSecret()
    const old = await hashPassword(secret)
    expect(await verifySecret(secret, old)).toBe(true)
    expect(verifyKeyed(secret, old)).toBe(false)
  })
})
