/**
 * Aedes policy hooks: authentication against the account store, the ACL, and the limits, with a
 * logged reason and a counter for every refusal. The decisions themselves live in acl.ts,
 * client-id.ts and throttle.ts; this file only adapts them to Aedes' callbacks.
 */
import type { Aedes, AuthenticateError, Client } from 'aedes'
import type { AccountStore, Identity } from '../runtime/accounts.js'
import type { DeadLetterStore } from '../runtime/deadletter.js'
import type { Logger } from '../runtime/logger.js'
import { checkTopicFilter, checkTopicName, topicMatches } from '../runtime/mqtt-rules.js'
import { type Decision, canPublish, canReceive, canSubscribe } from './acl.js'
import { clientIdAllowed } from './client-id.js'
import type { BrokerConfig } from './config.js'
import { type ConnectFields, checkConnect } from './connect-check.js'
import { LogLimiter } from './log-limit.js'
import { type BrokerMetrics, ChannelTally } from './metrics.js'
import { connackFirst } from './patches/connack-first.js'
import { dedupe } from './patches/dedupe.js'
import { compactWill, slimSettings } from './patches/lean.js'
import { type PatchableStore, storePatches } from './patches/store-patches.js'
import { LoginThrottle } from './throttle.js'

// CONNACK return codes, MQTT 3.1.1 §3.2.2.3
/** Any level outside 3..4 makes Aedes answer CONNACK 1 (unacceptable protocol version) itself. */
const UNSUPPORTED_LEVEL = 0
const IDENTIFIER_REJECTED = 2
const SERVER_UNAVAILABLE = 3
const BAD_USERNAME_OR_PASSWORD = 4
const NOT_AUTHORIZED = 5

/** The parts of Aedes' instance this file reaches that its type declarations do not show. */
export interface AedesInternals {
  clients: Record<string, (Client & { closed?: boolean }) | undefined>
  persistence: PatchableStore
}

/** A refusal these hooks counted and logged already; Aedes closes the connection on it. */
export class Refused extends Error {}

/** Errors of a connection that are no protocol violation of its client. */
const NOT_MALFORMED = new Set(['keep alive timeout', 'connect did not arrive in time', 'drain timeout', 'connection closed'])

/**
 * The reason a connection error is a malformed packet (mqtt-packet's and Aedes' texts, numbers
 * masked so the label set stays bounded), or undefined: a socket error, a timeout, a refusal
 * counted elsewhere.
 */
export function malformedReason(err: Error): string | undefined {
  if (err instanceof Refused || 'code' in err || 'errorCode' in err || NOT_MALFORMED.has(err.message)) return undefined
  return err.message.replace(/\d+/g, 'N').slice(0, 100)
}

/**
 * What MQTT 3.1.1 requires of a PUBLISH that its parsers let through (they already refuse QoS 3,
 * ill-formed UTF-8 and packet id 0; Aedes refuses empty topics and wildcards before this runs).
 */
function checkPublish(packet: { topic: string; qos: number; dup: boolean }): Decision {
  if (packet.qos > 2) return { ok: false, reason: 'QoS 3' } // [MQTT-3.3.1-4] (a Will stored before connect-check.ts)
  if (packet.qos === 0 && packet.dup) return { ok: false, reason: 'DUP on QoS 0' } // [MQTT-3.3.1-2]
  return checkTopicName(packet.topic)
}

/** The highest QoS this client was granted for a topic (2 when no filter of it matches: unchanged). */
function grantedQos(client: Client, topic: string): 0 | 1 | 2 {
  const subscriptions = (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions
  let granted = -1
  for (const filter in subscriptions) {
    const qos = subscriptions[filter]?.qos ?? 0
    if (qos > granted && topicMatches(filter, topic)) granted = qos
  }
  return granted === 0 || granted === 1 ? granted : 2
}

/** Counts a limit that bit and logs it, at most once per key and window (floods stay readable). */
export type LimitReporter = (name: string, fields: Record<string, unknown>, msg: string) => void

function authError(returnCode: number, message: string): AuthenticateError {
  // A refusal is routine under a login storm: no stack trace to build for each.
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  const err = new Error(message)
  Error.stackTraceLimit = limit
  return Object.assign(err, { returnCode }) as AuthenticateError
}

export function remoteAddress(client: Client): string {
  const conn = client.conn as { remoteAddress?: string }
  return client.req?.socket.remoteAddress ?? conn.remoteAddress ?? 'unknown'
}

export interface HookDeps {
  config: BrokerConfig
  accounts: AccountStore
  log: Logger
  metrics: BrokerMetrics
  deadLetters: DeadLetterStore
  now: () => number
}

export interface Hooks {
  identities: WeakMap<Client, Identity>
  throttle: LoginThrottle
  /** QoS 1/2 publishes acknowledged to their sender and not yet stored: a clean close waits for 0. */
  inflight(): number
  limit: LimitReporter
  flushTallies(): void
}

export function installHooks(broker: Aedes, deps: HookDeps): Hooks {
  const { config, accounts, log, metrics, deadLetters, now } = deps
  const identities = new WeakMap<Client, Identity>()
  const throttle = new LoginThrottle({
    pairLimit: config.BROKER_AUTH_FAIL_LIMIT,
    addressLimit: config.BROKER_AUTH_ADDRESS_FAIL_LIMIT,
    windowMs: config.BROKER_AUTH_FAIL_WINDOW_MS,
    maxKeys: 100_000,
  })
  const floodLog = new LogLimiter(10_000)
  /** Unproven passwords being hashed, per remote address. */
  const pendingChecks = new Map<string, number>()
  let inflight = 0
  const internals = broker as unknown as AedesInternals
  // Aedes stores refused filters of persistent sessions and reads the store on every PUBACK:
  // store-patches.ts keeps only granted filters and skips needless reads.
  const { sentQos2 } = storePatches.install(internals.persistence, (client, filter) => {
    const who = identities.get(client)
    return who !== undefined && canSubscribe(who, filter).ok
  })

  const limit: LimitReporter = (name, fields, msg) => {
    metrics.limitHits.inc({ limit: name })
    const admit = floodLog.admit(`limit:${name}`, now())
    if (admit.log) log.warn({ limit: name, ...fields, suppressed: admit.suppressed }, msg)
  }

  const keepalives = new WeakMap<Client, number>()
  const releases = new WeakMap<Client, () => void>()
  /** CONNECTs to refuse with a CONNACK code: authenticate answers them. */
  const badConnects = new WeakMap<Client, { reason: string; code: number }>()
  const refuseConnect = (client: Client, reason: string, clause: string, malformed: boolean) => {
    metrics.authFailures.inc({ reason })
    const address = remoteAddress(client)
    const admit = floodLog.admit(`connect:${reason}:${address}`, now())
    if (admit.log) log.warn({ address, reason, clause, suppressed: admit.suppressed }, malformed ? 'connection refused: malformed CONNECT' : 'connection refused')
  }
  // Aedes closes a connection refused here without a CONNACK, so the limits are checked in
  // authenticate (which can answer); this refuses only what the spec wants closed unanswered.
  broker.preConnect = (client, packet, done) => {
    // Before anything else: nothing of a malformed CONNECT (its Will) may become broker state.
    const verdict = checkConnect(packet as ConnectFields)
    if (!verdict.ok) {
      refuseConnect(client, verdict.reason, verdict.clause, verdict.answer === 'close')
      if (verdict.answer === 'close') return done(new Refused(verdict.reason), false) // [MQTT-3.1.4-1]
      if (verdict.answer === 1) (packet as { protocolVersion: number }).protocolVersion = UNSUPPORTED_LEVEL // [MQTT-3.1.2-2] Aedes answers CONNACK 1
      else badConnects.set(client, { reason: verdict.reason, code: IDENTIFIER_REJECTED }) // [MQTT-3.1.3-8]
    }
    dedupe.install(client) // before the session's subscriptions are restored (see dedupe.ts)
    releases.set(client, connackFirst.install(client)) // [MQTT-3.2.0-1] CONNACK is the first packet
    keepalives.set(client, packet.keepalive ?? 0)
    done(null, true)
  }
  broker.on('connackSent', (_packet, client) => {
    releases.get(client)?.()
    releases.delete(client)
    slimSettings(client) // the CONNECT packet (password included) is no longer needed
    compactWill(client) // nor the chunk it came in
  })

  const overLimit = (client: Client): { reason: string; code: number } | undefined => {
    if (broker.connectedClients >= config.BROKER_MAX_CONNECTIONS) {
      limit('max_connections', { clientId: client.id, max: config.BROKER_MAX_CONNECTIONS }, 'connection refused: max connections')
      return { reason: 'too many connections', code: SERVER_UNAVAILABLE }
    }
    // [MQTT-3.1.2-24] keepalive 0 turns the broker's liveness check off: a dead 4G link would then
    // hold its session and never fire its Last Will, so it is refused, as is a very long one.
    const keepalive = keepalives.get(client) ?? 0
    keepalives.delete(client)
    if (keepalive === 0 || keepalive > config.BROKER_MAX_KEEPALIVE_S) {
      limit('keepalive', { clientId: client.id, keepalive, max: config.BROKER_MAX_KEEPALIVE_S }, 'connection refused: keepalive out of range')
      return { reason: 'keepalive out of range', code: NOT_AUTHORIZED }
    }
    return undefined
  }

  broker.authenticate = (client, username, password, done) => {
    const address = remoteAddress(client)
    const refuse = (reason: string, code = BAD_USERNAME_OR_PASSWORD, quiet = false) => {
      metrics.authFailures.inc({ reason })
      const admit = quiet ? floodLog.admit(`auth:${reason}:${address}:${username}`, now()) : ({ log: true, suppressed: 0 } as const)
      if (admit.log) log.warn({ clientId: client.id, username, address, reason, suppressed: admit.suppressed }, 'connection refused')
      done(authError(code, reason), false)
    }
    const bad = badConnects.get(client)
    if (bad) return done(authError(bad.code, bad.reason), false) // counted and logged in preConnect
    const over = overLimit(client)
    if (over) return refuse(over.reason, over.code, true)
    if (username === undefined || username === '' || password === undefined) return refuse('anonymous', NOT_AUTHORIZED)
    const secret = password.toString('utf8')
    // By address and by (address, username), never by username alone (throttle.ts).
    const blocked = throttle.refusal(address, username, now())
    // An account that already proved this password gets in even from a throttled address: many
    // devices share one carrier-NAT address, and a storm from it must not lock them out.
    const cheap = accounts.isProven(username, secret)
    // Refused before any password work: the throttle bounds what a storm costs.
    if (blocked !== undefined && !cheap) return refuse(blocked, NOT_AUTHORIZED, true)
    // A bounded number of unproven secrets of one address are hashed at a time, so a storm of
    // parallel guesses costs little more slow hashing than the throttle allows. The rest are told
    // "server unavailable" (CONNACK 3) and retry, as devices do after a broker restart.
    const hashing = cheap ? 0 : (pendingChecks.get(address) ?? 0)
    if (hashing >= config.BROKER_AUTH_PENDING_PER_ADDRESS) return refuse('busy checking this address', SERVER_UNAVAILABLE, true)
    if (!cheap) pendingChecks.set(address, hashing + 1)
    const settled = () => {
      if (cheap) return
      const left = (pendingChecks.get(address) ?? 1) - 1
      if (left > 0) pendingChecks.set(address, left)
      else pendingChecks.delete(address)
    }
    accounts.authenticate(username, secret).then(
      (identity) => {
        settled()
        if (!identity) {
          throttle.failed(address, username, now())
          return refuse('bad username or password')
        }
        // The longest account name owns a client id: nobody takes over another's session.
        const owner = clientIdAllowed(client.id, username, (name) => accounts.getDevice(name) !== undefined)
        if (!owner.ok) return refuse(owner.reason, IDENTIFIER_REJECTED)
        // A Last Will is a publish made later on the client's behalf: the ACL applies now.
        const will = (client as unknown as { _will?: { topic: string; retain: boolean } })._will
        const willVerdict = will ? canPublish(identity, will.topic, will.retain) : undefined
        if (willVerdict && !willVerdict.ok) return refuse(`will refused: ${willVerdict.reason}`, NOT_AUTHORIZED)
        // [MQTT-3.1.4-2] a second connection with the same client id closes the first.
        const previous = internals.clients[client.id]
        if (previous && !previous.closed) {
          metrics.takeovers.inc()
          const admit = floodLog.admit(`takeover:${client.id}`, now())
          if (admit.log) {
            const before = previous.conn as { remoteAddress?: string }
            log.warn(
              { clientId: client.id, username, address, previousAddress: before.remoteAddress, suppressed: admit.suppressed },
              'client id takeover: previous connection closed',
            )
          }
        }
        throttle.succeeded(address, username)
        identities.set(client, identity)
        done(null, true)
      },
      (err: unknown) => {
        settled()
        log.error({ err, username }, 'account lookup failed')
        metrics.authFailures.inc({ reason: 'server error' })
        done(authError(SERVER_UNAVAILABLE, 'account lookup failed'), false)
      },
    )
  }

  // A device publishes on two or three topics: its last verdict is kept (canPublish is pure in
  // identity, topic and retain, and a connection's identity never changes).
  const lastVerdict = new WeakMap<Client, { topic: string; retain: boolean; verdict: Decision }>()
  const publishVerdict = (client: Client, who: Identity, topic: string, retain: boolean): Decision => {
    const last = lastVerdict.get(client)
    if (last !== undefined && last.topic === topic && last.retain === retain) return last.verdict
    const verdict = canPublish(who, topic, retain)
    lastVerdict.set(client, { topic, retain, verdict })
    return verdict
  }

  broker.authorizePublish = (client, packet, done) => {
    if (client === null) return done(null) // the broker's own will of a dead cluster node
    const who = identities.get(client)
    const valid = checkPublish(packet)
    const verdict = !valid.ok
      ? valid
      : packet.payload.length > config.BROKER_MAX_PAYLOAD_BYTES
        ? { ok: false as const, reason: 'payload over the size limit' }
        : who
          ? publishVerdict(client, who, packet.topic, packet.retain)
          : { ok: false as const, reason: 'not authenticated' }
    if (verdict.ok) {
      // [MQTT-3.3.1-3] a sender's DUP is not passed on: Aedes would copy it to every subscriber.
      packet.dup = false
      inflight += 1
      if (packet.qos === 2) sentQos2.add(client)
      return done(null)
    }
    metrics.denials.inc({ action: 'publish', reason: verdict.reason })
    const admit = floodLog.admit(`publish:${client.id}:${packet.topic}`, now())
    if (admit.log) {
      log.warn(
        { clientId: client.id, username: who?.username, topic: packet.topic, bytes: packet.payload.length, reason: verdict.reason, suppressed: admit.suppressed },
        'publish denied',
      )
    }
    deadLetters.add({ stage: 'broker', code: 'denied', reason: verdict.reason, topic: packet.topic, clientId: client.id, payload: packet.payload })
    // MQTT 3.1.1 has no negative PUBACK: the error closes the connection.
    done(new Refused(verdict.reason))
  }

  const tallyIn = new ChannelTally(metrics.messagesIn, metrics.bytesIn)
  const tallyOut = new ChannelTally(metrics.messagesOut, metrics.bytesOut)
  // Called once a client's publish is stored and routed: the end of the acknowledged-not-stored window.
  broker.published = (packet, client, done) => {
    if (client !== null) {
      inflight -= 1
      tallyIn.add(packet.topic, packet.payload.length)
    }
    done(null)
  }

  broker.authorizeSubscribe = (client, sub, done) => {
    // Aedes' own filter check lets some through ('a+', 'a/+b'): [MQTT-4.7.1-2, -3]. A malformed
    // filter makes the SUBSCRIBE malformed: the connection is closed [MQTT-4.8.0-1].
    const valid = checkTopicFilter(sub.topic)
    if (!valid.ok) {
      metrics.denials.inc({ action: 'subscribe', reason: valid.reason })
      const admit = floodLog.admit(`subscribe:${client.id}:${valid.reason}`, now())
      if (admit.log) log.warn({ clientId: client.id, filter: sub.topic, reason: valid.reason, suppressed: admit.suppressed }, 'malformed SUBSCRIBE: client disconnected')
      return done(new Refused(valid.reason), null)
    }
    const who = identities.get(client)
    const verdict = who ? canSubscribe(who, sub.topic) : { ok: false as const, reason: 'not authenticated' }
    if (verdict.ok) return done(null, sub)
    metrics.denials.inc({ action: 'subscribe', reason: verdict.reason })
    log.warn({ clientId: client.id, username: who?.username, filter: sub.topic, reason: verdict.reason }, 'subscribe denied')
    done(null, null) // [MQTT-3.9.3] SUBACK return code 0x80 for this filter; the connection stays
  }

  // Every delivery is checked again: a session stored before a rule changed must not leak.
  broker.authorizeForward = (client, packet) => {
    const who = identities.get(client)
    if (!who || !canReceive(who, packet.topic)) {
      metrics.denials.inc({ action: 'forward', reason: 'not readable by this account' })
      return null
    }
    // [MQTT-3.8.4-6] at most the QoS granted: Aedes lowers QoS 2 only for a filter equal to the
    // topic, so a QoS 1 subscriber to farm/+/... got QoS 2. The packet is this client's own copy
    // (live or from its queue), the one then written.
    if (packet.qos === 2) packet.qos = grantedQos(client, packet.topic)
    tallyOut.add(packet.topic, packet.payload.length)
    return packet
  }

  const flushTallies = () => {
    tallyIn.flush()
    tallyOut.flush()
  }

  return { identities, throttle, inflight: () => inflight, limit, flushTallies }
}
