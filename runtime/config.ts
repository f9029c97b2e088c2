/**
 * Configuration: environment variables only, validated with zod once at start, frozen, and
 * passed in. Nothing else reads process.env. Every service declares its own variables; the
 * app validates all of the selected services' variables before starting any of them, and one
 * ConfigError lists every bad variable.
 */
import { z } from 'zod'

export type Env = Readonly<Record<string, string | undefined>>

export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly code = 'ERR_CONFIG'
}

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback)
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback)
/** Unset or empty means absent, so `FOO=` in a .env file does not become an empty string. */
export const optionalString = () =>
  z.preprocess((v) => (v === '' ? undefined : v), z.string().optional())
/**
 * An http(s) URL. `z.url()` alone takes `localhost:8086` (scheme "localhost:"), which then fails
 * at the first request (issue 18): the scheme is required here, with the fix in the message.
 */
export const httpUrl = () =>
  z.url({ protocol: /^https?$/, error: (i) => `must be an http:// or https:// URL, e.g. http://${String(i.input ?? 'host:port').replace(/^[a-z]+:\/\//i, '')}` })
/** httpUrl(), or absent when unset or empty. */
export const optionalHttpUrl = () => z.preprocess((v) => (v === '' ? undefined : v), httpUrl().optional())
export const flag = (fallback: boolean) =>
  z.preprocess((v) => (v === undefined || v === '' ? fallback : /^(1|true|yes|on)$/i.test(String(v))), z.boolean())

/** Variables every service shares. */
export const CommonEnv = z.object({
  MQTT_PORT: port(1883),
  HTTP_PORT: port(8080),
  HOST: z.string().default('0.0.0.0'),
  MQTT_URL: optionalString(),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** auto: readable lines on a terminal, JSON (pino) otherwise. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** /healthz is degraded while less than this is free on the disk of DATA_DIR. */
  HEALTH_DISK_MIN_FREE_MB: positiveInt(500),
  /** /healthz is degraded once a service's connection to the broker has been down this long. */
  HEALTH_BROKER_DOWN_S: positiveInt(30),
})
export type CommonConfig = z.output<typeof CommonEnv>

export interface Issue {
  variable: string
  message: string
}

export function collectIssues(schema: z.ZodType, env: Env): Issue[] {
  const result = schema.safeParse(env)
  if (result.success) return []
  return result.error.issues.map((i) => ({ variable: String(i.path[0] ?? '(env)'), message: i.message }))
}

/** Validates several schemas against one env, and throws one error that lists every problem. */
export function loadAll<T extends readonly z.ZodType[]>(
  schemas: T,
  env: Env,
): { [K in keyof T]: Readonly<z.output<T[K]>> } {
  const issues = schemas.flatMap((s) => collectIssues(s, env))
  if (issues.length > 0) {
    const unique = [...new Map(issues.map((i) => [`${i.variable}: ${i.message}`, i])).values()]
    const lines = unique.map((i) => `${i.variable}=${JSON.stringify(env[i.variable] ?? null)}: ${i.message}`)
    // One bad variable is one line (issue 18: an error is one line with the fix); several, a list.
    throw new ConfigError(lines.length === 1 ? `invalid configuration: ${lines[0]}` : `invalid configuration:\n${lines.map((l) => `  ${l}`).join('\n')}`)
  }
  return schemas.map((s) => Object.freeze(s.parse(env))) as { [K in keyof T]: Readonly<z.output<T[K]>> }
}
