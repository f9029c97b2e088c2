/**
 * Aedes policy hooks: authentication against the account store, the ACL, and the limits, with a
 * logged reason and a counter for every refusal. The decisions themselves live in acl.ts and
 * throttle.ts; this file only adapts them to Aedes' callbacks.
 */
import type { Aedes, AuthenticateError, Client } from 'aedes'
import type { AccountStore, Identity } from '../runtime/accounts.js'
import type { DeadLetterStore } from '../runtime/deadletter.js'
import type { Logger } from '../runtime/logger.js'
import type { Metrics } from '../runtime/metrics.js'
import { canPublish, canSubscribe } from './acl.js'
import { keepOutOfOrderDeliveries } from './dedupe.js'
import type { BrokerConfig } from './config.js'
import { AuthThrottle } from './throttle.js'

// CONNACK return codes, MQTT 3.1.1 §3.2.2.3
const SERVER_UNAVAILABLE = 3
const BAD_USERNAME_OR_PASSWORD = 4
const NOT_AUTHORIZED = 5

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError
}

export function remoteAddress(client: Client): string {
  const conn = client.conn as { remoteAddress?: string }
  return client.req?.socket.remoteAddress ?? conn.remoteAddress ?? 'unknown'
}

/** A client id must be the account's name, or start with it: nobody can take over another's session. */
export function clientIdAllowed(clientId: string, username: string): boolean {
  return clientId === username || clientId.startsWith(`${username}-`) || clientId.startsWith(`${username}_`)
}

export interface Hooks {
  identities: WeakMap<Client, Identity>
  throttle: AuthThrottle
}

export function installHooks(
  broker: Aedes,
  deps: { config: BrokerConfig; accounts: AccountStore; log: Logger; metrics: Metrics; deadLetters: DeadLetterStore; now: () => number },
): Hooks {
  const { config, accounts, log, metrics, deadLetters, now } = deps
  const identities = new WeakMap<Client, Identity>()
  const throttle = new AuthThrottle({ limit: config.BROKER_AUTH_FAIL_LIMIT, windowMs: config.BROKER_AUTH_FAIL_WINDOW_MS, maxKeys: 100_000 })
  const authFailures = metrics.counter('mqtt_auth_failures_total', 'Refused MQTT connections, by reason')
  const denials = metrics.counter('mqtt_denials_total', 'Refused publishes and subscriptions, by action and reason')
  const limits = metrics.counter('mqtt_limit_hits_total', 'Connections or packets refused by a limit, by limit')

  broker.preConnect = (client, packet, done) => {
    keepOutOfOrderDeliveries(client)
    if (broker.connectedClients >= config.BROKER_MAX_CONNECTIONS) {
      limits.inc({ limit: 'max_connections' })
      log.warn({ clientId: client.id, max: config.BROKER_MAX_CONNECTIONS }, 'connection refused: max connections')
      done(authError(SERVER_UNAVAILABLE, 'too many connections'), false)
      return
    }
    const keepalive = packet.keepalive ?? 0
    if (keepalive === 0 || keepalive > config.BROKER_MAX_KEEPALIVE_S) {
      limits.inc({ limit: 'keepalive' })
      log.warn({ clientId: packet.clientId, keepalive: packet.keepalive }, 'connection refused: keepalive out of range')
      done(authError(NOT_AUTHORIZED, 'keepalive out of range'), false)
      return
    }
    done(null, true)
  }

  broker.authenticate = (client, username, password, done) => {
    const address = remoteAddress(client)
    const refuse = (reason: string, code = BAD_USERNAME_OR_PASSWORD) => {
      authFailures.inc({ reason })
      log.warn({ clientId: client.id, username, address, reason }, 'connection refused')
      done(authError(code, reason), false)
    }
    if (username === undefined || username === '' || password === undefined) return refuse('anonymous', NOT_AUTHORIZED)
    const userKey = `user:${username}`
    const addressKey = `addr:${address}`
    const t = now()
    if (throttle.blockedFor(addressKey, t) > 0) return refuse('throttled address', NOT_AUTHORIZED)
    if (throttle.blockedFor(userKey, t) > 0) return refuse('throttled username', NOT_AUTHORIZED)
    accounts.authenticate(username, password.toString('utf8')).then(
      (identity) => {
        if (!identity) {
          throttle.fail(addressKey, now())
          throttle.fail(userKey, now())
          return refuse('bad username or password')
        }
        if (!clientIdAllowed(client.id, username)) return refuse('client id must start with the username', 2)
        throttle.succeed(userKey)
        identities.set(client, identity)
        done(null, true)
      },
      (err: unknown) => {
        log.error({ err, username }, 'account lookup failed')
        authFailures.inc({ reason: 'server error' })
        done(authError(SERVER_UNAVAILABLE, 'account lookup failed'), false)
      },
    )
  }

  broker.authorizePublish = (client, packet, done) => {
    if (client === null) return done(null) // the broker's own will of a dead cluster node
    const who = identities.get(client)
    const verdict =
      packet.payload.length > config.BROKER_MAX_PAYLOAD_BYTES
        ? { ok: false as const, reason: `payload ${packet.payload.length} bytes over ${config.BROKER_MAX_PAYLOAD_BYTES}` }
        : who
          ? canPublish(who, packet.topic, packet.retain)
          : { ok: false as const, reason: 'not authenticated' }
    if (verdict.ok) return done(null)
    denials.inc({ action: 'publish', reason: verdict.reason })
    log.warn({ clientId: client.id, username: who?.username, topic: packet.topic, reason: verdict.reason }, 'publish denied')
    deadLetters.add({ stage: 'broker', code: 'denied', reason: verdict.reason, topic: packet.topic, clientId: client.id, payload: packet.payload })
    // MQTT 3.1.1 has no negative PUBACK: the error closes the connection.
    done(new Error(verdict.reason))
  }

  broker.authorizeSubscribe = (client, sub, done) => {
    const who = identities.get(client)
    const verdict = who ? canSubscribe(who, sub.topic) : { ok: false as const, reason: 'not authenticated' }
    if (verdict.ok) return done(null, sub)
    denials.inc({ action: 'subscribe', reason: verdict.reason })
    log.warn({ clientId: client.id, username: who?.username, filter: sub.topic, reason: verdict.reason }, 'subscribe denied')
    done(null, null) // [MQTT-3.9.3] SUBACK return code 0x80 for this filter; the connection stays
  }

  return { identities, throttle }
}
