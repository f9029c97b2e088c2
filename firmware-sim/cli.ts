/**
 * `suanyang sim`: the simulator on its own, against any broker. Live (real time or `--speed`),
 * or backfill (`--from DATE --days N`: history as fast as the broker acknowledges).
 */
import { parseArgs } from 'node:util'
import { describeIssues } from '../contracts/decode.js'
import { FAULT_SCENARIOS, type FaultScenario } from '../contracts/sim-control.js'
import { openAccountStore } from '../registry/accounts-source.js'
import { RegistryEnv } from '../registry/config.js'
import { CommonEnv } from '../runtime/config.js'
import { openRegistry, type Registry } from '../registry/index.js'
import type { AccountStore } from '../runtime/accounts.js'
import type { Logger } from '../runtime/logger.js'
import { SimEnv } from './config.js'
import { startControl } from './control.js'
import { Engine, MAX_SPEED } from './engine.js'
import type { TimedFault } from './run.js'
import { parseAt } from './scenario.js'
import { type FleetPlan, planFleet, registerDevices } from './setup.js'
import { markTrainingFarms, watchTraining } from './training.js'
import { mqttTransport } from './transport-mqtt.js'

export const SIM_USAGE = `Usage: suanyang sim [options]

Simulated farms of the Ranong pilot: solar pumps, water banks and soil probes on MQTT.

  --farms N            demo farms ranong-01 ... (default SIM_FARMS, 10)
  --devices N          total devices instead (load tests): N/5 farms
  --speed X            simulated seconds per real second (default SIM_SPEED, 1)
  --seed S             the same seed gives the same readings (default SIM_SEED)
  --from DATE          backfill from this date (ISO; a bare date is midnight in Thailand)
  --days N             with --from: how many days (default: up to now)
  --scenario FILE      training farms and timed faults (see firmware-sim/FAULTS.md)
  --fault NAME         inject a fault (repeatable, paired with --device and --at)
  --device ID          the device of the fault
  --at ISO|+30m        when (default: at the start)
  --training LIST      farm ids whose alerts go to trainers only, or "all"
  --url URL            broker (default MQTT_URL, else mqtt://127.0.0.1:MQTT_PORT)
  --anonymous          connect without credentials (a test broker without auth)
  --for DURATION       live mode: stop after this long, e.g. 10m (default: until Ctrl-C)
  --help               this text

Faults: ${FAULT_SCENARIOS.join(', ')}
`

interface SimIo {
  env: Record<string, string | undefined>
  log: Logger
  stdout: NodeJS.WritableStream
}

const OPTIONS = {
  farms: { type: 'string' },
  devices: { type: 'string' },
  speed: { type: 'string' },
  seed: { type: 'string' },
  from: { type: 'string' },
  days: { type: 'string' },
  scenario: { type: 'string' },
  fault: { type: 'string', multiple: true },
  device: { type: 'string', multiple: true },
  at: { type: 'string', multiple: true },
  training: { type: 'string' },
  url: { type: 'string' },
  anonymous: { type: 'boolean' },
  for: { type: 'string' },
  help: { type: 'boolean' },
} as const

const positive = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s) > 0 ? Number(s) : NaN)

export interface SimArgs {
  farms: number
  devices: number | undefined
  speed: number
  seed: string
  startMs: number
  /** Backfill to this instant; undefined: live. */
  backfillEndMs: number | undefined
  scenario: string | undefined
  faults: TimedFault[]
  training: readonly string[] | 'all'
  url: string
  anonymous: boolean
  forMs: number | undefined
  dataDir: string
  databaseUrl: string | undefined
  buffer: number
}

/** `error`: the command line itself is wrong (an unknown option), reported as every command reports it (cli/args.ts). */
type Parsed = { ok: true; help: true } | { ok: true; help: false; args: SimArgs } | { ok: false; reason: string; error?: unknown }

/** Flags over environment over defaults. Pure: `nowMs` is passed in. */
export function parseSimArgs(argv: string[], envVars: Record<string, string | undefined>, nowMs: number): Parsed {
  let a
  try {
    a = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false }).values
  } catch (err) {
    return { ok: false, reason: (err as Error).message, error: err }
  }
  if (a.help) return { ok: true, help: true }
  const envSim = SimEnv.safeParse(envVars)
  const envCommon = CommonEnv.safeParse(envVars)
  const envRegistry = RegistryEnv.safeParse(envVars)
  if (!envRegistry.success) return { ok: false, reason: `invalid environment: ${describeIssues(envRegistry.error)}` }
  if (!envSim.success) return { ok: false, reason: `invalid environment: ${describeIssues(envSim.error)}` }
  if (!envCommon.success) return { ok: false, reason: `invalid environment: ${describeIssues(envCommon.error)}` }
  const env = envSim.data
  const farms = positive(a.farms) ?? env.SIM_FARMS
  const devices = positive(a.devices) ?? env.SIM_DEVICES
  const speed = positive(a.speed) ?? env.SIM_SPEED
  const days = positive(a.days)
  if (![farms, speed, devices ?? 1, days ?? 1].every(Number.isFinite)) return { ok: false, reason: '--farms, --devices, --speed and --days take positive numbers' }
  if (speed > MAX_SPEED) return { ok: false, reason: `--speed is at most ${MAX_SPEED}` }
  const from = a.from === undefined ? undefined : parseAt(a.from, nowMs)
  if (from && !from.ok) return { ok: false, reason: `--from: ${from.reason}` }
  if (days !== undefined && !from) return { ok: false, reason: '--days needs --from' }
  const startMs = from?.ms ?? (env.SIM_START ? Date.parse(env.SIM_START) : nowMs)
  const forAt = a.for === undefined ? undefined : parseAt(`+${a.for.replace(/^\+/, '')}`, 0)
  if (forAt && !forAt.ok) return { ok: false, reason: `--for: ${forAt.reason}` }
  const names = a.fault ?? []
  if (names.length !== (a.device ?? []).length) return { ok: false, reason: 'every --fault needs a --device' }
  const faults: TimedFault[] = []
  for (const [i, name] of names.entries()) {
    if (!(FAULT_SCENARIOS as readonly string[]).includes(name)) return { ok: false, reason: `unknown fault "${name}"` }
    const at = parseAt(a.at?.[i] ?? '+0s', startMs)
    if (!at.ok) return { ok: false, reason: `--at: ${at.reason}` }
    faults.push({ atMs: at.ms, device: a.device?.[i] ?? '', fault: name as FaultScenario })
  }
  const training = a.training === undefined ? env.SIM_TRAINING_FARMS : a.training === 'all' ? 'all' : a.training.split(',').map((s) => s.trim())
  const common = envCommon.data
  return {
    ok: true,
    help: false,
    args: {
      farms,
      devices,
      speed,
      seed: a.seed ?? env.SIM_SEED,
      startMs,
      backfillEndMs: from ? (days === undefined ? nowMs : startMs + days * 86_400_000) : undefined,
      scenario: a.scenario ?? env.SIM_SCENARIO,
      faults,
      training,
      url: a.url ?? common.MQTT_URL ?? `mqtt://127.0.0.1:${common.MQTT_PORT}`,
      anonymous: a.anonymous ?? false,
      forMs: forAt?.ms,
      dataDir: common.DATA_DIR,
      databaseUrl: envRegistry.data.DATABASE_URL,
      buffer: env.SIM_BUFFER,
    },
  }
}

export async function simCommand(argv: string[], io: SimIo): Promise<number> {
  const parsed = parseSimArgs(argv, io.env, Date.now())
  if (!parsed.ok && parsed.error !== undefined) throw parsed.error
  if (!parsed.ok) {
    io.stdout.write(`suanyang sim: ${parsed.reason}\n\n${SIM_USAGE}`)
    return 2
  }
  if (parsed.help) {
    io.stdout.write(SIM_USAGE)
    return 0
  }
  const a = parsed.args
  const planned = await planFleet({ farms: a.farms, devices: a.devices, seed: a.seed, training: a.training, scenarioPath: a.scenario, startMs: a.startMs, extraFaults: a.faults })
  if (!planned.ok) {
    io.stdout.write(`suanyang sim: ${planned.reason}\n`)
    return 2
  }
  // The fleet is registered in the registry the broker reads (DATABASE_URL, else SQLite in DATA_DIR),
  // where the training flags live too.
  const registry = await openRegistry({ dataDir: a.dataDir, databaseUrl: a.databaseUrl })
  let accounts: AccountStore | undefined
  try {
    accounts = a.anonymous ? undefined : await openAccountStore(registry, { dataDir: a.dataDir, actor: { who: 'sim', how: 'system' } })
    return await runFleet(a, planned.plan, accounts, registry, io)
  } finally {
    await accounts?.close()
    await registry.close()
  }
}

async function runFleet(a: SimArgs, { farms, faults }: FleetPlan, accounts: AccountStore | undefined, registry: Registry, io: SimIo): Promise<number> {
  const log = io.log
  const passwords = accounts ? await registerDevices(accounts, farms, a.dataDir, log) : undefined
  const transport = mqttTransport({ url: a.url, passwordOf: (d) => passwords?.get(d), log })
  const engine = new Engine({ farms, seed: a.seed, startMs: a.startMs, speed: a.speed, transport, log, faults, bufferCapacity: a.buffer })
  const devices = engine.fleet.devices.size

  if (a.backfillEndMs !== undefined) {
    const began = Date.now()
    io.stdout.write(`backfill ${new Date(a.startMs).toISOString()} .. ${new Date(a.backfillEndMs).toISOString()}: ${farms.length} farms, ${devices} devices -> ${a.url}\n`)
    await engine.backfill(a.backfillEndMs, { onProgress: (t) => log.debug({ at: new Date(t).toISOString() }, 'backfill progress') })
    const dropped = [...engine.fleet.devices.values()].reduce((n, d) => n + d.droppedReadings, 0)
    const unsent = engine.fleet.backlog()
    await engine.close(true)
    io.stdout.write(`backfill done in ${((Date.now() - began) / 1000).toFixed(1)} s: ${unsent} readings unsent, ${dropped} dropped\n`)
    return unsent === 0 && dropped === 0 ? 0 : 1
  }

  // Training farms live in the registry (issue 14): --training sets the flag there, the state follows it.
  await markTrainingFarms(registry, farms, log)
  const credentials = accounts ? await accounts.serviceCredentials('sim') : undefined
  const control = startControl({ url: a.url, credentials, fleet: engine.fleet, log, clientId: credentials?.username ?? 'sim' })
  engine.fleet.onFaultsChanged = () => control.publishState()
  const training = watchTraining(registry, farms, log, () => control.publishState())
  await training.start()
  engine.startLive()
  io.stdout.write(`simulating ${farms.length} farms, ${devices} devices at speed ${a.speed} -> ${a.url} (Ctrl-C stops)\n`)
  await untilStopped(a.forMs)
  training.close()
  await control.close()
  await engine.close(true)
  io.stdout.write('simulator stopped\n')
  return 0
}

function untilStopped(forMs: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = forMs === undefined ? undefined : setTimeout(stop, forMs)
    function stop() {
      if (timer) clearTimeout(timer)
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
