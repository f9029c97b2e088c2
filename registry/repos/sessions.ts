/**
 * Sign-in per person (issue 14): passwords, one-time sign-in links, sessions, and the broker
 * account a session may hold (the console's live view). A session token is 256 random bits the
 * person's browser keeps; only its sha256 is stored, so a copy of the database signs nobody in.
 * Passwords are scrypt hashes (runtime/secrets.ts). Every sign-in, sign-out and password change
 * is an audit row; so is the end of a session, which also moves the change counter: the broker
 * then drops the session's account within its poll.
 *
 * `principal(token)` reads the session and the person's memberships on every call (two indexed
 * lookups), so a person removed, a role taken away or a session ended counts at the next request.
 */
import { createHash } from 'node:crypto'
import { DUMMY_PASSWORD_HASH, hashPassword, newSecret, verifySecret } from '../../runtime/secrets.js'
import type { Grant, Principal } from '../access.js'
import { type Actor, checkActor, writeAudit } from '../audit.js'
import type { Queryable, Row } from '../db.js'
import { mutate, reader, type Scope } from '../entity.js'
import { issue, refusal } from '../messages.js'
import { done, refuse, type Result } from '../result.js'
import { str, text } from '../rows.js'
import type { PersonRole, ServiceAccount } from '../schemas.js'

type UserRole = ServiceAccount['role']

export const SIGN_IN_HOW = ['password', 'link'] as const
export type SignInHow = (typeof SIGN_IN_HOW)[number]

/** 256 bits, base64url: what a browser holds. */
const newToken = (): string => newSecret(32)
export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('base64url')

/** Long enough that a guessed password is the weak point, not the length (NIST 800-63B: at least 8). */
export const PASSWORD_MIN = 10
export const PASSWORD_MAX = 256

export interface SessionStart {
  token: string
  personId: string
  name: string
  locale: string
  expiresAt: string
}

export interface SessionAccount {
  username: string
  role: UserRole
  farms: readonly string[]
}

/** A session's broker username: `web-` and 16 characters of its hash (ID_PATTERN: 32 at most). */
export const sessionUsername = (hash: string): string =>
  `web-${Buffer.from(hash, 'base64url').toString('hex').slice(0, 16)}`

/** A person's own broker login: `v-` (viewer) or `o-` (operator) and 16 hex digits of their id's hash. */
export const personUsername = (personId: string, role: 'viewer' | 'operator'): string =>
  `${role === 'operator' ? 'o' : 'v'}-${createHash('sha256').update(personId).digest('hex').slice(0, 16)}`

export class Sessions {
  constructor(private readonly scope: Scope) {}

  private iso(offsetMs = 0): string {
    return new Date(this.scope.now() + offsetMs).toISOString()
  }

  /** Sets (or replaces) a person's password. Their other sessions stay; `endAll` ends them. */
  async setPassword(personId: string, password: string, actor: Actor): Promise<Result<{ personId: string }>> {
    checkActor(actor)
    if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
      return refuse('invalid', [issue('password', { th: `รหัสผ่านต้องยาว ${PASSWORD_MIN}-${PASSWORD_MAX} ตัวอักษร`, en: `a password is ${PASSWORD_MIN} to ${PASSWORD_MAX} characters` })])
    }
    const hash = await hashPassword(password)
    return mutate(this.scope, async (q) => {
      const changed = await q.run('UPDATE people SET password_hash = $1, updated_at = $2 WHERE id = $3', [hash, this.iso(), personId])
      if (changed === 0) return refuse('not_found', [issue('personId', refusal('notFound', { entity: 'person', id: personId }))])
      await writeAudit(q, this.scope.now(), actor, 'person.password', `person:${personId}`, {})
      return done({ personId })
    })
  }

  /** A one-time link token for `personId`, valid `ttlMs`. The caller shows or sends it; it is not kept. */
  async createLink(personId: string, ttlMs: number, actor: Actor): Promise<Result<{ token: string; expiresAt: string }>> {
    checkActor(actor)
    const token = newToken()
    const expiresAt = this.iso(ttlMs)
    return mutate(this.scope, async (q) => {
      if (!(await q.get('SELECT 1 AS x FROM people WHERE id = $1', [personId]))) {
        return refuse('not_found', [issue('personId', refusal('notFound', { entity: 'person', id: personId }))])
      }
      await q.run('INSERT INTO sign_in_links (token_hash, person_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
        tokenHash(token),
        personId,
        actor.who,
        this.iso(),
        expiresAt,
      ])
      await writeAudit(q, this.scope.now(), actor, 'session.link', `person:${personId}`, { expiresAt })
      return done({ token, expiresAt })
    })
  }

  /** Person and password: a session, or undefined (a wrong password and an unknown person cost the same scrypt). */
  async signInWithPassword(personId: string, password: string, ttlMs: number, how: Actor['how']): Promise<SessionStart | undefined> {
    const row = await reader(this.scope).get<Row>('SELECT password_hash FROM people WHERE id = $1', [personId])
    const hash = text(row?.password_hash)
    const ok = await verifySecret(password, hash ?? DUMMY_PASSWORD_HASH)
    if (!ok || hash === null) return undefined
    return this.start(personId, 'password', ttlMs, how)
  }

  /** A link token: a session, once; undefined when it is unknown, used or expired. */
  async redeemLink(token: string, ttlMs: number, how: Actor['how']): Promise<SessionStart | undefined> {
    const hash = tokenHash(token)
    const result = await mutate(this.scope, async (q) => {
      const row = await q.get<Row>('SELECT person_id, expires_at FROM sign_in_links WHERE token_hash = $1', [hash])
      if (!row) return refuse('not_found', [])
      await q.run('DELETE FROM sign_in_links WHERE token_hash = $1', [hash])
      // Deleting an expired link is still right; it only signs nobody in.
      if (str(row.expires_at) <= this.iso()) return done(undefined)
      return done(await this.startIn(q, str(row.person_id), 'link', ttlMs, how))
    })
    return result.ok ? result.value : undefined
  }

  private start(personId: string, via: SignInHow, ttlMs: number, how: Actor['how']): Promise<SessionStart | undefined> {
    return mutate(this.scope, async (q) => done(await this.startIn(q, personId, via, ttlMs, how))).then((r) => (r.ok ? r.value : undefined))
  }

  private async startIn(q: Queryable, personId: string, via: SignInHow, ttlMs: number, how: Actor['how']): Promise<SessionStart | undefined> {
    const person = await q.get<Row>('SELECT name, locale FROM people WHERE id = $1', [personId])
    if (!person) return undefined
    const token = newToken()
    const expiresAt = this.iso(ttlMs)
    await q.run('INSERT INTO sessions (token_hash, person_id, how, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [tokenHash(token), personId, via, this.iso(), expiresAt])
    await writeAudit(q, this.scope.now(), { who: personId, how }, 'session.start', `person:${personId}`, { via, expiresAt })
    return { token, personId, name: str(person.name), locale: str(person.locale), expiresAt }
  }

  /** Who holds this session token, with their roles now; undefined when it is unknown or expired. */
  async principal(token: string): Promise<(Principal & { name: string; locale: string; sessionHash: string }) | undefined> {
    const hash = tokenHash(token)
    const q = reader(this.scope)
    const row = await q.get<Row>(
      'SELECT s.person_id, s.expires_at, p.name, p.locale FROM sessions s JOIN people p ON p.id = s.person_id WHERE s.token_hash = $1',
      [hash],
    )
    if (!row || str(row.expires_at) <= this.iso()) return undefined
    const id = str(row.person_id)
    return { kind: 'person', id, name: str(row.name), locale: str(row.locale), sessionHash: hash, grants: await this.grants(id) }
  }

  async grants(personId: string): Promise<Grant[]> {
    const rows = await reader(this.scope).all<Row>('SELECT role, farm_id, cooperative_id FROM memberships WHERE person_id = $1', [personId])
    return rows.map((r) => ({ role: str(r.role) as PersonRole, farmId: text(r.farm_id), cooperativeId: text(r.cooperative_id) }))
  }

  /** Ends one session (sign-out). */
  async end(token: string, actor: Actor): Promise<boolean> {
    checkActor(actor)
    const hash = tokenHash(token)
    const r = await mutate(this.scope, async (q) => {
      const row = await q.get<Row>('SELECT person_id FROM sessions WHERE token_hash = $1', [hash])
      if (!row) return refuse('not_found', [])
      await q.run('DELETE FROM sessions WHERE token_hash = $1', [hash])
      await writeAudit(q, this.scope.now(), actor, 'session.end', `person:${str(row.person_id)}`, {})
      return done(true)
    })
    return r.ok
  }

  /** Ends every session of a person (a lost phone, a password reset). The number ended. */
  async endAll(personId: string, actor: Actor): Promise<number> {
    checkActor(actor)
    const r = await mutate(this.scope, async (q) => {
      const n = await q.run('DELETE FROM sessions WHERE person_id = $1', [personId])
      if (n > 0) await writeAudit(q, this.scope.now(), actor, 'session.end', `person:${personId}`, { sessions: n })
      return done(n)
    })
    return r.ok ? r.value : 0
  }

  /** Deletes expired sessions and links (their broker accounts go with them). The number of sessions. */
  async sweep(): Promise<number> {
    const r = await mutate(this.scope, async (q) => {
      const now = this.iso()
      await q.run('DELETE FROM sign_in_links WHERE expires_at <= $1', [now])
      const n = await q.run('DELETE FROM sessions WHERE expires_at <= $1', [now])
      if (n > 0) await writeAudit(q, this.scope.now(), { who: 'system', how: 'system' }, 'session.expire', 'sessions', { sessions: n })
      return done(n)
    })
    return r.ok ? r.value : 0
  }

  /** The session's broker account, if it has one. */
  async account(sessionHash: string): Promise<SessionAccount | undefined> {
    const row = await reader(this.scope).get<Row>('SELECT username, role, farms FROM service_accounts WHERE session_hash = $1', [sessionHash])
    if (!row) return undefined
    const farms = JSON.parse(str(row.farms)) as unknown
    return { username: str(row.username), role: str(row.role) as UserRole, farms: Array.isArray(farms) ? (farms as string[]) : [] }
  }

  /**
   * Gives the session a broker account (or changes its farms): a viewer or operator limited to
   * `farms`, its password's hash given. The account is deleted with the session.
   */
  async setAccount(sessionHash: string, account: SessionAccount, passwordHash: string, actor: Actor): Promise<Result<SessionAccount>> {
    checkActor(actor)
    return mutate(this.scope, async (q) => {
      const farms = JSON.stringify([...account.farms].sort())
      const held = await q.get<Row>('SELECT farms, role FROM service_accounts WHERE session_hash = $1', [sessionHash])
      if (held && str(held.farms) === farms && str(held.role) === account.role) return done(account, false)
      if (!(await q.get('SELECT 1 AS x FROM sessions WHERE token_hash = $1', [sessionHash]))) return refuse('not_found', [])
      if (!held && passwordHash === '') return refuse('not_found', []) // a follow-up of roles for an account gone meanwhile
      const at = this.iso()
      if (held) await q.run('UPDATE service_accounts SET farms = $1, role = $2, updated_at = $3 WHERE session_hash = $4', [farms, account.role, at, sessionHash])
      else {
        await q.run(
          'INSERT INTO service_accounts (username, role, farms, credentials_hash, created_at, updated_at, session_hash) VALUES ($1, $2, $3, $4, $5, $5, $6)',
          [account.username, account.role, farms, passwordHash, at, sessionHash],
        )
      }
      await writeAudit(q, this.scope.now(), actor, held ? 'account.update' : 'account.add', `account:${account.username}`, { role: account.role, farms: JSON.parse(farms) as unknown })
      return done(account)
    })
  }

  /**
   * A person's own broker login (their MQTT tools): a viewer of the farms they may read, or an
   * operator of the farms they may command. Made again with a new password when it exists (the
   * broker closes connections made with the old one). Deleted with the person.
   */
  async setPersonAccount(personId: string, account: SessionAccount, passwordHash: string, actor: Actor): Promise<Result<SessionAccount>> {
    checkActor(actor)
    return mutate(this.scope, async (q) => {
      if (!(await q.get('SELECT 1 AS x FROM people WHERE id = $1', [personId]))) {
        return refuse('not_found', [issue('personId', refusal('notFound', { entity: 'person', id: personId }))])
      }
      const other = await q.get<Row>('SELECT person_id FROM service_accounts WHERE username = $1', [account.username])
      if (other && text(other.person_id) !== personId) return refuse('exists', [issue('username', refusal('exists', { entity: 'account', id: account.username }))])
      if (await q.get('SELECT 1 AS x FROM devices WHERE id = $1', [account.username])) return refuse('exists', [issue('username', refusal('exists', { entity: 'device', id: account.username }))])
      const at = this.iso()
      const farms = JSON.stringify([...account.farms].sort())
      await q.run('DELETE FROM service_accounts WHERE username = $1', [account.username])
      await q.run(
        'INSERT INTO service_accounts (username, role, farms, credentials_hash, created_at, updated_at, person_id) VALUES ($1, $2, $3, $4, $5, $5, $6)',
        [account.username, account.role, farms, passwordHash, at, personId],
      )
      await writeAudit(q, this.scope.now(), actor, other ? 'account.update' : 'account.add', `account:${account.username}`, { person: personId, role: account.role, farms: JSON.parse(farms) as unknown })
      return done(account)
    })
  }

  /** Removes a person's own broker login. */
  async removePersonAccount(personId: string, username: string, actor: Actor): Promise<boolean> {
    checkActor(actor)
    const r = await mutate(this.scope, async (q) => {
      const n = await q.run('DELETE FROM service_accounts WHERE username = $1 AND person_id = $2', [username, personId])
      if (n === 0) return refuse('not_found', [])
      await writeAudit(q, this.scope.now(), actor, 'account.remove', `account:${username}`, { person: personId })
      return done(true)
    })
    return r.ok
  }

  /** Every account that belongs to a person, through a session or their own (to follow role changes). */
  async accounts(): Promise<Array<SessionAccount & { personId: string; sessionHash: string | null }>> {
    const rows = await reader(this.scope).all<Row>(
      `SELECT a.username, a.role, a.farms, a.session_hash, COALESCE(a.person_id, s.person_id) AS person_id
         FROM service_accounts a LEFT JOIN sessions s ON s.token_hash = a.session_hash
        WHERE a.session_hash IS NOT NULL OR a.person_id IS NOT NULL`,
    )
    return rows.map((r) => ({
      username: str(r.username),
      role: str(r.role) as UserRole,
      farms: JSON.parse(str(r.farms)) as string[],
      sessionHash: text(r.session_hash),
      personId: str(r.person_id),
    }))
  }

  /** Changes the farms of a person's account (the follower of role changes). */
  async setAccountFarms(username: string, farms: readonly string[], actor: Actor): Promise<boolean> {
    checkActor(actor)
    const sorted = JSON.stringify([...farms].sort())
    const r = await mutate(this.scope, async (q) => {
      const n = await q.run(
        'UPDATE service_accounts SET farms = $1, updated_at = $2 WHERE username = $3 AND farms <> $1 AND (session_hash IS NOT NULL OR person_id IS NOT NULL)',
        [sorted, this.iso(), username],
      )
      if (n === 0) return done(false, false)
      await writeAudit(q, this.scope.now(), actor, 'account.update', `account:${username}`, { farms: JSON.parse(sorted) as unknown })
      return done(true)
    })
    return r.ok && r.value
  }
}
