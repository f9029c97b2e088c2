/**
 * `npm run bench:alerts`: latency from the deciding reading to the LINE push request (issue 6),
 * through the real alert service with a local LINE API. Goal: p99 under 100 ms (Grafana's default
 * alerting path takes tens of seconds: evaluation interval plus pending period).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { benchAlertLatency } from '../alerts/bench.js'

const quick = process.argv.includes('--quick')
const r = await benchAlertLatency({ incidents: quick ? 50 : 300, warmup: quick ? 5 : 20 })
const rows: Array<[string, string]> = [
  ['incidents', String(r.samples)],
  ['p50 reading -> LINE request', `${r.p50Ms.toFixed(1)} ms`],
  ['p99 reading -> LINE request', `${r.p99Ms.toFixed(1)} ms (goal < 100 ms: ${r.p99Ms < 100 ? 'met' : 'missed'})`],
  ['max', `${r.maxMs.toFixed(1)} ms`],
]
for (const [k, v] of rows) console.log(`${k.padEnd(30)} ${v}`)
await mkdir('bench/results', { recursive: true })
await writeFile(`bench/results/alerts-${new Date().toISOString().slice(0, 10)}.json`, `${JSON.stringify(r, null, 2)}\n`)
process.exit(0)
