/**
 * The broker service: Aedes with device authentication, the ACL, limits, durable persistence,
 * and metrics. Wiring only; policy is in acl.ts, hooks.ts, throttle.ts.
 */
import { Aedes } from 'aedes'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { defineService } from '../runtime/service.js'
import { BrokerEnv } from './config.js'
import { installHooks } from './hooks.js'
import { type Listener, listenTcp, listenTls, listenWs } from './listeners.js'
import { openStorage } from './persistence.js'

const CHANNEL_LABELS = new Set(['telemetry', 'status', 'event', 'cmd'])

/** The channel of a topic for metric labels, without parsing the whole topic. */
export function channelLabel(topic: string): string {
  if (topic.startsWith('$SYS/')) return '$SYS'
  if (topic.endsWith('/cmd/ack')) return 'cmd/ack'
  const last = topic.slice(topic.lastIndexOf('/') + 1)
  return CHANNEL_LABELS.has(last) ? last : 'other'
}

export const brokerService = defineService({
  name: 'broker',
  env: BrokerEnv,
  async start(config, ctx) {
    const { log, metrics } = ctx
    const storage = openStorage({ dataDir: ctx.common.DATA_DIR, redisUrl: config.REDIS_URL })
    const broker = await Aedes.createBroker({
      ...(config.BROKER_ID ? { id: config.BROKER_ID } : {}),
      persistence: storage.persistence,
      ...(storage.mq ? { mq: storage.mq } : {}),
      drainTimeout: config.BROKER_DRAIN_TIMEOUT_MS,
      keepaliveLimit: config.BROKER_MAX_KEEPALIVE_S,
      connectTimeout: 10_000,
      concurrency: 1_000,
    })
    const deadLetters = DeadLetterStore.forDataDir(ctx.common.DATA_DIR, ctx.now, (err) => log.error({ err }, 'dead-letter write failed'))
    const { identities } = installHooks(broker, { config, accounts: ctx.accounts, log, metrics, deadLetters, now: ctx.now })

    const clients = metrics.gauge('mqtt_clients_connected', 'Connected MQTT clients, by role')
    const messagesIn = metrics.counter('mqtt_messages_in_total', 'Messages published by clients, by channel')
    const bytesIn = metrics.counter('mqtt_bytes_in_total', 'Payload bytes published by clients')
    const messagesOut = metrics.counter('mqtt_messages_out_total', 'Messages delivered to subscribers and acknowledged, by channel')
    const keepaliveTimeouts = metrics.counter('mqtt_keepalive_timeouts_total', 'Clients dropped for a missed keepalive')
    const limitHits = metrics.counter('mqtt_limit_hits_total', 'Connections or packets refused by a limit, by limit')

    broker.on('clientReady', (client) => clients.inc({ role: identities.get(client)?.role ?? 'unknown' }))
    broker.on('clientDisconnect', (client) => clients.inc({ role: identities.get(client)?.role ?? 'unknown' }, -1))
    broker.on('publish', (packet, client) => {
      if (!client) return
      messagesIn.inc({ channel: channelLabel(packet.topic) })
      bytesIn.inc(undefined, packet.payload.length)
    })
    broker.on('ack', (packet) => {
      if (packet && 'topic' in packet && typeof packet.topic === 'string') messagesOut.inc({ channel: channelLabel(packet.topic) })
    })
    broker.on('keepaliveTimeout', (client) => {
      keepaliveTimeouts.inc()
      log.info({ clientId: client.id }, 'keepalive timeout: client dropped')
    })
    broker.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'))
    broker.on('connectionError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'connection error'))

    const guard = { maxPacketBytes: config.BROKER_MAX_PAYLOAD_BYTES + 1024, log, limitHits, deadLetters }
    const host = ctx.common.HOST
    const listeners: Listener[] = []
    try {
      listeners.push(await listenTcp(broker, config.MQTT_PORT, host, guard))
      listeners.push(await listenWs(broker, config.MQTT_WS_PORT, host, guard))
      if (config.MQTT_TLS_PORT !== undefined && config.MQTT_TLS_CERT && config.MQTT_TLS_KEY) {
        const tlsOpts = { port: config.MQTT_TLS_PORT, host, certPath: config.MQTT_TLS_CERT, keyPath: config.MQTT_TLS_KEY }
        listeners.push(await listenTls(broker, tlsOpts, guard))
      }
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()))
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await storage.close()
      throw err
    }
    const ports = Object.fromEntries(listeners.map((l) => [l.name, l.port]))
    log.info({ ports, storage: storage.kind, id: broker.id }, 'broker listening')

    return {
      info: { ports, mqttUrl: `mqtt://127.0.0.1:${ports.tcp}`, wsUrl: `ws://127.0.0.1:${ports.ws}` },
      async close() {
        await Promise.all(listeners.map((l) => l.close()))
        await new Promise<void>((resolve) => broker.close(() => resolve()))
        await storage.close()
        await deadLetters.flush()
      },
    }
  },
})
