/**
 * What `suanyang start` says once everything runs (issue 18): where the field console is (with
 * the sign-in link of a generated token), where alerts go, where data is kept. Pure: the text
 * and the fields of the `ready` log line, from what the services reported and the configuration.
 */
import { resolve } from 'node:path'
import type { Env } from '../runtime/config.js'

export interface BannerInput {
  running: readonly string[]
  httpPort: number
  info: Partial<Record<string, Record<string, unknown>>>
  env: Env
  dataDir: string
  registry: string
  /** The installation token when it was generated into DATA_DIR (a set one is never shown). */
  generatedToken?: string | undefined
}

export interface Banner {
  console?: string
  signIn?: string
  alerts?: string
  readings?: string
  data: string
  registry: string
  health: string
}

/** The console's URLs on this start's HTTP port (HTTP_PORT=0 binds another). */
function consoleUrl(info: BannerInput['info'], httpPort: number): string | undefined {
  const urls = info.console?.urls
  const last = Array.isArray(urls) ? urls.at(-1) : undefined
  if (typeof last !== 'string') return undefined
  const u = new URL(last)
  u.port = String(httpPort)
  return u.toString()
}

function alertsGo(env: Env): string {
  const ways = [
    ...(env.LINE_CHANNEL_ACCESS_TOKEN ? [`LINE (${env.LINE_API_BASE_URL ?? 'https://api.line.me'})`] : []),
    ...(env.SMS_PROVIDER && env.SMS_PROVIDER !== 'none' ? [`SMS via ${env.SMS_PROVIDER}`] : []),
  ]
  if (ways.length > 0) return `${ways.join(' and ')}, and the console`
  return 'the console only (set LINE_CHANNEL_ACCESS_TOKEN or SMS_PROVIDER to reach phones)'
}

export function banner(input: BannerInput): Banner {
  const url = consoleUrl(input.info, input.httpPort)
  const spool = input.info.ingest?.spool
  const influx = input.info.ingest?.influx
  return {
    ...(url ? { console: url } : {}),
    ...(url && input.generatedToken ? { signIn: `${url}#token=${input.generatedToken}` } : {}),
    ...(input.running.includes('alerts') ? { alerts: alertsGo(input.env) } : {}),
    ...(input.running.includes('ingest')
      ? { readings: typeof influx === 'string' ? `InfluxDB at ${influx}` : `the local spool ${String(spool ?? 'in DATA_DIR')} (set INFLUX_URL to store them in InfluxDB)` }
      : {}),
    data: resolve(input.dataDir),
    registry: input.registry,
    health: `http://127.0.0.1:${input.httpPort}/healthz`,
  }
}

/** The banner as a person reads it on a terminal. */
export function bannerText(b: Banner): string {
  const rows: Array<[string, string | undefined]> = [
    ['field console', b.console],
    ['sign in', b.signIn],
    ['alerts go to', b.alerts],
    ['readings', b.readings],
    ['data kept in', b.data],
    ['registry', b.registry],
    ['health', b.health],
  ]
  const lines = rows.filter((r): r is [string, string] => r[1] !== undefined).map(([k, v]) => `  ${k.padEnd(14)} ${v}`)
  return `\nsuanyang is running (Ctrl-C stops it)\n${lines.join('\n')}\n\n`
}
