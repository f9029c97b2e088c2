/**
 * One argument parser and one way to report a failed command, for every `suanyang` command
 * (issue 18): an unknown option, a port in use or any other error is one line on stderr that
 * says what to do, never a Node stack trace unless LOG_LEVEL=debug.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util'

/** A command line the command cannot take: exit code 2, its message and where the help is. */
export class UsageError extends Error {
  override name = 'UsageError'
  readonly code = 'ERR_USAGE'
}

/**
 * node:util parseArgs, with its errors turned into one UsageError line that names the command
 * and its --help. Every command declares `help`: `suanyang X --help` prints X's usage.
 */
export function parseCommand<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config)
  } catch (err) {
    const line = usageLine(command, err)
    if (line !== undefined) throw new UsageError(line)
    throw err
  }
}

const PARSE_ERROR = /^ERR_PARSE_ARGS_/

/** The one line for a parseArgs error of `suanyang <command>`, or undefined when it is none. */
export function usageLine(command: string, err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !PARSE_ERROR.test(code)) return undefined
  const message = (err as Error).message
  const help = `run "suanyang ${command} --help" for its options`
  const unknown = /^Unknown option '([^']+)'/.exec(message)
  if (unknown) return `suanyang ${command}: unknown option ${unknown[1]}; ${help}`
  const unexpected = /^Unexpected argument '([^']+)'/.exec(message)
  if (unexpected) return `suanyang ${command}: unexpected argument "${unexpected[1]}"; ${help}`
  // "Option '--out <value>' argument missing", "Option '-h, --help' does not take an argument".
  return `suanyang ${command}: ${message.split('\n')[0]?.replace(/\.$/, '')}; ${help}`
}

/** The ports suanyang listens on and their defaults (compose's INFLUX_PORT, GRAFANA_PORT are not its own). */
const PORT_DEFAULTS: Record<string, string | undefined> = { MQTT_PORT: '1883', MQTT_WS_PORT: '8083', HTTP_PORT: '8080', MQTT_TLS_PORT: undefined }

/** The variables that set `port`, from the environment and the defaults. */
export function portVariables(port: number, env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(PORT_DEFAULTS)
    .filter(([k, fallback]) => Number(env[k] || fallback) === port)
    .map(([k]) => k)
    .sort()
}

type SystemError = Error & { code?: string; port?: number; address?: string; path?: string; syscall?: string }

/**
 * One line for an error a user can fix, with the fix: the port in use names its variable, a
 * missing file or a refused permission its path. Anything else is its message.
 */
export function errorLine(command: string, err: unknown, env: Readonly<Record<string, string | undefined>>): string {
  const e = err as SystemError
  const prefix = `suanyang ${command}`
  if (e?.code === 'EADDRINUSE' && typeof e.port === 'number') {
    const vars = portVariables(e.port, env)
    const name = vars.length > 0 ? vars.join(' or ') : 'the port variable'
    return `${prefix}: port ${e.port} on ${e.address ?? 'this machine'} is already in use (another suanyang or server holds it); stop that one or set ${name} to a free port, e.g. ${vars[0] ?? 'HTTP_PORT'}=${e.port + 10}`
  }
  if (e?.code === 'EACCES' && typeof e.port === 'number') {
    const vars = portVariables(e.port, env)
    return `${prefix}: port ${e.port} needs root on this machine; set ${vars.join(' or ') || 'the port variable'} to 1024 or above`
  }
  if ((e?.code === 'ENOENT' || e?.code === 'EACCES' || e?.code === 'EROFS') && e.path) {
    const what = e.code === 'ENOENT' ? 'does not exist' : 'is not writable or readable by this user'
    return `${prefix}: ${e.path} ${what}; check the path (DATA_DIR and the options given)`
  }
  const message = e instanceof Error ? e.message : String(err)
  return `${prefix}: ${message.split('\n')[0] ?? 'failed'} (LOG_LEVEL=debug shows where)`
}
