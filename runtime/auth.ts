/**
 * Who is asking, on every HTTP call of the alerts API and the console (issue 14). A request
 * carries `Authorization: Bearer <token>`: either a person's session token (from /auth/sign-in
 * with a password, or /auth/link with a one-time sign-in link) or the installation's own token
 * (ALERTS_API_TOKEN: automation and the one-laptop default, a `service` principal). Each call
 * reads the session and the person's roles from the registry, so a person removed or a role
 * taken away counts at once; what may be done on which farm is registry/access.ts's matrix.
 *
 * Routes (one set per process, added by the composition root):
 *   POST /auth/sign-in {person, password}   -> {token, person, expiresAt}
 *   POST /auth/link {link}                   -> the same, once per link
 *   POST /auth/sign-out                      -> 204 (ends the session of the Bearer token)
 *   GET  /auth/me                            -> who this token is, their roles and farms
 * Failures are counted (`auth_failures_total{reason}`) and logged without the secret; ten wrong
 * passwords for one person within 15 minutes lock password sign-in for that person for the rest
 * of the window (429), whoever tries.
 */
import { createHmac } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import { ID_PATTERN } from '../contracts/names.js'
import { type Action, type FarmRef, type Principal, decide, farmsFor } from '../registry/access.js'
import type { Registry } from '../registry/index.js'
import { personUsername, type SessionStart, sessionUsername } from '../registry/repos/sessions.js'
import { RegistryWatch } from '../registry/watch.js'
import { positiveInt, optionalString } from './config.js'
import { HttpError, readBody, sendJson } from './http.js'
import type { HttpRoutes } from './http.js'
import type { Logger } from './logger.js'
import type { Counter, Metrics } from './metrics.js'
import { hashSecret, newSecret, safeEqual } from './secrets.js'

export const AuthEnv = z.object({
  /** The installation's own token (automation, the one-laptop default); people sign in themselves. */
  ALERTS_API_TOKEN: optionalString(),
  /** How long a session lasts from sign-in. */
  SESSION_TTL_HOURS: positiveInt(720),
  /** How long a sign-in link may wait to be opened. */
  SIGN_IN_LINK_TTL_HOURS: positiveInt(24),
})
export type AuthConfig = z.output<typeof AuthEnv>

/** The installation token's principal id (audit `who` is `token:<the name the caller gave>`). */
export const INSTALLATION = 'installation-token'

export type Caller =
  | { ok: true; principal: Principal & { name: string }; session?: { token: string; hash: string } }
  | { ok: false; status: number; reason: string }

export interface Credentials {
  username: string
  password: string
}

const SignIn = z.strictObject({ person: z.string().regex(ID_PATTERN), password: z.string().min(1).max(256) })
const Link = z.strictObject({ link: z.string().min(20).max(128) })

const LOCK_WINDOW_MS = 15 * 60_000
const LOCK_AFTER = 10
/** People with recent wrong passwords kept in memory, at most. */
const MAX_TRACKED = 10_000

export interface AuthOptions {
  registry: Registry
  config: AuthConfig
  log: Logger
  metrics: Metrics
  now?: () => number
}

export class Authenticator {
  private farmIndex = new Map<string, FarmRef>()
  private readonly watch: RegistryWatch<FarmRef[]>
  private readonly failures: Counter
  private readonly failed = new Map<string, number[]>()
  private sweeper: NodeJS.Timeout | undefined
  private readonly now: () => number
  private following = false

  constructor(private readonly opts: AuthOptions) {
    this.now = opts.now ?? Date.now
    this.failures = opts.metrics.counter('auth_failures_total', 'Refused sign-ins and API calls by reason')
    this.watch = new RegistryWatch(opts.registry, {
      read: async (r) => (await r.farms.list()).map((f) => ({ id: f.id, cooperativeId: f.cooperativeId, training: f.training })),
      onChange: (farms) => {
        this.farmIndex = new Map(farms.map((f) => [f.id, f]))
        if (this.following) void this.reconcileAccounts().catch((err: unknown) => opts.log.warn({ err }, 'session accounts not brought up to date'))
      },
      onError: (err) => opts.log.warn({ err }, 'registry read failed: farm index kept'),
    })
  }

  async start(): Promise<void> {
    await this.watch.start()
    this.sweeper = setInterval(() => void this.opts.registry.sessions.sweep().catch((err: unknown) => this.opts.log.warn({ err }, 'session sweep failed')), 60_000)
    this.sweeper.unref()
  }

  close(): void {
    this.watch.close()
    clearInterval(this.sweeper)
  }

  farms(): FarmRef[] {
    return [...this.farmIndex.values()]
  }

  private refuse(status: number, reason: string, counted: string): Caller {
    this.failures.inc({ reason: counted })
    return { ok: false, status, reason }
  }

  /** The caller of a request: a person's session, the installation token, or a refusal (401). */
  async caller(req: IncomingMessage): Promise<Caller> {
    const auth = req.headers.authorization ?? ''
    if (!auth.startsWith('Bearer ')) return this.refuse(401, 'sign in first: no bearer token', 'missing')
    const token = auth.slice(7).trim()
    const installation = this.opts.config.ALERTS_API_TOKEN
    if (installation !== undefined && safeEqual(token, installation)) {
      return { ok: true, principal: { kind: 'service', id: INSTALLATION, name: INSTALLATION, grants: [] } }
    }
    if (token.length < 20 || token.length > 128) return this.refuse(401, 'bad or expired sign-in token', 'bad_token')
    const p = await this.opts.registry.sessions.principal(token)
    if (!p) return this.refuse(401, 'bad or expired sign-in token', 'bad_token')
    return { ok: true, principal: { kind: 'person', id: p.id, name: p.name, grants: p.grants }, session: { token, hash: p.sessionHash } }
  }

  /** The caller, or an HttpError (401) for the runtime to send. */
  async require(req: IncomingMessage): Promise<Extract<Caller, { ok: true }>> {
    const c = await this.caller(req)
    if (!c.ok) throw new HttpError(c.status, c.reason)
    return c
  }

  /**
   * May `who` do `action` on `farmId`? A farm the registry does not know is the service
   * token's only (an alert of a device registered before its farm record).
   */
  decide(who: Principal, action: Action, farmId: string): { ok: true } | { ok: false; reason: string } {
    const farm = this.farmIndex.get(farmId)
    if (!farm) return who.kind === 'service' ? { ok: true } : { ok: false, reason: `no farm ${farmId}` }
    const d = decide(who, action, farm)
    if (!d.ok) this.failures.inc({ reason: 'forbidden' })
    return d
  }

  /** 403 (or 404 for `read`: what one may not read, one is not told exists) unless allowed. */
  assert(who: Principal, action: Action, farmId: string): void {
    const d = this.decide(who, action, farmId)
    if (d.ok) return
    if (action === 'read') throw new HttpError(404, 'not found')
    this.opts.log.info({ who: who.id, action, farm: farmId }, 'refused: not allowed')
    throw new HttpError(403, d.reason)
  }

  /** Farm ids `who` may `action` (the service token: every farm the registry knows). */
  farmIds(who: Principal, action: Action): string[] {
    return farmsFor(who, action, this.farms()).map((f) => f.id)
  }

  /**
   * The broker account of a signed-in person's live view: a viewer of the farms they may read,
   * made for this session (deleted with it). Its password is derived from the session token, so
   * every tab of the session gets the same one and the server keeps only its hash.
   */
  async liveAccount(principal: Principal, session: { token: string; hash: string }): Promise<Credentials & { farms: string[] }> {
    const username = sessionUsername(session.hash)
    const password = createHmac('sha256', session.token).update('suanyang mqtt viewer').digest('base64url')
    const farms = this.farmIds(principal, 'read').sort()
    const held = await this.opts.registry.sessions.account(session.hash)
    if (!held || held.farms.join(',') !== farms.join(',')) {
      const hash = held ? '' : hashSecret(password)
      const r = await this.opts.registry.sessions.setAccount(session.hash, { username, role: 'viewer', farms }, hash, { who: principal.id, how: 'console' })
      if (!r.ok) throw new HttpError(401, 'the session ended')
    }
    return { username, password, farms }
  }

  /** This process keeps the session accounts' farms in step with the people's roles (the console does). */
  follow(): void {
    this.following = true
    void this.watch.refresh()
  }

  /**
   * The farms of every account that belongs to a person (a session's live view, their own
   * viewer or operator login) follow that person's roles: a viewer gets the farms they may read,
   * an operator those they may command. Run on every registry change where `follow()` was called.
   */
  async reconcileAccounts(): Promise<number> {
    let changed = 0
    const grants = new Map<string, Principal>()
    for (const a of await this.opts.registry.sessions.accounts()) {
      let who = grants.get(a.personId)
      if (!who) grants.set(a.personId, (who = { kind: 'person', id: a.personId, grants: await this.opts.registry.sessions.grants(a.personId) }))
      const farms = this.farmIds(who, a.role === 'operator' ? 'command' : 'read').sort()
      if (farms.join(',') === [...a.farms].sort().join(',')) continue
      if (await this.opts.registry.sessions.setAccountFarms(a.username, farms, { who: 'system', how: 'system' })) changed++
    }
    if (changed > 0) this.opts.log.info({ accounts: changed }, 'broker accounts of people follow their roles')
    return changed
  }

  private locked(person: string): boolean {
    const since = this.now() - LOCK_WINDOW_MS
    const times = (this.failed.get(person) ?? []).filter((t) => t > since)
    if (times.length === 0) this.failed.delete(person)
    else this.failed.set(person, times)
    return times.length >= LOCK_AFTER
  }

  private started(res: ServerResponse, s: SessionStart): void {
    res.setHeader('cache-control', 'no-store')
    sendJson(res, 200, { token: s.token, person: { id: s.personId, name: s.name, locale: s.locale }, expiresAt: s.expiresAt })
  }

  /** Adds /auth/* to the process's HTTP server. */
  routes(http: HttpRoutes): void {
    const ttlMs = this.opts.config.SESSION_TTL_HOURS * 3_600_000
    const { registry, log } = this.opts
    http.add('POST', '/auth/sign-in', async (req, res) => {
      const body = await parse(req, SignIn)
      if (this.locked(body.person)) {
        this.failures.inc({ reason: 'locked' })
        throw new HttpError(429, 'too many wrong passwords: wait 15 minutes or ask for a sign-in link')
      }
      const s = await registry.sessions.signInWithPassword(body.person, body.password, ttlMs, 'console')
      if (!s) {
        this.failed.set(body.person, [...(this.failed.get(body.person) ?? []), this.now()])
        // Made-up ids cost memory too: the oldest entries go first past the cap.
        if (this.failed.size > MAX_TRACKED) this.failed.delete(this.failed.keys().next().value ?? '')
        this.failures.inc({ reason: 'password' })
        log.info({ person: body.person }, 'sign-in refused: wrong person or password')
        throw new HttpError(401, 'wrong person or password')
      }
      this.failed.delete(body.person)
      log.info({ person: s.personId }, 'signed in (password)')
      this.started(res, s)
    })
    http.add('POST', '/auth/link', async (req, res) => {
      const body = await parse(req, Link)
      const s = await registry.sessions.redeemLink(body.link, ttlMs, 'console')
      if (!s) {
        this.failures.inc({ reason: 'link' })
        throw new HttpError(401, 'this sign-in link is unknown, used or expired: ask for a new one')
      }
      log.info({ person: s.personId }, 'signed in (link)')
      this.started(res, s)
    })
    http.add('POST', '/auth/sign-out', async (req, res) => {
      const c = await this.require(req)
      if (c.session) await registry.sessions.end(c.session.token, { who: c.principal.id, how: 'console' })
      res.writeHead(204).end()
    })
    http.add('GET', '/auth/me', async (req, res) => {
      const c = await this.require(req)
      const p = c.principal
      res.setHeader('cache-control', 'no-store')
      sendJson(res, 200, {
        kind: p.kind,
        id: p.id,
        name: p.name,
        roles: p.grants,
        farms: { read: this.farmIds(p, 'read'), ack: this.farmIds(p, 'ack'), command: this.farmIds(p, 'command'), train: this.farmIds(p, 'train') },
      })
    })
  }
}

async function parse<T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<z.output<T>> {
  let value: unknown
  try {
    value = JSON.parse((await readBody(req, 4 * 1024)).toString('utf8'))
  } catch (err) {
    throw err instanceof HttpError ? err : new HttpError(400, 'body is not JSON')
  }
  const r = schema.safeParse(value)
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '))
  return r.data
}

/**
 * A person's own broker login (for their MQTT tools), made (again) with a new password: a viewer
 * of the farms they may read, or an operator of those they may command. The password is shown
 * once; only its hash is kept. Its farms then follow the person's roles (`reconcileAccounts`).
 */
export async function issuePersonAccount(
  registry: Registry,
  personId: string,
  role: 'viewer' | 'operator',
  actor: { who: string; how: 'cli' | 'console' },
): Promise<(Credentials & { farms: string[] }) | { error: string; notFound: boolean }> {
  const who: Principal = { kind: 'person', id: personId, grants: await registry.sessions.grants(personId) }
  const all = (await registry.farms.list()).map((f) => ({ id: f.id, cooperativeId: f.cooperativeId, training: f.training }))
  const farms = farmsFor(who, role === 'operator' ? 'command' : 'read', all).map((f) => f.id).sort()
  const username = personUsername(personId, role)
  const password = newSecret(18)
  const r = await registry.sessions.setPersonAccount(personId, { username, role, farms }, hashSecret(password), actor)
  if (!r.ok) return { error: r.issues.map((i) => i.en).join('; ') || r.reason, notFound: r.reason === 'not_found' }
  return { username, password, farms }
}
