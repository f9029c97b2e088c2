/**
 * The alert service (issue 6): the imperative shell around the engine. Readings come from the
 * in-process hub when ingest runs here, else from the broker. Who hears what comes from the
 * registry (ctx.registry) through an in-memory snapshot (directory.ts). Every change is saved before a
 * message leaves; the outbox is sent by the dispatcher; schedules run with node-cron in
 * Asia/Bangkok; HTTP routes: the LINE webhook and the technician API. Work orders (issue 17):
 * an alert that fires opens its incident's order (work-orders.ts), schedules open theirs.
 */
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import cron, { type ScheduledTask } from 'node-cron'
import { heldTooLong } from '../runtime/health.js'
import { trainingBucket } from '../contracts/alert-storage.js'
import { ID_PATTERN } from '../contracts/names.js'
import { HttpError, readBody, sendJson } from '../runtime/http.js'
import { lanAddress } from '../runtime/lan.js'
import { defineService, type ServiceContext } from '../runtime/service.js'
import { API_PREFIX, apiHandler } from './api.js'
import { MqttLink } from './commands.js'
import { AlertsEnv, type AlertsConfig } from './config.js'
import { RegistryDirectory } from './directory.js'
import { Dispatcher } from './dispatcher.js'
import { AlertEngine, type Effects } from './engine.js'
import { alertPoint, influxSink, maintenancePoint, nullSink, splitSink } from './history.js'
import { queueDigests, queueReminders } from './notices.js'
import { ConsoleNotifier } from './notifiers/console.js'
import { LineClient } from './notifiers/line.js'
import { type SmsProvider, ThaiBulkSms, TwilioSms } from './notifiers/sms.js'
import { recoverInFlight } from './outbox.js'
import type { MaintenanceRecord } from './state.js'
import { SignInLinks } from './sign-in.js'
import { StateStore } from './store.js'
import { handleEvents, verifySignature, WebhookBody, type WebhookOutcome } from './webhook.js'
import { WorkOrderDesk } from './work-orders.js'
import { WORK_ORDER_ROOTS, workOrderRoutes } from './work-orders-api.js'

const TRACKS_SAVE_MS = 30_000

function smsProvider(c: AlertsConfig): SmsProvider | undefined {
  const timeoutMs = c.ALERTS_HTTP_TIMEOUT_MS
  if (c.SMS_PROVIDER === 'thaibulksms') {
    return new ThaiBulkSms({
      baseUrl: c.THAIBULKSMS_BASE_URL,
      apiKey: c.THAIBULKSMS_API_KEY ?? '',
      apiSecret: c.THAIBULKSMS_API_SECRET ?? '',
      sender: c.SMS_SENDER ?? '',
      force: c.THAIBULKSMS_FORCE,
      timeoutMs,
    })
  }
  if (c.SMS_PROVIDER === 'twilio') {
    return new TwilioSms({
      baseUrl: c.TWILIO_BASE_URL,
      accountSid: c.TWILIO_ACCOUNT_SID ?? '',
      authToken: c.TWILIO_AUTH_TOKEN ?? '',
      from: c.TWILIO_FROM,
      messagingServiceSid: c.TWILIO_MESSAGING_SERVICE_SID,
      timeoutMs,
    })
  }
  return undefined
}

async function start(config: Readonly<AlertsConfig>, ctx: ServiceContext) {
  const log = ctx.log.child({ svc: 'alerts' })
  // Who hears what: the registry's farms, people and roles, a snapshot refreshed when it changes.
  const seenChange = ctx.metrics.gauge('suanyang_alert_registry_change', 'The registry change (audit id) the alert contacts were last read at')
  const directory = new RegistryDirectory(ctx.registry, log, (_farms, changeId) => seenChange.set(changeId))
  await directory.start()
  const farms = () => directory.current()

  const store = new StateStore(ctx.common.DATA_DIR)
  const loaded = await store.load()
  for (const problem of loaded.problems) log.error({ problem }, 'alert state damaged')
  const line = config.LINE_CHANNEL_ACCESS_TOKEN
    ? new LineClient({ baseUrl: config.LINE_API_BASE_URL, channelAccessToken: config.LINE_CHANNEL_ACCESS_TOKEN, timeoutMs: config.ALERTS_HTTP_TIMEOUT_MS })
    : undefined
  const sms = smsProvider(config)
  const engine = new AlertEngine(
    { farms, available: { line: line !== undefined, sms: sms !== undefined }, uuid: randomUUID, startedMs: ctx.now() },
    loaded.state,
    loaded.tracks,
  )
  const outbox = engine.state.outbox
  for (const [key, item] of Object.entries(outbox)) outbox[key] = recoverInFlight(item, ctx.now())
  store.attach(engine.state, engine.tracks)
  await store.saveState()

  const sinkTo = (url: string, bucket: string) => influxSink({ url, token: config.INFLUX_TOKEN, org: config.INFLUX_ORG, bucket }, log)
  const history = config.INFLUX_URL
    ? splitSink(sinkTo(config.INFLUX_URL, config.INFLUX_BUCKET), sinkTo(config.INFLUX_URL, trainingBucket(config.INFLUX_BUCKET, config.INFLUX_TRAINING_BUCKET)), (farm) => farms().get(farm).training)
    : nullSink
  const sent = ctx.metrics.counter('suanyang_alert_messages_total', 'Alert messages by channel and final status')
  const lifecycle = ctx.metrics.counter('suanyang_alert_events_total', 'Alert lifecycle events by rule and type')
  const sweeps = ctx.metrics.counter('suanyang_alert_sweeps_total', 'Alert sweep ticks completed')
  const refusedSends = ctx.metrics.counter('suanyang_alert_messages_refused_total', 'Messages refused at the last step before sending, by reason (training_farm_not_trainer, not_serving_farm, address_mismatch)')
  const dispatcher = new Dispatcher({
    state: engine.state,
    farms,
    line,
    sms,
    console: new ConsoleNotifier(),
    save: () => store.saveState(),
    now: () => ctx.now(),
    uuid: randomUUID,
    policy: { baseMs: config.ALERTS_RETRY_BASE_MS, maxMs: config.ALERTS_RETRY_MAX_MS, maxAttempts: config.ALERTS_RETRY_ATTEMPTS },
    log,
    onRefused: (_item, decision) => refusedSends.inc({ reason: decision.reason }),
    onDone: (item) => {
      sent.inc({ channel: item.channel, status: item.status })
      // A sign-in link is a credential: once delivered (or given up), its words are not kept.
      const kept = engine.state.outbox[item.key]
      if (item.purpose === 'sign-in' && kept) {
        const { line: _line, ...rest } = kept
        engine.state.outbox[item.key] = { ...rest, sms: '(sign-in link: not kept)' }
        engine.markDirty()
      }
      const alert = item.alertId ? engine.find(item.alertId) : undefined
      if (alert && item.status === 'sent') {
        history.write([alertPoint({ type: 'notify', alert, atMs: item.doneMs ?? ctx.now(), contactId: item.contactId, channel: item.channel })])
      }
    },
  })

  const autoOrders = config.ALERTS_WORK_ORDERS === 'on'
  /** After any change: history, then the state on disk, then the messages (never before the save). */
  const commit = async (effects: Effects, maintenance?: MaintenanceRecord): Promise<void> => {
    for (const e of effects.events) {
      lifecycle.inc({ rule: e.alert.rule, type: e.type })
      if (e.type !== 'pending' && e.type !== 'cancel') log.info({ alert: e.alert.id, event: e.type, by: e.by }, 'alert')
    }
    const points = effects.events.filter((e) => e.type !== 'pending' && e.type !== 'cancel').map(alertPoint)
    if (maintenance) points.push(maintenancePoint(maintenance))
    if (points.length > 0) history.write(points)
    const resolved = effects.events.filter((e) => e.type === 'resolve').map((e) => e.alert)
    if (resolved.length > 0) void store.appendResolved(resolved).catch((err: unknown) => log.error({ err }, 'resolved history append failed'))
    if (engine.takeDirty() || effects.queued.length > 0) await store.saveState()
    if (effects.queued.length > 0) dispatcher.kick(effects.queued.map((i) => i.key))
    // An alert that fired opens its incident's work order (after the save: the alert is on disk).
    if (autoOrders && effects.events.some((e) => e.type === 'fire')) void desk.afterEvents(effects.events)
  }
  const desk: WorkOrderDesk = new WorkOrderDesk({ registry: ctx.registry, engine, log, now: () => ctx.now(), commit: (e, m) => commit(e, m) })
  // Most readings change nothing durable: they cost no promise at all.
  const commitLater = (effects: Effects) => {
    if (effects.events.length === 0 && effects.queued.length === 0 && !engine.isDirty()) return
    void commit(effects).catch((err: unknown) => log.error({ err }, 'alert commit failed'))
  }

  const link = new MqttLink({
    url: () => ctx.mqttUrl(),
    credentials: () => ctx.accounts.serviceCredentials('alerts'),
    readings: !ctx.running.includes('ingest'),
    onReading: (r) => commitLater(engine.onReading(r, ctx.now())),
    now: () => ctx.now(),
    log,
  })
  const unsubscribe = ctx.running.includes('ingest') ? ctx.hub.subscribe((r) => commitLater(engine.onReading(r, ctx.now()))) : undefined
  let closed = false
  if (!unsubscribe) {
    // Readings from the broker: this service is ready once connected and subscribed, and
    // degraded while the broker stays out of reach.
    let subscribed = false
    link.down.set(true, ctx.now())
    ctx.health.ready('alerts', () => (subscribed ? { ok: true } : { ok: false, reason: 'not connected to the broker yet' }))
    ctx.health.check('alerts broker', () => heldTooLong(link.down, ctx.now(), ctx.common.HEALTH_BROKER_DOWN_S * 1_000, 'unreachable'))
    // Wait for the first connection (a subscription made late would miss what was published
    // meanwhile), then keep trying in the background if it failed.
    const connectLoop = async (): Promise<void> => {
      while (!closed) {
        try {
          await link.connect()
          subscribed = true
          return
        } catch (err) {
          log.warn({ err }, 'alerts cannot reach the broker yet')
          await new Promise((r) => setTimeout(r, 2_000))
        }
      }
    }
    await Promise.race([connectLoop(), new Promise((r) => setTimeout(r, 5_000).unref())])
  }

  /**
   * A code link is the person's LINE id from now on: written to the registry (audit `how: line`)
   * so other processes and `suanyang person list` see it. state.json keeps it too, for sending
   * at once and should the registry refuse it (the id already on someone else).
   */
  const recordLink = async (personId: string, lineUserId: string): Promise<void> => {
    try {
      const r = await ctx.registry.people.update(personId, { lineUserId }, { who: personId, how: 'line' })
      if (!r.ok) log.warn({ contact: personId, reason: r.reason, issues: r.issues }, 'LINE link kept in the alert state only: the registry refused it')
      else await directory.refresh()
    } catch (err) {
      log.error({ err, contact: personId }, 'LINE link not written to the registry')
    }
  }

  const webhookRefused = ctx.metrics.counter('suanyang_alert_webhook_events_refused_total', 'LINE webhook events not handled, by reason (duplicate, too_old, future, no_timestamp)')
  const linkAttempts = ctx.metrics.counter('suanyang_alert_link_code_attempts_total', 'Link codes typed in the LINE chat, by result (linked, wrong, rate_limited)')
  const linkBurnt = ctx.metrics.counter('suanyang_alert_link_codes_burnt_total', 'Link codes invalidated after too many wrong guesses')
  const noteWebhook = (outcome: WebhookOutcome) => {
    for (const r of outcome.refused) {
      webhookRefused.inc({ reason: r.reason })
      // A redelivery we already handled is normal; anything else is a clock or a replay.
      if (r.reason === 'duplicate') log.debug({ event: r.key, redelivery: r.redelivery }, 'LINE event seen before: skipped')
      else log.warn({ event: r.key, reason: r.reason, ageMs: r.ageMs, redelivery: r.redelivery }, 'LINE event refused')
    }
    for (const a of outcome.linkAttempts) {
      linkAttempts.inc({ result: a.ok ? 'linked' : a.reason })
      if (a.ok) {
        log.info({ lineUser: a.userId, contact: a.contactId }, 'LINE user linked by code')
        void recordLink(a.contactId, a.userId)
      }
      else log.warn({ lineUser: a.userId, reason: a.reason }, 'link code refused')
      if (!a.ok && a.reason === 'wrong' && a.burnt.length > 0) {
        linkBurnt.inc({}, a.burnt.length)
        log.warn({ contacts: a.burnt }, 'link codes burnt after too many wrong guesses: issue new ones')
      }
    }
  }

  // LINE webhook: raw body, signature first, then events; 200 once the state is saved.
  ctx.http.add('POST', config.LINE_WEBHOOK_PATH, async (req, res) => {
    const secret = config.LINE_CHANNEL_SECRET
    if (!secret) throw new HttpError(503, 'LINE webhook disabled: set LINE_CHANNEL_SECRET')
    const raw = await readBody(req, 1024 * 1024)
    const signature = req.headers['x-line-signature']
    if (!verifySignature(raw, secret, typeof signature === 'string' ? signature : undefined)) throw new HttpError(401, 'bad signature')
    let body
    try {
      body = WebhookBody.parse(JSON.parse(raw.toString('utf8')))
    } catch {
      throw new HttpError(400, 'not a LINE webhook body')
    }
    const outcome = handleEvents(body.events, engine, farms(), ctx.now(), { maxEventAgeMs: config.LINE_WEBHOOK_MAX_AGE_MS })
    if (outcome.changed) engine.markDirty()
    noteWebhook(outcome)
    await commit(outcome.effects)
    for (const a of outcome.acks) {
      await ctx.registry.audit
        .record({ who: a.personId, how: 'line' }, 'alert.ack', `alert:${a.alertId}`, { farm: a.farm })
        .catch((err: unknown) => log.error({ err, alert: a.alertId }, 'audit row not written: the acknowledgement stands'))
    }
    sendJson(res, 200, {})
    for (const r of outcome.replies) void line?.reply(r.replyToken, r.messages)
  })
  const api = apiHandler({
    auth: ctx.auth,
    audit: (actor, action, target, detail) =>
      ctx.registry.audit.record(actor, action, target, detail).catch((err: unknown) => log.error({ err, action, target }, 'audit row not written: the action stands')),
    engine,
    link,
    cmdTimeoutMs: config.ALERTS_CMD_TIMEOUT_MS,
    linkCodeTtlMs: config.LINE_LINK_CODE_TTL_MS,
    now: () => ctx.now(),
    commit,
    workOrders: { roots: WORK_ORDER_ROOTS, handle: workOrderRoutes({ auth: ctx.auth, registry: ctx.registry, engine, desk, now: () => ctx.now() }) },
  })
  // Public: "send me a sign-in link" (the console's sign-in form). Always 202: it never says whether the id exists.
  const signInLinks = new SignInLinks({
    engine,
    registry: ctx.registry,
    consoleUrl: config.CONSOLE_PUBLIC_URL ?? `http://${lanAddress()}:${ctx.common.HTTP_PORT}/console/`,
    ttlMs: config.SIGN_IN_LINK_TTL_HOURS * 3_600_000,
  })
  ctx.http.add('POST', '/alerts/sign-in-link', async (req, res) => {
    let person: string
    try {
      person = SignInLinkBody.parse(JSON.parse((await readBody(req, 1024)).toString('utf8'))).person
    } catch (err) {
      throw err instanceof HttpError ? err : new HttpError(400, 'body: {"person": "<sign-in id>"}')
    }
    const { outcome, effects } = await signInLinks.send(person, ctx.now())
    log.info({ person, outcome }, 'sign-in link asked for')
    await commit(effects)
    sendJson(res, 202, { ok: true })
  })
  ctx.http.add('GET', `${API_PREFIX}*`, api)
  ctx.http.add('POST', `${API_PREFIX}*`, api)

  const schedule = (name: string, expr: string, fn: () => Promise<void> | void): ScheduledTask | undefined =>
    expr === 'off' ? undefined : cron.schedule(expr, async () => {
      try {
        await fn()
      } catch (err) {
        log.error({ err, task: name }, 'scheduled task failed')
      }
    }, { name: `alerts-${name}`, timezone: 'Asia/Bangkok', noOverlap: true })
  const tasks = [
    schedule('sweep', config.ALERTS_SWEEP_CRON, async () => {
      await commit(engine.sweep(ctx.now()))
      dispatcher.kick()
      sweeps.inc()
    }),
    schedule('digest', config.ALERTS_DIGEST_CRON, () => commit(queueDigests(engine, ctx.now()))),
    schedule('reminders', config.ALERTS_REMINDER_CRON, () => commit(queueReminders(engine, ctx.now()))),
    schedule('work-orders', autoOrders ? config.ALERTS_WORK_ORDER_CRON : 'off', () => desk.round()),
  ]
  const tracksTimer = setInterval(() => void store.saveTracks().catch((err: unknown) => log.error({ err }, 'tracks save failed')), TRACKS_SAVE_MS)
  tracksTimer.unref()
  dispatcher.kick() // whatever a previous run left queued

  return {
    info: {
      webhookPath: config.LINE_WEBHOOK_PATH,
      api: API_PREFIX,
      registry: `${ctx.registry.dialect}: ${ctx.registry.location}`,
      line: line !== undefined,
      sms: sms?.name ?? 'none',
      readings: unsubscribe ? 'hub' : 'mqtt',
    },
    async close() {
      closed = true
      directory.close()
      for (const t of tasks) await t?.destroy()
      clearInterval(tracksTimer)
      unsubscribe?.()
      await dispatcher.close()
      await link.close()
      await Promise.all([store.saveState(), store.saveTracks()])
      await history.close()
    },
  }
}

export const alertsService = defineService({ name: 'alerts', env: AlertsEnv, start })

const SignInLinkBody = z.strictObject({ person: z.string().regex(ID_PATTERN) })
