/**
 * The ingest service: broker -> durable spool -> InfluxDB, and every accepted reading to the
 * alert engine in the same process. Wiring only.
 */
import { join } from 'node:path'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { RegistryWatch } from '../registry/watch.js'
import { defineService } from '../runtime/service.js'
import { farmFilters, farmMatcher } from './accept.js'
import { IngestEnv, ingestClientId, trainingBucket } from './config.js'
import { FarmGate, farmOfTopic } from './farm-gate.js'
import { IngestHealth } from './health.js'
import { IngestPipeline } from './pipeline.js'
import { Spool } from './spool.js'
import { AckingSubscriber } from './subscriber.js'
import { InfluxWriter } from './writer.js'

/** Channels ingest reads: telemetry and device status and events (commands are not readings). */
export const INGEST_CHANNELS = ['telemetry', 'status', 'event'] as const

export const ingestService = defineService({
  name: 'ingest',
  env: IngestEnv,
  async start(config, ctx) {
    const { log, metrics } = ctx
    const dataDir = ctx.common.DATA_DIR
    const creds =
      config.INGEST_MQTT_USERNAME && config.INGEST_MQTT_PASSWORD
        ? { username: config.INGEST_MQTT_USERNAME, password: config.INGEST_MQTT_PASSWORD }
        : await ctx.accounts.serviceCredentials('ingest')
    const commits = metrics.histogram('ingest_spool_commit_seconds', 'Spool group commits (write + fdatasync) by duration: readings are acknowledged after them', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1])
    const clientId = ingestClientId(config.INGEST_CLIENT_ID, creds.username)
    const spool = await Spool.open(join(dataDir, 'spool', config.INGEST_CLIENT_ID), { onCommit: (s) => commits.observe(s) })
    const deadLetters = DeadLetterStore.forDataDir(dataDir, ctx.now, (err) => log.error({ err }, 'dead-letter write failed'))
    // Training farms (the registry's flag, followed live) are stored apart: their own spool and bucket (issue 16).
    const trainingSpool = await Spool.open(join(dataDir, 'spool', `${config.INGEST_CLIENT_ID}-training`), { onCommit: (s) => commits.observe(s) })
    let training = new Set<string>()
    let farms = new Set<string>()
    const trainingWatch = new RegistryWatch(ctx.registry, {
      read: async (r) => (await r.farms.list()).map((f) => ({ id: f.id, training: f.training })),
      onChange: (list) => {
        farms = new Set(list.map((f) => f.id))
        training = new Set(list.filter((f) => f.training).map((f) => f.id))
      },
      onError: (err) => log.warn({ err }, 'registry read failed: training farms kept'),
    })
    await trainingWatch.start()
    // A farm not in this copy yet waits for a fresh read before its readings are sorted (farm-gate.ts).
    const gate = new FarmGate({ known: (farm) => farms.has(farm), fresh: () => trainingWatch.fresh(), onError: (err) => log.warn({ err }, 'registry read failed: farm sorted from the copy held'), now: ctx.now })
    const writerFor = (bucket: string, from: Spool, idleCheck: boolean) =>
      config.INFLUX_URL
        ? new InfluxWriter(
            {
              idleCheck,
              url: config.INFLUX_URL,
              token: config.INFLUX_TOKEN,
              org: config.INFLUX_ORG,
              bucket,
              batchBytes: config.INGEST_BATCH_BYTES,
              flushMs: config.INGEST_FLUSH_MS,
              timeoutMs: config.INGEST_WRITE_TIMEOUT_MS,
              minRetryMs: config.INGEST_RETRY_MIN_MS,
              maxRetryMs: config.INGEST_RETRY_MAX_MS,
            },
            from,
            deadLetters,
            log,
            metrics,
            { now: ctx.now, random: Math.random },
          )
        : undefined
    const writer = writerFor(config.INFLUX_BUCKET, spool, true)
    // The same server: the main writer's idle check and health speak for both; this one only writes.
    const trainingWriter = writerFor(trainingBucket(config), trainingSpool, false)
    if (!writer) log.info({ spool: spool.dir }, 'INFLUX_URL not set: readings stay in the local spool')

    const subscriber = new AckingSubscriber({
      url: ctx.mqttUrl(),
      clientId,
      username: creds.username,
      password: creds.password,
      filters: farmFilters(config.INGEST_FARMS, INGEST_CHANNELS),
      log,
    })
    const pipeline = new IngestPipeline({
      spool,
      trainingSpool,
      deadLetters,
      hub: ctx.hub,
      metrics,
      log,
      now: ctx.now,
      policy: {
        maxBytes: config.INGEST_MAX_PAYLOAD_BYTES,
        maxFutureMs: config.INGEST_MAX_FUTURE_MS,
        farmAllowed: farmMatcher(config.INGEST_FARMS),
        isTraining: (farm) => training.has(farm),
      },
      ack: (tokens) => subscriber.ack(tokens),
      onSpoolError: () => {
        // Leave and come back: the broker redelivers what was not acknowledged.
        subscriber.pause()
        setTimeout(() => subscriber.resume(), 1_000).unref()
      },
    })

    const health = new IngestHealth(
      {
        writeFailingMs: config.INGEST_HEALTH_WRITE_FAILING_S * 1_000,
        spoolStallMs: config.INGEST_HEALTH_SPOOL_STALL_S * 1_000,
        spoolMaxBytes: config.INGEST_HEALTH_SPOOL_MAX_BYTES,
        brokerDownMs: ctx.common.HEALTH_BROKER_DOWN_S * 1_000,
      },
      ctx.now(),
    )
    ctx.health.check('ingest storage', () => health.storage(ctx.now()))
    ctx.health.check('ingest spool', () => health.spool(ctx.now()))
    ctx.health.check('ingest broker', () => health.broker(ctx.now()))
    ctx.health.ready('ingest', () => health.ready())

    const spoolBytes = metrics.gauge('ingest_spool_bytes', 'Bytes in the spool not yet confirmed by InfluxDB').collect(() => spoolBytes.set(spool.bytes))
    const full = metrics.gauge('ingest_spool_full', '1 while ingest has stopped taking messages because the spool is full')
    const watch = setInterval(() => {
      const bytes = spool.bytes
      if (bytes >= config.INGEST_SPOOL_MAX_BYTES && full.get() === 0) {
        full.set(1)
        log.warn({ bytes, max: config.INGEST_SPOOL_MAX_BYTES }, 'spool full: not taking messages, the broker holds them')
        subscriber.pause()
      } else if (bytes < config.INGEST_SPOOL_MAX_BYTES * 0.8 && full.get() === 1) {
        full.set(0)
        log.info({ bytes }, 'spool below its limit: taking messages again')
        subscriber.resume()
      }
      const status = writer?.status()
      health.observe({ writerFailing: status && status.failingSinceMs !== undefined, writerError: status?.lastError, spoolBytes: bytes, spoolFull: full.get() === 1 }, ctx.now())
    }, 250)

    subscriber.onDelivery = (topic, payload, token) => {
      const farm = farmOfTopic(topic)
      if (gate.open(farm)) pipeline.handle(topic, payload, token)
      else gate.hold(farm as string, () => pipeline.handle(topic, payload, token))
    }
    subscriber.onMalformed = (reason, packet, topic, token) => pipeline.malformed(reason, packet, topic, token)
    const connections = metrics.counter('ingest_mqtt_connections_total', 'Connections to the broker that got a CONNACK (a steady rise: a reconnect loop)')
    subscriber.on('connected', (sessionPresent) => {
      connections.inc()
      health.connected(ctx.now())
      log.info({ sessionPresent, clientId, username: creds.username }, 'ingest connected')
    })
    subscriber.on('disconnected', () => health.disconnected(ctx.now()))
    subscriber.start()
    writer?.start()
    trainingWriter?.start()

    return {
      info: { clientId, username: creds.username, farms: config.INGEST_FARMS.length > 0 ? config.INGEST_FARMS : '*', spool: spool.dir, trainingBucket: trainingBucket(config), influx: config.INFLUX_URL ?? null },
      async close() {
        clearInterval(watch)
        subscriber.stopReading()
        await pipeline.settle() // what was received is spooled and acknowledged before we leave
        await subscriber.close() // never unsubscribes: the session keeps queueing while we are down
        trainingWatch.close()
        await writer?.stop()
        await trainingWriter?.stop()
        await spool.close()
        await trainingSpool.close()
        await deadLetters.flush()
      },
    }
  },
})
