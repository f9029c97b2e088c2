/**
 * Password hashing for device and service accounts: scrypt (RFC 7914) with a random salt, and
 * constant-time comparison. Secrets are 128-bit random, printed once, never stored in clear.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

const N = 16_384
const R = 8
const P = 1
const KEY_BYTES = 32

/** A random secret of 128 bits and more, URL-safe so it pastes into firmware config as is. */
export function newSecret(bytes = 18): string {
  return randomBytes(bytes).toString('base64url')
}

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N: n, r, p, maxmem: 256 * n * r }, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/** `scrypt$N$r$p$salt$hash`, base64url parts. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(secret, salt, N, R, P)
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/**
 * A hash in the same format and with the same cost as hashSecret's that no secret matches (random
 * salt and key): checking a password of an unknown account against it costs what a real check
 * costs, so the time to the answer does not tell whether the account exists.
 */
export const DUMMY_HASH = ['scrypt', N, R, P, randomBytes(16).toString('base64url'), randomBytes(KEY_BYTES).toString('base64url')].join('$')

export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const [algo, n, r, p, salt, hash] = encoded.split('$')
  if (algo !== 'scrypt' || !n || !r || !p || salt === undefined || hash === undefined) return false
  const expected = Buffer.from(hash, 'base64url')
  const key = await scryptAsync(secret, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p))
  return key.length === expected.length && timingSafeEqual(key, expected)
}

/** Constant-time equality of two strings of any length (compares fixed-size digests). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest()
  const db = createHash('sha256').update(b).digest()
  return timingSafeEqual(da, db)
}
