/**
 * `suanyang`: one command for the whole system. Arguments and signals only; the work is in
 * app.ts (services) and the per-command modules.
 */
import { withApiToken } from '../runtime/api-token.js'
import { CommonEnv, ConfigError } from '../runtime/config.js'
import { prettyDestination, wantsPretty } from '../runtime/log-pretty.js'
import { createLogger } from '../runtime/logger.js'
import { SERVICE_NAMES, type ServiceName } from '../runtime/service.js'
import { startApp } from './app.js'
import { UsageError, errorLine, parseCommand, usageLine } from './args.js'
import { banner, bannerText } from './banner.js'
import { withEnvFile } from './env-file.js'
import { deadletterCommand } from './deadletter.js'
import { deviceCommand } from './device.js'
import { schemaCommand } from './schema.js'

const HELP = `suanyang: solar pump, water bank and soil telemetry for rubber farms

Usage: suanyang <command> [options]

Commands:
  start [broker|ingest|alerts|sim|console ...]
                                         run the named services in one process (default: all)
  device add --farm F --kind pump|soil|waterbank --id D [--json]
                                         register a device and print its MQTT credentials once
  device list [--json]                   list registered devices
  device remove --id D                   remove a device (its connections are refused from then on)
  import [--json]                        copy accounts.json and contacts.json into the registry
                                         (run again: brings in only what changed since)
  farm add|edit|list|remove              the registry's farms (suanyang farm --help)
  person add|edit|list|remove            the registry's people and their roles (suanyang person --help)
  person password|sign-in-link|sign-out  a person's own sign-in
  cooperative add|edit|list|remove       cooperatives (their farms: farm edit --cooperative C)
  override set|list|remove               an alert rule's settings for a farm or a device
  deadletter count|list|show <id> [--json]
                                         inspect rejected messages kept under DATA_DIR/deadletter
  schema [--out DIR]                     write the device contract as JSON Schema (default ./schema)
  doctor [--json]                        check this machine: ports, InfluxDB, LINE token, disk, registry
  backup --out FILE                      DATA_DIR (registry, spool, credentials, state) into one
                                         .tar.gz, safe while the system runs
  restore FILE [--force]                 a backup into DATA_DIR (empty, or --force), system stopped
  dashboards --out DIR [--watch]         write the Grafana dashboards per cooperative from the registry
                                         (--watch: rewrite them whenever it changes)
  alerts list|show|ack|resolve|maintenance|cmd|link-code
                                         technician actions on alerts and pumps (suanyang alerts --help)
  workorder list|show|open|assign|visit|close|schedule
                                         work orders: from an alert to a repaired pump (suanyang workorder --help)
  sim [options]                          run the firmware simulator alone (suanyang sim --help)
  help                                   this text

Configuration is read from environment variables and ./.env (the environment wins); see
.env.example. The registry is DATA_DIR/registry.sqlite, or the PostgreSQL database at DATABASE_URL.
An error is one line with what to do; LOG_LEVEL=debug adds where it happened.
`

type Io = { env: NodeJS.ProcessEnv; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }

export async function main(argv: string[], given: Io): Promise<number> {
  const command = argv[0] ?? 'help'
  let io = given
  try {
    io = { ...given, env: (await withEnvFile(given.env)).env }
    return await dispatch(argv, io)
  } catch (err) {
    return reportFailure(command, err, io)
  }
}

/**
 * Every command fails the same way: one line with what to do (a bad variable, an unknown
 * option, a port in use), and where it happened only under LOG_LEVEL=debug.
 */
function reportFailure(command: string, err: unknown, io: Io): number {
  if (io.env.LOG_LEVEL === 'debug' || io.env.LOG_LEVEL === 'trace') io.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`)
  // A bad variable (DATABASE_URL=mysql://...) is the user's to fix: its message, not a stack.
  if (err instanceof ConfigError || err instanceof UsageError) {
    io.stderr.write(`${err.message}\n`)
    return err instanceof UsageError ? 2 : 1
  }
  const usage = usageLine(command, err)
  io.stderr.write(`${usage ?? errorLine(command, err, io.env)}\n`)
  return usage === undefined ? 1 : 2
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(HELP)
      return 0
    case 'start':
      return start(rest, io)
    case 'device':
      return deviceCommand(rest, io)
    case 'deadletter':
      return deadletterCommand(rest, io)
    case 'import':
      return (await import('./import.js')).importCommand(rest, io)
    case 'farm':
      return (await import('./farm.js')).farmCommand(rest, io)
    case 'person':
      return (await import('./person.js')).personCommand(rest, io)
    case 'cooperative':
      return (await import('./cooperative.js')).cooperativeCommand(rest, io)
    case 'override':
      return (await import('./override.js')).overrideCommand(rest, io)
    case 'schema':
      return schemaCommand(rest, io)
    case 'doctor':
      return (await import('./doctor.js')).doctorCommand(rest, io)
    case 'backup':
      return (await import('./backup.js')).backupCommand(rest, io)
    case 'restore':
      return (await import('./backup.js')).restoreCommand(rest, io)
    case 'dashboards':
      return (await import('./dashboards.js')).dashboardsCommand(rest, io)
    case 'alerts':
      return (await import('../alerts/cli.js')).alertsCommand(rest, io)
    case 'workorder':
      return (await import('./work-order.js')).workOrderCommand(rest, io)
    case 'sim': {
      const { simCommand } = await import('../firmware-sim/cli.js')
      return simCommand(rest, { env: io.env, stdout: io.stdout, log: createLogger(safeLevel(io.env.LOG_LEVEL)) })
    }
    default:
      io.stderr.write(`suanyang: unknown command "${command}"; run "suanyang --help" for the commands\n`)
      return 2
  }
}

/** An invalid LOG_LEVEL is reported with the other bad variables; log at info meanwhile. */
const safeLevel = (level: string | undefined) => (level && /^(fatal|error|warn|info|debug|trace|silent)$/.test(level) ? level : 'info')

async function start(args: string[], io: Io): Promise<number> {
  const { positionals, values } = parseCommand('start', { args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    io.stdout.write('Usage: suanyang start [broker|ingest|alerts|sim|console ...]\nWith no names, all services run in one process.\n')
    return 0
  }
  const unknown = positionals.filter((p) => !(SERVICE_NAMES as readonly string[]).includes(p) && p !== 'all')
  if (unknown.length > 0) {
    io.stderr.write(`unknown service(s): ${unknown.join(', ')}; choose from ${SERVICE_NAMES.join(', ')}\n`)
    return 2
  }
  const names: ServiceName[] = positionals.length === 0 || positionals.includes('all') ? [...SERVICE_NAMES] : (positionals as ServiceName[])
  const pretty = wantsPretty(io.env.LOG_FORMAT, io.stdout)
  const log = createLogger(safeLevel(io.env.LOG_LEVEL), pretty ? prettyDestination(io.stdout, { color: (io.stdout as { isTTY?: boolean }).isTTY === true && !io.env.NO_COLOR }) : undefined)
  let app: Awaited<ReturnType<typeof startApp>>
  // One technician token for the alerts API and the console, generated into DATA_DIR when unset.
  const dataDir = CommonEnv.safeParse(io.env).data?.DATA_DIR ?? './data'
  const token = names.includes('alerts') || names.includes('console') ? await withApiToken(io.env, dataDir) : undefined
  const env = token?.env ?? io.env
  try {
    app = await startApp(names, { env, log })
  } catch (err) {
    // As JSON too, for a supervisor's log (the stack only under LOG_LEVEL=debug); the person at
    // the terminal reads the one line on stderr.
    const debug = io.env.LOG_LEVEL === 'debug' || io.env.LOG_LEVEL === 'trace'
    // The same error without its stack: its type and code stay for whoever reads the JSON.
    const code = (err as { code?: unknown } | null)?.code
    const brief = err instanceof Error ? Object.assign(Object.create(Object.getPrototypeOf(err) as object) as Error, { message: err.message, stack: '', ...(code !== undefined ? { code } : {}) }) : err
    if (!(err instanceof ConfigError) && !pretty) log.fatal({ err: debug ? err : brief, reason: errorLine('start', err, io.env) }, 'start failed')
    return reportFailure('start', err, io)
  }
  const ready = banner({ running: names, httpPort: app.httpPort, info: app.info, env, dataDir, registry: `${app.registry.dialect}: ${app.registry.location}`, generatedToken: token?.generated ? token.token : undefined })
  if (pretty) io.stdout.write(bannerText(ready))
  else log.info(ready, 'ready')
  return new Promise<number>((resolve) => {
    let closing = false
    const shutdown = (signal: string) => {
      if (closing) {
        log.warn({ signal }, 'second signal: exiting now')
        process.exit(1)
      }
      closing = true
      log.info({ signal }, 'closing')
      const force = setTimeout(() => {
        log.error('close took over 15 s: exiting')
        process.exit(1)
      }, 15_000)
      force.unref()
      app.close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'close failed')
          resolve(1)
        },
      )
    }
    process.once('SIGINT', () => shutdown('SIGINT'))
    process.once('SIGTERM', () => shutdown('SIGTERM'))
  })
}
