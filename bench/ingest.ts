/**
 * `npm run bench:ingest`: end to end, QoS 1, simulated pumps -> broker -> ingest -> real InfluxDB
 * (influxd 1.6.7), and the peer Node-RED (mqtt in -> function -> influxdb out) fed the same load
 * in the same run. Each system gets the box alone in its own step, against the same broker and
 * influxd. Prints a table and writes bench/results/ingest-<date>.json. See bench/README.md.
 *
 *   npx tsx bench/ingest.ts [--quick] [--rates auto|none|25000,20000] [--seconds 12] [--devices 100]
 *                            [--window 64] [--no-nodered] [--profile broker,ingest]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { openOwnAccountStore } from '../registry/accounts-source.js'
import type { AccountStore } from '../runtime/accounts.js'
import { ROOT } from '../test/helpers/app.js'
import { freePort } from '../test/helpers/daemon.js'
import { type InfluxHandle, startInflux } from '../test/helpers/influx.js'
import { influxQl } from '../test/helpers/influxql.js'
import type { LoadDevice } from './lib/ingest-load.js'
import { ensureNodeRed, startNodeRed } from './lib/ingest-nodered.js'
import { type PhaseResult, type PhaseSpec, runPhase } from './lib/ingest-phase.js'
import { loadAverage, sampleProc } from './lib/ingest-proc.js'
import { summarizeProfiles } from './lib/ingest-profile.js'
import { GOAL, summarize, verdictOf } from './lib/ingest-report.js'
import { type BenchService, startService } from './lib/ingest-service.js'
import { startFeeder } from './lib/ingest-feeder.js'
import { rowTimeSink, tapSink } from './lib/ingest-sink.js'
import { type InfluxTap, startInfluxTap } from './lib/ingest-tap.js'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rates: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    devices: { type: 'string' },
    window: { type: 'string' },
    'no-nodered': { type: 'boolean', default: false },
    'no-alone': { type: 'boolean', default: false },
    'feed-window': { type: 'string' },
    'flush-ms': { type: 'string' },
    out: { type: 'string' },
    /** broker,ingest: run them with --cpu-prof; profiles go to bench/results/profiles/<name>/. */
    profile: { type: 'string' },
    /** Experiments: a module the broker process imports first (e.g. a patched persistence). */
    'broker-import': { type: 'string' },
  },
})

const quick = args.quick === true
const num = (s: string | undefined, fallback: number) => (s === undefined ? fallback : Number(s))
const rateArg = args.rates ?? (quick ? '3000' : 'auto')
const opts = {
  rates: rateArg === 'auto' ? ('auto' as const) : rateArg === 'none' ? [] : rateArg.split(',').map(Number),
  measureMs: num(args.seconds, quick ? 6 : 12) * 1000,
  warmupMs: num(args.warmup, quick ? 2 : 3) * 1000,
  devices: num(args.devices, quick ? 20 : 100),
  window: num(args.window, 64),
  nodered: args['no-nodered'] !== true,
  alone: args['no-alone'] !== true,
  feedWindow: num(args['feed-window'], 2_000),
  flushMs: args['flush-ms'],
  drainTimeoutMs: quick ? 20_000 : 30_000,
  stallMs: quick ? 5_000 : 8_000,
}
if ((opts.rates !== 'auto' && opts.rates.some((r) => !(r > 0))) || !(opts.devices > 0) || !(opts.window > 0)) {
  console.error('usage: tsx bench/ingest.ts [--quick] [--rates auto|N,M] [--seconds S] [--warmup S] [--devices N] [--window N] [--no-nodered]')
  process.exit(2)
}
const profiled = new Set((args.profile ?? '').split(',').filter(Boolean))
const nodeArgs = (name: string): string[] => [
  ...(profiled.has(name) ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench', 'results', 'profiles', name)}`] : []),
  ...(name === 'broker' && args['broker-import'] ? ['--import', resolve(args['broker-import'])] : []),
]
const NODERED_CACHE = join(ROOT, '.bench-cache', 'nodered')

const log = (line: string) => console.log(`[bench:ingest ${new Date().toISOString().slice(11, 19)}] ${line}`)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Waits (bounded) for influxd to go quiet: the previous step's compactions must not bill the next one. */
async function settle(pid: number | undefined, maxMs = 15_000): Promise<void> {
  const until = Date.now() + maxMs
  let prev = pid === undefined ? undefined : sampleProc(pid)
  while (prev && Date.now() < until) {
    await sleep(1_000)
    const now = sampleProc(prev.pid)
    if (!now || now.cpuMs - prev.cpuMs < 100) return // under 10 % of a core for a second
    prev = now
  }
}

async function register(accounts: AccountStore, farm: string, prefix: string, n: number): Promise<LoadDevice[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(4, '0')}`)
  const creds = await accounts.putDevices(ids.map((device) => ({ farm, kind: 'pump' as const, device })))
  return creds.map((c, i) => ({ farm, device: ids[i] as string, username: c.username, password: c.password }))
}

/** The next rate to try after `r`, or undefined: the goal first, then 80 % of what the box absorbed. */
function nextRate(done: readonly PhaseResult[]): number | undefined {
  const last = done.at(-1)
  if (!last) return GOAL.readingsPerSec
  if (verdictOf(last).sustainedPerSec > 0 || done.length >= 3) return undefined
  const absorbed = Math.min(last.publishedPerSec, last.storedPerSec)
  const next = Math.floor((Math.min(absorbed, last.offeredPerSec) * 0.8) / 100) * 100
  return next >= 100 ? next : undefined
}

interface Env {
  influx: InfluxHandle
  dataDir: string
  mqttPort: number
  tap: InfluxTap
  base: Omit<PhaseSpec, 'name' | 'db' | 'farm' | 'devices' | 'ratePerSec' | 'boot' | 'sutPid' | 'stopSut' | 'sink'>
}

function startIngest(env: Env, db: string, farm: string, mqttUrl: string, account: { username: string; password: string }, clientId: string): Promise<BenchService> {
  return startService(
    'ingest',
    {
      DATA_DIR: env.dataDir,
      MQTT_URL: mqttUrl,
      INFLUX_URL: env.tap.url,
      INFLUX_BUCKET: `${db}/autogen`,
      INFLUX_TOKEN: 'bench',
      INGEST_MQTT_USERNAME: account.username,
      INGEST_MQTT_PASSWORD: account.password,
      INGEST_CLIENT_ID: clientId,
      INGEST_FARMS: farm,
      ...(opts.flushMs ? { INGEST_FLUSH_MS: opts.flushMs } : {}),
    },
    nodeArgs('ingest'),
  )
}

async function ingestStep(env: Env, step: number, rate: number, devices: LoadDevice[], account: { username: string; password: string }): Promise<PhaseResult> {
  const db = `ing_${step}`
  await influxQl(env.influx.directUrl, `CREATE DATABASE ${db}`, { write: true })
  // A fresh ingest per step (same client id, so the same broker session): its CPU and VmHWM are the step's.
  const ingest = await startIngest(env, db, 'bench-ing', `mqtt://127.0.0.1:${env.mqttPort}`, account, 'ingest-1')
  try {
    await settle(env.influx.pid)
    const r = await runPhase({ ...env.base, name: `ingest @${rate}`, db, sink: tapSink(env.tap, db), farm: 'bench-ing', devices, ratePerSec: rate, boot: step, sutPid: ingest.daemon.pid, sutMetrics: () => ingest.metrics(), stopSut: () => ingest.stop() })
    const warnings = ingest.logs.filter((l) => l.level >= 40).length
    log(`ingest @${rate}: published ${r.publishedPerSec}/s, stored ${r.store.distinct}/${r.store.sent}, p99 ${r.latency.p99Ms} ms, ${r.sutCpuUsPerReading} us/reading, ${warnings} warnings`)
    return r
  } finally {
    await ingest.stop()
  }
}

/** Ingest alone: fed by the broker stand-in as fast as it acknowledges, into the same InfluxDB. */
async function aloneStep(env: Env): Promise<PhaseResult> {
  const db = 'alone_1'
  await influxQl(env.influx.directUrl, `CREATE DATABASE ${db}`, { write: true })
  const durationMs = opts.warmupMs + opts.measureMs
  const feeder = await startFeeder({ farm: 'bench-feed', devices: opts.devices, ratePerSec: undefined, durationMs, window: opts.feedWindow, boot: 1 })
  const ingest = await startIngest(env, db, 'bench-feed', feeder.url, { username: 'any', password: 'any' }, 'ingest-alone')
  try {
    await feeder.subscribed()
    await settle(env.influx.pid)
    const r = await runPhase({
      ...env.base,
      pids: { influxd: env.influx.pid },
      window: opts.feedWindow,
      name: 'ingest alone @max',
      db,
      sink: tapSink(env.tap, db),
      farm: 'bench-feed',
      devices: [],
      ratePerSec: 0,
      boot: 1,
      sutPid: ingest.daemon.pid,
      sutMetrics: () => ingest.metrics(),
      stopSut: () => ingest.stop(),
      source: () => Promise.resolve(feeder.run()),
    })
    log(`ingest alone: ${r.publishedPerSec}/s delivered, stored ${r.store.distinct}/${r.store.sent}, p99 ${r.latency.p99Ms} ms, ${r.sutCpuUsPerReading} us/reading`)
    return r
  } finally {
    await ingest.stop()
    await feeder.close()
  }
}

async function noderedStep(env: Env, step: number, rate: number, devices: LoadDevice[], account: { username: string; password: string }) {
  const db = `nr_${step}`
  await influxQl(env.influx.directUrl, `CREATE DATABASE ${db}`, { write: true })
  await settle(env.influx.pid)
  const nr = await startNodeRed({ cacheDir: NODERED_CACHE, mqttPort: env.mqttPort, mqttUser: account.username, mqttPassword: account.password, influxPort: Number(new URL(env.influx.directUrl).port), db })
  try {
    const r = await runPhase({ ...env.base, name: `node-red @${rate}`, db, sink: rowTimeSink(env.influx, db, 'bench-nr'), farm: 'bench-nr', devices, ratePerSec: rate, boot: step, sutPid: nr.daemon.pid, stopSut: () => nr.stop() })
    log(`node-red @${rate}: published ${r.publishedPerSec}/s, stored ${r.store.distinct}/${r.store.sent}, p99 ${r.latency.p99Ms} ms, ${r.sutCpuUsPerReading} us/reading`)
    return { result: { ...r, sutErrors: nr.errors() }, versions: nr.versions }
  } finally {
    await nr.stop()
  }
}

async function main(): Promise<void> {
  const started = new Date()
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverageAtStart: loadAverage() }
  log(`${machine.cpus} x ${machine.model ?? '?'}, node ${process.version}, load average ${machine.loadAverageAtStart.join(' ')}`)
  const cleanups: Array<() => Promise<unknown>> = []
  const results: PhaseResult[] = []
  const extra: Record<string, unknown> = { machine }
  try {
    if (opts.nodered) await ensureNodeRed(NODERED_CACHE, log)
    const influx = await startInflux({ db: 'bench' })
    cleanups.push(() => influx.close())
    const tap = await startInfluxTap({ host: '127.0.0.1', port: Number(new URL(influx.directUrl).port) })
    cleanups.push(() => tap.close())
    const dataDir = await mkdtemp(join(tmpdir(), 'suanyang-bench-ingest-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))

    log(`registering ${opts.devices * (opts.nodered ? 2 : 1)} devices`)
    const accounts = await openOwnAccountStore({ dataDir })
    cleanups.push(() => accounts.close())
    const ingDevices = await register(accounts, 'bench-ing', 'ing', opts.devices)
    const nrDevices = opts.nodered ? await register(accounts, 'bench-nr', 'nr', opts.devices) : []
    const noderedAccount = await accounts.setUser('nodered', 'service')
    const ingestAccount = await accounts.serviceCredentials('ingest')

    const mqttPort = await freePort()
    // BROKER_* settings of this shell reach the broker (experiments: BROKER_QUEUE_HOLD_MS=200 ...)
    const brokerEnv = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('BROKER_') && e[1] !== undefined))
    const broker = await startService('broker', { ...brokerEnv, DATA_DIR: dataDir, MQTT_PORT: String(mqttPort), MQTT_WS_PORT: '0' }, nodeArgs('broker'))
    cleanups.push(() => broker.stop())
    const base = { warmupMs: opts.warmupMs, measureMs: opts.measureMs, window: opts.window, drainTimeoutMs: opts.drainTimeoutMs, stallMs: opts.stallMs, mqttPort, pids: { broker: broker.daemon.pid, influxd: influx.pid }, influx, log }
    const env: Env = { influx, tap, dataDir, mqttPort, base }

    const rates: number[] = []
    const ours: PhaseResult[] = []
    for (let rate = opts.rates === 'auto' ? nextRate(ours) : opts.rates[0]; rate !== undefined; ) {
      rates.push(rate)
      ours.push(await ingestStep(env, ours.length + 1, rate, ingDevices, ingestAccount))
      rate = opts.rates === 'auto' ? nextRate(ours) : opts.rates[ours.length]
    }
    results.push(...ours)
    if (opts.alone) results.push(await aloneStep(env))
    if (opts.nodered) {
      // auto: the peer gets the goal load and the load ours handled best (the ratio column)
      const chosen = ours.find((r) => verdictOf(r).sustainedPerSec > 0) ?? ours.at(-1)
      const peerRates = opts.rates === 'auto' ? [...new Set([rates[0], chosen?.offeredPerSec].filter((r): r is number => r !== undefined))] : rates
      for (const [i, rate] of peerRates.entries()) {
        try {
          const { result, versions } = await noderedStep(env, i + 1, rate, nrDevices, noderedAccount)
          results.push(result)
          extra.noderedVersions = versions
        } catch (err) {
          extra.noderedError = (err as Error).message
          log(`node-red step failed: ${(err as Error).message}`)
        }
      }
    }
    // Queued QoS 1 copies for ingest's session the broker had to write to disk (all steps).
    const bm = await broker.metrics().catch(() => ({}) as Record<string, number>)
    const queue = { written: bm['mqtt_queue_messages_total{outcome="written"}'] ?? 0, inMemory: bm['mqtt_queue_messages_total{outcome="acknowledged_in_memory"}'] ?? 0 }
    extra.brokerQueue = queue
    log(`broker queue: ${queue.written} messages written to disk, ${queue.inMemory} acknowledged in memory`)
    extra.brokerHwmBytes = sampleProc(broker.daemon.pid)?.hwmBytes
    extra.influxdHwmBytes = influx.pid === undefined ? undefined : sampleProc(influx.pid)?.hwmBytes
    extra.brokerWarnings = broker.logs.filter((l) => l.level >= 40).slice(0, 20)
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
  }
  // profiles are written when the processes exit, so only now (busy samples, by package)
  for (const name of profiled) {
    const lines = await summarizeProfiles(join(ROOT, 'bench', 'results', 'profiles', name))
    extra[`profile_${name}`] = lines
    for (const line of lines) log(`profile ${name}: ${line}`)
  }
  const payload = { startedAt: started.toISOString(), options: opts, ...summarize(results, extra) }
  const dir = join(ROOT, 'bench', 'results')
  await mkdir(dir, { recursive: true })
  const stamp = started.toISOString().slice(0, 16).replace(':', '-')
  const file = args.out ?? join(dir, `ingest-${stamp}${quick ? '-quick' : ''}.json`)
  await writeFile(file, `${JSON.stringify(payload, null, 2)}\n`)
  log(`figures written to ${file}`)
}


main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
