/**
 * The idle-fleet phase of bench/broker.ts for our broker alone, in steps, with where the memory
 * and the connect time go (issue 20): at each step (0, 5,000, 10,000 devices by default) the
 * broker process writes process.memoryUsage(), v8.getHeapStatistics() and its heap spaces, before
 * and after a full GC (bench/lib/memory-probe.mjs, on SIGUSR2), and the connect CPU is split by
 * thread (main vs libuv's pool, where LevelDB and any old scrypt hash run, vs V8's helpers).
 *
 *   npx tsx bench/idle.ts [--steps 0,5000,10000] [--node-flags "--max-semi-space-size=2"]
 *                         [--env "MALLOC_ARENA_MAX=2"] [--snapshot] [--cpu-prof] [--json]
 *
 * --snapshot writes a heap snapshot at each step, --cpu-prof a CPU profile of the whole run, both
 * into bench/results/idle/. The product never loads the probe.
 */
import { spawnSync } from 'node:child_process'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { cpuSeconds, rssBytes, rssParts, startSuanyang, threadCpu } from './lib/brokers.js'
import { benchFixture } from './lib/fixture.js'
import { CONNECT_CONCURRENCY, type IdleFleet, idleFleet } from './lib/load.js'

const args = process.argv.slice(2)
const value = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const STEPS = (value('--steps') ?? '0,5000,10000').split(',').map(Number)
const DEVICES = Math.max(...STEPS)
const OUT = resolve(import.meta.dirname, 'results/idle')
const log = (line: string) => process.stderr.write(`${line}\n`)
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

interface Probe {
  memory: NodeJS.MemoryUsage
  heap: { total_heap_size: number; used_heap_size: number; malloced_memory: number; external_memory: number }
  spaces: Array<{ space_name: string; space_size: number; space_used_size: number }>
}

/** Asks the broker for its memory breakdown and waits for the file it writes. */
async function probe(pid: number, file: string): Promise<{ before: Probe; after: Probe }> {
  await rm(file, { force: true })
  process.kill(pid, 'SIGUSR2')
  for (let i = 0; i < 600; i++) {
    await sleep(100)
    const text = await readFile(file, 'utf8').catch(() => undefined)
    if (text) return JSON.parse(text) as { before: Probe; after: Probe }
  }
  throw new Error('the broker wrote no memory probe within 60 s')
}

const spaces = (p: Probe) =>
  p.spaces
    .filter((s) => s.space_size > 512 * 1024)
    .map((s) => `${s.space_name.replace(/_space$/, '')} ${mb(s.space_used_size)}/${mb(s.space_size)}`)
    .join(', ')

async function main(): Promise<void> {
  const need = DEVICES + 2_000
  const soft = Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim())
  if (soft < need) throw new Error(`open file limit ${soft} is below ${need}: ulimit -n ${need} first`)
  await mkdir(OUT, { recursive: true })
  const fixture = await benchFixture(Math.max(DEVICES, 10_000), log)
  const probeFile = join(OUT, `probe-${process.pid}.json`)
  const flags = [...(value('--node-flags') ?? '').split(' ').filter(Boolean), `--import=${resolve(import.meta.dirname, 'lib/memory-probe.mjs')}`, '--expose-gc']
  if (args.includes('--cpu-prof')) flags.push('--cpu-prof', `--cpu-prof-dir=${OUT}`)
  const extra = (value('--env') ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])
  const env: Record<string, string> = { ...Object.fromEntries(extra), SUANYANG_PROBE_OUT: probeFile, ...(args.includes('--snapshot') ? { SUANYANG_PROBE_SNAPSHOT: join(OUT, 'broker') } : {}) }
  const broker = await startSuanyang(fixture, flags, env)
  const fleets: IdleFleet[] = []
  const rows: unknown[] = []
  try {
    let connected = 0
    for (const step of STEPS) {
      const devices = fixture.devices.slice(connected, step)
      const cpu0 = await threadCpu(broker.pid)
      const total0 = await cpuSeconds(broker.pid)
      if (devices.length > 0) {
        const fleet = await idleFleet({ port: broker.port, devices, ingest: fixture.ingest, farm: fixture.farm }, devices.length)
        fleets.push(fleet)
        const cpu1 = await threadCpu(broker.pid)
        const byThread = Object.entries(cpu1)
          .map(([k, v]) => [k, v - (cpu0[k] ?? 0)] as const)
          .filter(([, v]) => v >= 0.05)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(', ')
        log(`connect ${connected} -> ${step}: ${fleet.seconds.toFixed(1)} s (${CONNECT_CONCURRENCY} at a time, ${fleet.retried} retries), broker CPU ${((await cpuSeconds(broker.pid)) - total0).toFixed(2)} s: ${byThread}`)
        connected = step
      }
      await sleep(3_000) // as bench/broker.ts: births, wills and subscriptions settle
      const rss = await rssBytes(broker.pid)
      const parts = await rssParts(broker.pid)
      const p = await probe(broker.pid, probeFile)
      const rssAfterGc = await rssBytes(broker.pid)
      log(`at ${step} devices: RSS ${mb(rss)} MB (anon ${parts.anonMb.toFixed(1)}, file ${parts.fileMb.toFixed(1)}, ${parts.threads} threads)`)
      for (const [when, q] of [['before GC', p.before], ['after GC ', p.after]] as const) {
        log(`  ${when}: heap ${mb(q.heap.used_heap_size)} used of ${mb(q.heap.total_heap_size)}, malloced ${mb(q.heap.malloced_memory)}, external ${mb(q.memory.external)} (array buffers ${mb(q.memory.arrayBuffers)}); ${spaces(q)}`)
      }
      log(`  RSS right after the GC ${mb(rssAfterGc)} MB`)
      rows.push({ step, rss, rssAfterGc, parts, probe: p })
    }
    if (args.includes('--json')) process.stdout.write(`${JSON.stringify(rows)}\n`)
  } finally {
    for (const f of fleets) await f.close()
    await broker.stop()
    await rm(probeFile, { force: true })
  }
}

await main()
