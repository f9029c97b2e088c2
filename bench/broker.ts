/**
 * Broker benchmark (issue 3): this project's broker against Mosquitto, same machine, same run,
 * same load generator, authentication and ACL on in both.
 *
 *   npx tsx bench/broker.ts [--devices 10000] [--json] [--idle-only] [--only qos0,qos1,steady] [--node-flags "--cpu-prof"]
 *
 * Reports msg/s at QoS 0 and QoS 1 (closed loop: at most WINDOW messages in flight from 100 pump
 * devices to one ingest-like subscriber), p50/p99 publish-to-delivery latency (at that maximum,
 * and at a steady 5,000 msg/s), broker and generator CPU, and the broker's RSS with 10,000 idle
 * devices connected. Each throughput scenario runs twice per broker in A B B A order, so a load
 * change on a shared machine does not favour one of them.
 */
import { spawnSync } from 'node:child_process'
import { availableParallelism, loadavg } from 'node:os'
import { type BrokerUnderTest, cpuSeconds, nodeMemory, rssBytes, rssParts, startMosquittoBench, startSuanyang } from './lib/brokers.js'
import { HASHING, benchFixture } from './lib/fixture.js'
import { CONNECT_CONCURRENCY, type RunResult, type Target, closedLoop, fixedRate, idleFleet } from './lib/load.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name)
  return at === -1 ? fallback : Number(args[at + 1])
}
const DEVICES = option('--devices', 10_000)
const PUBLISHERS = 100
const WINDOW = 1_000
const STEADY_RATE = 5_000
const log = (line: string) => process.stderr.write(`${line}\n`)
/** Node/V8 options for our broker's process (how the product is launched is bin/suanyang.js's call). */
const NODE_FLAGS = args.includes('--node-flags') ? (args[args.indexOf('--node-flags') + 1] ?? '').split(' ').filter(Boolean) : []

/** 10,000 device sockets here and in the broker: raise the descriptor limit, re-running under sh. */
function ensureFileLimit(): void {
  const need = DEVICES + 2_000
  const [soft = 0, hard = 0] = spawnSync('sh', ['-c', 'ulimit -n; ulimit -Hn'], { encoding: 'utf8' }).stdout.split('\n').map(Number)
  if (soft >= need) return
  if (process.env.SUANYANG_BENCH_REEXEC || hard < need) {
    throw new Error(`open file limit ${soft} (hard ${hard}) is below ${need}: run \`ulimit -n ${need}\` as root first, or pass --devices ${Math.max(0, soft - 2_000)}`)
  }
  const r = spawnSync('sh', ['-c', `ulimit -n ${need} && exec "$@"`, 'sh', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, SUANYANG_BENCH_REEXEC: '1' },
  })
  process.exit(r.status ?? 1)
}

interface Measured extends RunResult {
  brokerCpuPct: number
  generatorCpuPct: number
}

async function measure(b: BrokerUnderTest, run: () => Promise<RunResult>): Promise<Measured> {
  const cpu0 = await cpuSeconds(b.pid)
  const gen0 = process.cpuUsage()
  const t0 = performance.now()
  const r = await run()
  const wall = (performance.now() - t0) / 1000
  const gen = process.cpuUsage(gen0)
  return {
    ...r,
    brokerCpuPct: ((await cpuSeconds(b.pid)) - cpu0) / wall * 100,
    generatorCpuPct: (gen.user + gen.system) / 1e6 / wall * 100,
  }
}

/** Where the RSS is: anonymous vs file-backed pages, threads, and for Node the V8 heap and buffers (MB). */
async function memoryBreakdown(b: BrokerUnderTest): Promise<string> {
  const parts = await rssParts(b.pid)
  let line = `anon ${fmt(parts.anonMb, 1)} MB, file ${fmt(parts.fileMb, 1)} MB, ${parts.threads} threads`
  if (b.httpPort !== undefined) {
    const u = await nodeMemory(b.httpPort).catch(() => undefined)
    if (u) line += `; heap used ${fmt(u.heap_used ?? Number.NaN, 1)} of ${fmt(u.heap_total ?? Number.NaN, 1)} MB, external ${fmt(u.external ?? Number.NaN, 1)} MB (array buffers ${fmt(u.array_buffers ?? Number.NaN, 1)} MB)`
  }
  return line
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a')
const mb = (bytes: number) => bytes / 1024 / 1024

async function main(): Promise<void> {
  ensureFileLimit()
  const started = performance.now()
  const load0 = loadavg()[0] ?? 0
  const fixture = await benchFixture(DEVICES, log)
  const brokers = [await startSuanyang(fixture, NODE_FLAGS), await startMosquittoBench(fixture)]
  const [ours, peer] = brokers as [BrokerUnderTest, BrokerUnderTest]
  const target = (b: BrokerUnderTest): Target => ({ port: b.port, devices: fixture.devices, ingest: fixture.ingest, farm: fixture.farm })
  const fresh = new Map<string, number>()
  try {
    for (const b of brokers) {
      fresh.set(b.name, await rssBytes(b.pid))
      log(`start  ${b.name.padEnd(16)} RSS ${fmt(mb(fresh.get(b.name) ?? 0), 1)} MB: ${await memoryBreakdown(b)}`)
    }

    const scenarios = {
      qos0: (b: BrokerUnderTest) => closedLoop(target(b), { qos: 0, publishers: PUBLISHERS, window: WINDOW, warmupMs: 1_000, measureMs: 4_000 }),
      qos1: (b: BrokerUnderTest) => closedLoop(target(b), { qos: 1, publishers: PUBLISHERS, window: WINDOW, warmupMs: 1_000, measureMs: 4_000 }),
      steady: (b: BrokerUnderTest) => fixedRate(target(b), { qos: 1, publishers: PUBLISHERS, ratePerS: STEADY_RATE, warmupMs: 500, measureMs: 3_000 }),
    }
    const results: Record<string, Record<string, Measured[]>> = {}
    // Untimed warm-up: a fresh Node process runs interpreted code until the JIT has seen the hot
    // paths (the first seconds measured ~2x slower), which would bias whichever scenario runs first.
    if (!args.includes('--idle-only')) {
      for (const b of brokers) for (const qos of [0, 1] as const) await closedLoop(target(b), { qos, publishers: PUBLISHERS, window: WINDOW, warmupMs: 0, measureMs: 2_000 })
    }
    // --only: these throughput scenarios, and no idle fleet (to profile one of them).
    const only = args.includes('--only') ? (args[args.indexOf('--only') + 1] ?? '').split(',') : undefined
    for (const [name, run] of Object.entries(scenarios)) {
      if (args.includes('--idle-only')) break
      if (only && !only.includes(name)) continue
      results[name] = { [ours.name]: [], [peer.name]: [] }
      for (const b of [ours, peer, peer, ours]) {
        const m = await measure(b, () => run(b))
        results[name]?.[b.name]?.push(m)
        log(`${name.padEnd(6)} ${b.name.padEnd(16)} ${fmt(m.msgPerS).padStart(8)} msg/s  p50 ${fmt(m.p50Ms, 2)} ms  p99 ${fmt(m.p99Ms, 2)} ms  lost ${m.lost}  dup ${m.duplicates}  broker CPU ${fmt(m.brokerCpuPct)} %  generator CPU ${fmt(m.generatorCpuPct)} %`)
      }
    }

    const idle = new Map<string, { rss: number; seconds: number; connected: number; retried: number }>()
    for (const b of only ? [] : brokers) {
      const fleet = await idleFleet(target(b), DEVICES)
      await new Promise((r) => setTimeout(r, 3_000)) // let births, wills and subscriptions settle
      idle.set(b.name, { rss: await rssBytes(b.pid), seconds: fleet.seconds, connected: fleet.connected, retried: fleet.retried })
      log(`idle   ${b.name.padEnd(16)} ${fleet.connected} devices connected in ${fmt(fleet.seconds, 1)} s (${CONNECT_CONCURRENCY} at a time, ${fleet.retried} retries after CONNACK 3), RSS ${fmt(mb((idle.get(b.name)?.rss ?? 0)), 1)} MB`)
      log(`       ${' '.repeat(16)} ${await memoryBreakdown(b)}`)
      await fleet.close()
    }

    report({ ours, peer, results, fresh, idle, load0, seconds: (performance.now() - started) / 1000 })
  } finally {
    await Promise.all(brokers.map((b) => b.stop()))
  }
}

function report(r: {
  ours: BrokerUnderTest
  peer: BrokerUnderTest
  results: Record<string, Record<string, Measured[]>>
  fresh: Map<string, number>
  idle: Map<string, { rss: number; seconds: number; connected: number; retried: number }>
  load0: number
  seconds: number
}): void {
  const get = (scenario: string, b: BrokerUnderTest) => r.results[scenario]?.[b.name] ?? []
  const avg = (scenario: string, b: BrokerUnderTest, f: (m: Measured) => number) => mean(get(scenario, b).map(f))
  const rows: Array<[string, string, string, string, string]> = []
  const ratioRow = (label: string, scenario: string, goal: string) => {
    const a = avg(scenario, r.ours, (m) => m.msgPerS)
    const b = avg(scenario, r.peer, (m) => m.msgPerS)
    rows.push([label, fmt(a), fmt(b), `${fmt(a / b, 2)}x`, goal])
  }
  const latencyRow = (label: string, scenario: string) => {
    const lat = (b: BrokerUnderTest) => `${fmt(avg(scenario, b, (m) => m.p50Ms), 2)} / ${fmt(avg(scenario, b, (m) => m.p99Ms), 2)}`
    rows.push([label, lat(r.ours), lat(r.peer), '', ''])
  }
  const cpuRow = (label: string, scenario: string) => {
    const cpu = (b: BrokerUnderTest) => `${fmt(avg(scenario, b, (m) => m.brokerCpuPct))} % / ${fmt(avg(scenario, b, (m) => m.generatorCpuPct))} %`
    rows.push([label, cpu(r.ours), cpu(r.peer), '', ''])
  }
  ratioRow('QoS 0 throughput, msg/s', 'qos0', '>= 0.6x')
  latencyRow(`  p50 / p99 latency, ms (window ${WINDOW})`, 'qos0')
  cpuRow('  CPU: broker / load generator', 'qos0')
  ratioRow('QoS 1 throughput, msg/s', 'qos1', '>= 1.0x')
  latencyRow(`  p50 / p99 latency, ms (window ${WINDOW})`, 'qos1')
  cpuRow('  CPU: broker / load generator', 'qos1')
  latencyRow(`QoS 1 at a steady ${fmt(STEADY_RATE)}/s: p50 / p99 ms`, 'steady')
  const lost = (b: BrokerUnderTest) => Object.values(r.results).reduce((n, byBroker) => n + (byBroker[b.name] ?? []).reduce((s, m) => s + m.lost, 0), 0)
  rows.push(['messages lost (all runs)', String(lost(r.ours)), String(lost(r.peer)), '', '0'])
  const duplicated = (b: BrokerUnderTest) => Object.values(r.results).reduce((n, byBroker) => n + (byBroker[b.name] ?? []).reduce((s, m) => s + m.duplicates, 0), 0)
  rows.push(['duplicate deliveries (all runs)', String(duplicated(r.ours)), String(duplicated(r.peer)), '', ''])
  const fresh = (b: BrokerUnderTest) => mb(r.fresh.get(b.name) ?? Number.NaN)
  const idle = (b: BrokerUnderTest) => r.idle.get(b.name)
  rows.push(['RSS at start, MB', fmt(fresh(r.ours), 1), fmt(fresh(r.peer), 1), '', ''])
  rows.push([`RSS with ${fmt(DEVICES)} idle devices, MB`, fmt(mb(idle(r.ours)?.rss ?? Number.NaN), 1), fmt(mb(idle(r.peer)?.rss ?? Number.NaN), 1), '', '< 250 MB'])
  const perDevice = (b: BrokerUnderTest) => `${fmt(((idle(b)?.rss ?? Number.NaN) - (r.fresh.get(b.name) ?? Number.NaN)) / DEVICES / 1024, 1)} KB`
  rows.push(['  per device (over the start)', perDevice(r.ours), perDevice(r.peer), '', ''])
  rows.push([`time to connect ${fmt(DEVICES)} devices, s`, fmt(idle(r.ours)?.seconds ?? Number.NaN, 1), fmt(idle(r.peer)?.seconds ?? Number.NaN, 1), '', ''])

  const head: [string, string, string, string, string] = ['', r.ours.name, r.peer.name, 'ratio', 'goal']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`
  const out = [
    '',
    `Broker benchmark: ${PUBLISHERS} pump devices -> 1 subscriber, auth + ACL on, ${DEVICES} device accounts (${HASHING})`,
    `load average at start ${r.load0.toFixed(2)} (2 cores shared by both brokers, the generator and anything else running); ${fmt(r.seconds)} s in all`,
    '',
    line(head),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    '',
    ...limits(r, r.load0),
  ]
  process.stdout.write(`${out.join('\n')}\n`)
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ results: r.results, fresh: Object.fromEntries(r.fresh), idle: Object.fromEntries(r.idle) })}\n`)
}

/** What bounds each figure, read from the CPU each process used during the runs. */
function limits(r: { ours: BrokerUnderTest; peer: BrokerUnderTest; results: Record<string, Record<string, Measured[]>> }, load0: number): string[] {
  const cores = availableParallelism()
  const lines = ['What limits the figures:']
  if (load0 > cores) lines.push(`- the machine is shared: load average ${load0.toFixed(1)} on ${cores} cores, so no process here gets a whole core; ratios from one run are the fair reading, absolute figures are not`)
  for (const scenario of ['qos0', 'qos1']) {
    for (const b of [r.ours, r.peer]) {
      const runs = r.results[scenario]?.[b.name] ?? []
      const brokerCpu = mean(runs.map((m) => m.brokerCpuPct))
      const genCpu = mean(runs.map((m) => m.generatorCpuPct))
      const bound =
        brokerCpu >= 85
          ? 'the broker: its one thread saturates a core'
          : genCpu >= 85
            ? 'the load generator saturates its core'
            : brokerCpu + genCpu >= 150
              ? 'the two cores together (broker + generator + kernel networking)'
              : load0 > cores
                ? 'CPU time the other processes on the machine leave (neither process gets a whole core)'
                : `neither process saturates a core: the window of ${WINDOW} in flight and loopback round trips`
      lines.push(`- ${scenario === 'qos0' ? 'QoS 0' : 'QoS 1'}, ${b.name}: broker ${fmt(brokerCpu)} % CPU, generator ${fmt(genCpu)} % -> ${bound}`)
    }
  }
  return lines
}

await main()
