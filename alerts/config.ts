/**
 * The alert service's environment variables (prefixes ALERTS_, LINE_, SMS_, THAIBULKSMS_,
 * TWILIO_, plus INFLUX_* for history). Everything optional: with nothing set, alerts go to the
 * console. A half-configured provider is refused at start, naming the missing variable.
 */
import cron from 'node-cron'
import { z } from 'zod'
import { httpUrl, optionalHttpUrl, optionalString, positiveInt } from '../runtime/config.js'
import { DEFAULT_LINK_CODE_TTL_MS } from './link-codes.js'
import { DEFAULT_MAX_EVENT_AGE_MS } from './webhook.js'

/** A node-cron expression in Asia/Bangkok, or `off`. */
const cronExpr = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((e) => e === 'off' || cron.validate(e), 'not a cron expression (node-cron: 5 or 6 fields) nor "off"')

export const AlertsEnv = z
  .object({
    /** The farms file (contacts, quiet hours, overrides); relative paths are under DATA_DIR. */
    ALERTS_CONTACTS_FILE: z.string().min(1).default('contacts.json'),
    /** Bearer token of the technician API; unset = API off. */
    ALERTS_API_TOKEN: optionalString(),
    ALERTS_SWEEP_CRON: cronExpr('*/10 * * * * *'),
    ALERTS_DIGEST_CRON: cronExpr('0 18 * * *'),
    ALERTS_REMINDER_CRON: cronExpr('0 7 * * *'),
    /**
     * Work orders by themselves (issue 17): an alert that fires opens its incident's order and
     * tells the assignee; due maintenance schedules open theirs (checked on ALERTS_WORK_ORDER_CRON).
     * `off`: only people open them (the API and CLI work either way).
     */
    ALERTS_WORK_ORDERS: z.enum(['on', 'off']).default('on'),
    ALERTS_WORK_ORDER_CRON: cronExpr('15 */5 * * * *'),
    ALERTS_RETRY_BASE_MS: positiveInt(1_000),
    ALERTS_RETRY_MAX_MS: positiveInt(60_000),
    ALERTS_RETRY_ATTEMPTS: positiveInt(12),
    ALERTS_HTTP_TIMEOUT_MS: positiveInt(10_000),
    ALERTS_CMD_TIMEOUT_MS: positiveInt(10_000),
    LINE_CHANNEL_ACCESS_TOKEN: optionalString(),
    LINE_CHANNEL_SECRET: optionalString(),
    LINE_API_BASE_URL: httpUrl().default('https://api.line.me'),
    LINE_WEBHOOK_PATH: z.string().startsWith('/').default('/line/webhook'),
    /** A webhook event further than this from our clock (its `timestamp`) is refused: a replayed old body. */
    LINE_WEBHOOK_MAX_AGE_MS: positiveInt(DEFAULT_MAX_EVENT_AGE_MS),
    /** How long a link code (`suanyang alerts link-code`) stays valid. */
    LINE_LINK_CODE_TTL_MS: positiveInt(DEFAULT_LINK_CODE_TTL_MS),
    /** The console as people's phones reach it, for sign-in links sent by LINE or SMS (never the request's Host). Default: this machine's LAN address. */
    CONSOLE_PUBLIC_URL: optionalHttpUrl(),
    SIGN_IN_LINK_TTL_HOURS: positiveInt(24),
    SMS_PROVIDER: z.enum(['none', 'thaibulksms', 'twilio']).default('none'),
    /** Registered sender name: at most 11 characters, A-Z and 0-9 (notifications.md 2.2). */
    SMS_SENDER: z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^[A-Za-z0-9]{1,11}$/).optional()),
    THAIBULKSMS_API_KEY: optionalString(),
    THAIBULKSMS_API_SECRET: optionalString(),
    THAIBULKSMS_BASE_URL: httpUrl().default('https://api-v2.thaibulksms.com'),
    THAIBULKSMS_FORCE: z.enum(['standard', 'corporate']).default('corporate'),
    TWILIO_ACCOUNT_SID: optionalString(),
    TWILIO_AUTH_TOKEN: optionalString(),
    TWILIO_FROM: optionalString(),
    TWILIO_MESSAGING_SERVICE_SID: optionalString(),
    TWILIO_BASE_URL: httpUrl().default('https://api.twilio.com'),
    // Same definitions as ingest/config.ts: one InfluxDB for readings and alert history.
    INFLUX_URL: optionalHttpUrl(),
    INFLUX_TOKEN: z.string().default(''),
    INFLUX_ORG: z.string().default(''),
    INFLUX_BUCKET: z.string().min(1).default('suanyang'),
    /** Training farms' alert history, apart from real data (issue 16; ingest stores their readings there). */
    INFLUX_TRAINING_BUCKET: optionalString(),
  })
  .superRefine((c, ctx) => {
    const need = (name: keyof typeof c, why: string) => {
      if (!c[name]) ctx.addIssue({ code: 'custom', path: [name], message: `required ${why}` })
    }
    if (c.LINE_CHANNEL_ACCESS_TOKEN) need('LINE_CHANNEL_SECRET', 'with LINE_CHANNEL_ACCESS_TOKEN (webhook signatures)')
    if (c.SMS_PROVIDER === 'thaibulksms') {
      need('THAIBULKSMS_API_KEY', 'when SMS_PROVIDER=thaibulksms')
      need('THAIBULKSMS_API_SECRET', 'when SMS_PROVIDER=thaibulksms')
      need('SMS_SENDER', 'when SMS_PROVIDER=thaibulksms')
    }
    if (c.SMS_PROVIDER === 'twilio') {
      need('TWILIO_ACCOUNT_SID', 'when SMS_PROVIDER=twilio')
      need('TWILIO_AUTH_TOKEN', 'when SMS_PROVIDER=twilio')
      if (!c.TWILIO_FROM && !c.TWILIO_MESSAGING_SERVICE_SID) need('TWILIO_FROM', 'when SMS_PROVIDER=twilio (or TWILIO_MESSAGING_SERVICE_SID)')
    }
  })

export type AlertsConfig = z.output<typeof AlertsEnv>
