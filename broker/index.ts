/**
 * The broker service: Aedes with device authentication, the ACL, limits, durable persistence,
 * and metrics. Wiring only; policy is in acl.ts, hooks.ts, throttle.ts.
 */
import type { EventEmitter } from 'node:events'
import { Aedes } from 'aedes'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { defineService } from '../runtime/service.js'
import { BrokerEnv } from './config.js'
import { type AedesInternals, installHooks, malformedReason, remoteAddress } from './hooks.js'
import { type Listener, listenTcp, listenTls, listenWs } from './listeners.js'
import { LogLimiter } from './log-limit.js'
import { brokerMetrics } from './metrics.js'
import { durableAck, fastWrite, matchCache, startPatches } from './patches/index.js'
import { openStorage } from './persistence.js'
import { closeRevokedSessions } from './revocation.js'

/** Sockets a listener accepts beyond BROKER_MAX_CONNECTIONS: room to answer CONNACK 3 (server busy). */
const SOCKET_MARGIN = 1_000
const QUEUE_COUNT_EVERY_MS = 1_000
const ROLES = ['device', 'service', 'viewer', 'operator'] as const

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export const brokerService = defineService({
  name: 'broker',
  env: BrokerEnv,
  async start(config, ctx) {
    const { log, metrics } = ctx
    // Refuses to start on a package version or shape a patch was not written for (patches/README.md).
    startPatches({ storage: config.REDIS_URL ? 'redis' : 'level', allowUnknownVersions: config.BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS, log })
    const storage = await openStorage({
      dataDir: ctx.common.DATA_DIR,
      redisUrl: config.REDIS_URL,
      queueFlushMs: config.BROKER_QUEUE_FLUSH_MS,
      queueHoldMs: config.BROKER_QUEUE_HOLD_MS,
      onError: (err) => log.error({ err }, 'broker queue write failed'),
      onMigrated: (converted) => log.info({ converted }, 'broker storage converted from the layout before broker/storage/'),
    })
    const broker = await Aedes.createBroker({
      ...(config.BROKER_ID ? { id: config.BROKER_ID } : {}),
      persistence: storage.persistence,
      ...(storage.mq ? { mq: storage.mq } : {}),
      drainTimeout: config.BROKER_DRAIN_TIMEOUT_MS,
      connectTimeout: config.BROKER_CONNECT_TIMEOUT_MS,
      concurrency: 1_000,
    })
    fastWrite.install()
    // One process owns every subscription: the emitter's trie changes only through this process.
    if (storage.kind === 'level') matchCache.install(broker)
    if (storage.queue) durableAck.install(broker, storage.queue)
    // Aedes reports persistence failures as 'error' events: unhandled, they would end the process.
    const events = broker as unknown as EventEmitter
    events.on('error', (err: Error) => log.error({ err }, 'broker error'))
    const m = brokerMetrics(metrics)
    const deadLetters = DeadLetterStore.forDataDir(ctx.common.DATA_DIR, ctx.now, (err) => log.error({ err }, 'dead-letter write failed'))
    const hooks = installHooks(broker, { config, accounts: ctx.accounts, log, metrics: m, deadLetters, now: ctx.now })
    const internals = broker as unknown as AedesInternals
    const stopRevoking = closeRevokedSessions(broker, { accounts: ctx.accounts, identities: hooks.identities, log, metrics: m })
    // People's broker accounts follow their roles here too, where they are enforced (issue 14).
    ctx.auth.follow()
    storage.queue?.knowConnected((clientId) => internals.clients[clientId]?.connected === true)

    // Counted from Aedes' own client table when scraped: always consistent, O(clients) per scrape.
    // This gauge is registered before the message counters, so its collector also brings them up
    // to date before they are rendered; a timer does it every second for other readers.
    const counted = { written: 0, skipped: 0 }
    const flushTallies = () => {
      hooks.flushTallies()
      const now = storage.queueCounts?.()
      if (!now) return
      m.queueOutcomes.inc({ outcome: 'written' }, now.written - counted.written)
      m.queueOutcomes.inc({ outcome: 'acknowledged_in_memory' }, now.skipped - counted.skipped)
      Object.assign(counted, now)
    }
    const tallyTimer = setInterval(flushTallies, 1_000).unref()
    m.clients.collect(() => {
      flushTallies()
      const byRole = new Map<string, number>(ROLES.map((r) => [r, 0]))
      for (const id in internals.clients) {
        const client = internals.clients[id]
        const role = (client && hooks.identities.get(client)?.role) ?? 'unknown'
        byRole.set(role, (byRole.get(role) ?? 0) + 1)
      }
      for (const [role, n] of byRole) m.clients.set(n, { role })
    })
    let queueCount: Promise<void> | undefined
    let queueCountedAt = 0
    let closing = false
    const countQueue = () => {
      if (!storage.queued || closing || queueCount || ctx.now() - queueCountedAt < QUEUE_COUNT_EVERY_MS) return
      queueCount = storage
        .queued()
        .then(
          (n) => m.queued.set(n),
          (err: unknown) => log.warn({ err }, 'counting queued messages failed'),
        )
        .finally(() => {
          queueCount = undefined
          queueCountedAt = ctx.now()
        })
    }
    // Served from the last count (a scrape never waits on storage); Redis: not measured (-1).
    m.queued.set(storage.queued ? 0 : -1)
    m.queued.collect(countQueue)
    countQueue()

    broker.on('keepaliveTimeout', (client) => {
      hooks.limit('keepalive_timeout', { clientId: client.id }, 'keepalive timeout: client dropped')
    })
    // A malformed packet closes its connection [MQTT-4.8.0-1]: counted and logged (once a minute per
    // reason) here; refusals of the hooks (CONNECT, ACL) and socket errors are logged where they arise.
    const malformedLog = new LogLimiter(60_000, 1_000)
    const onConnectionError = (client: Parameters<typeof remoteAddress>[0], err: Error, msg: string) => {
      const reason = malformedReason(err)
      if (reason === undefined) return log.debug({ clientId: client.id, err: err.message }, msg)
      m.malformed.inc({ reason })
      const admit = malformedLog.admit(reason, ctx.now())
      if (admit.log) log.warn({ clientId: client.id, address: remoteAddress(client), reason, suppressed: admit.suppressed }, 'malformed packet: client disconnected')
    }
    const drained = new WeakSet<object>() // Aedes reports the timeout once per pending write
    broker.on('clientError', (client, err) => {
      if (err.message === 'drain timeout') {
        if (drained.has(client)) return
        drained.add(client)
        hooks.limit('drain_timeout', { clientId: client.id, timeoutMs: config.BROKER_DRAIN_TIMEOUT_MS }, 'slow consumer disconnected: drain timeout')
        return
      }
      onConnectionError(client, err, 'client error')
    })
    broker.on('connectionError', (client, err) => onConnectionError(client, err, 'connection error'))

    const guard = {
      maxPacketBytes: config.BROKER_MAX_PAYLOAD_BYTES + 1024,
      maxSockets: config.BROKER_MAX_CONNECTIONS + SOCKET_MARGIN,
      log,
      limit: hooks.limit,
      sockets: m.sockets,
      deadLetters,
    }
    const host = ctx.common.HOST
    const listeners: Listener[] = []
    const shutdown = async () => {
      // Stop taking packets, then let publishes already acknowledged (PUBACK precedes routing in
      // Aedes) and the Last Wills of the dropped clients reach storage before it closes.
      stopRevoking()
      await Promise.all(listeners.map((l) => l.close()))
      for (let waited = 0; waited < 5_000 && (hooks.inflight() > 0 || broker.connectedClients > 0); waited += 10) await sleep(10)
      closing = true
      clearInterval(tallyTimer)
      flushTallies()
      await queueCount
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await storage.close()
      await deadLetters.flush()
    }
    try {
      listeners.push(await listenTcp(broker, config.MQTT_PORT, host, guard))
      listeners.push(await listenWs(broker, config.MQTT_WS_PORT, host, guard))
      if (config.MQTT_TLS_PORT !== undefined && config.MQTT_TLS_CERT && config.MQTT_TLS_KEY) {
        const tlsOpts = { port: config.MQTT_TLS_PORT, host, certPath: config.MQTT_TLS_CERT, keyPath: config.MQTT_TLS_KEY }
        listeners.push(await listenTls(broker, tlsOpts, guard))
      }
    } catch (err) {
      await shutdown()
      throw err
    }
    const ports = Object.fromEntries(listeners.map((l) => [l.name, l.port]))
    log.info({ ports, storage: storage.kind, id: broker.id }, 'broker listening')

    return {
      info: { ports, mqttUrl: `mqtt://127.0.0.1:${ports.tcp}`, wsUrl: `ws://127.0.0.1:${ports.ws}`, brokerId: broker.id },
      close: shutdown,
    }
  },
})
