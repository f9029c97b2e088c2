/**
 * Hashing of credentials, two kinds (issue 20, "connect cost for high-entropy device secrets"):
 *
 * - **Generated secrets** (device, service and MQTT viewer/operator accounts): 144 random bits
 *   made by `newSecret`, printed once. Nobody can guess such a secret, so a slow hash adds nothing
 *   but cost: they are kept as a keyed hash, `hmac-sha256$salt$tag` (HMAC-SHA256 keyed with a
 *   random 128-bit salt), checked in about a microsecond on the broker's own thread. A leaked
 *   registry gives an attacker 2^144 candidates per account to try, salted: no table helps.
 *   `hashSecret` refuses anything shorter than 128 bits' worth of base64url, so a person's word
 *   can never end up under the fast hash.
 * - **Passwords people choose** (console sign-in): scrypt (RFC 7914, N 16,384, r 8, p 1) with a
 *   random salt, `scrypt$N$r$p$salt$hash`, on libuv's pool.
 *
 * `verifySecret` checks either format: MQTT accounts imported from an old accounts.json keep
 * their scrypt hashes until they get a new secret. Every comparison is constant-time.
 */
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

const N = 16_384
const R = 8
const P = 1
const KEY_BYTES = 32
const SALT_BYTES = 16
/** 22 base64url characters carry 132 bits: the least a generated secret may have. */
const MIN_SECRET_CHARS = 22
const BASE64URL = /^[A-Za-z0-9_-]+$/

/** A random secret of 128 bits and more, URL-safe so it pastes into firmware config as is. */
export function newSecret(bytes = 18): string {
  return randomBytes(bytes).toString('base64url')
}

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N: n, r, p, maxmem: 256 * n * r }, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

const keyed = (secret: string, salt: Buffer) => createHmac('sha256', salt).update(secret).digest()

/**
 * `hmac-sha256$salt$tag` of a generated secret (newSecret, or a digest of one). Throws for a
 * secret too short or not base64url: those are people's passwords, which hashPassword takes.
 */
export function hashSecret(secret: string): string {
  if (secret.length < MIN_SECRET_CHARS || !BASE64URL.test(secret)) {
    throw new Error('hashSecret takes generated secrets (newSecret) only: use hashPassword for a password a person chose')
  }
  const salt = randomBytes(SALT_BYTES)
  return ['hmac-sha256', salt.toString('base64url'), keyed(secret, salt).toString('base64url')].join('$')
}

/** `scrypt$N$r$p$salt$hash` of a password a person chose. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await scryptAsync(password, salt, N, R, P)
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/**
 * Hashes in each format that no secret matches (random salt and key): checking the password of an
 * unknown account against them costs what a real check costs, so the time to the answer does not
 * tell whether the account exists.
 */
export const DUMMY_SECRET_HASH = ['hmac-sha256', randomBytes(SALT_BYTES).toString('base64url'), randomBytes(KEY_BYTES).toString('base64url')].join('$')
export const DUMMY_PASSWORD_HASH = ['scrypt', N, R, P, randomBytes(SALT_BYTES).toString('base64url'), randomBytes(KEY_BYTES).toString('base64url')].join('$')

/** True when `encoded` is the keyed format, which verifyKeyed answers at once. */
export function isKeyed(encoded: string): boolean {
  return encoded.startsWith('hmac-sha256$')
}

/** The keyed format's answer, on this thread. False for any other format. */
export function verifyKeyed(secret: string, encoded: string): boolean {
  const [algo, salt, tag, extra] = encoded.split('$')
  if (algo !== 'hmac-sha256' || salt === undefined || tag === undefined || extra !== undefined) return false
  const expected = Buffer.from(tag, 'base64url')
  const actual = keyed(secret, Buffer.from(salt, 'base64url'))
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** Either format. Malformed hashes are false, never a throw. */
export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  if (isKeyed(encoded)) return verifyKeyed(secret, encoded)
  const [algo, n, r, p, salt, hash, extra] = encoded.split('$')
  const [cost, block, parallel] = [n, r, p].map(Number) as [number, number, number]
  // Costs outside what hashPassword or an old accounts.json used are refused, never run.
  const sane = Number.isInteger(Math.log2(cost)) && cost >= 2 && cost <= 1 << 20 && Number.isInteger(block) && block >= 1 && block <= 16 && parallel === 1
  if (algo !== 'scrypt' || !sane || !salt || !hash || extra !== undefined) return false
  const expected = Buffer.from(hash, 'base64url')
  const key = await scryptAsync(secret, Buffer.from(salt, 'base64url'), cost, block, parallel)
  return key.length === expected.length && timingSafeEqual(key, expected)
}

/** Constant-time equality of two strings of any length (compares fixed-size digests). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest()
  const db = createHash('sha256').update(b).digest()
  return timingSafeEqual(da, db)
}
