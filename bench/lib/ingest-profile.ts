/**
 * Where a profiled process spent its time (`--profile broker,ingest`): self time of a V8
 * .cpuprofile summed by package (node_modules/<pkg>, our top folders, node: internals). The
 * sampler ticks on wall time, so on a busy machine the shares are right and the totals are not.
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>
  samples: number[]
  timeDeltas: number[]
}

/** Pure: the package a call frame belongs to. */
export function packageOf(url: string, functionName: string): string {
  const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)
  if (m?.[1]) return m[1]
  if (url.startsWith('node:')) return 'node internals'
  if (url === '') return functionName || '(native)' // (garbage collector), (program), writev...
  const path = url.replace(/^file:\/\/\/.*?\/(contracts|ingest|broker|runtime|cli|bench|alerts)\//, '$1/')
  return path.split('/')[0] ?? path
}

/** Pure: percent of samples by package, busy samples only (idle left out), largest first. */
export function profileShares(p: CpuProfile): Array<{ pkg: string; pct: number }> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const byPkg = new Map<string, number>()
  let total = 0
  p.samples.forEach((id, i) => {
    const n = byId.get(id)
    const dt = p.timeDeltas[i] ?? 0
    if (!n || n.callFrame.functionName === '(idle)') return
    const pkg = packageOf(n.callFrame.url, n.callFrame.functionName)
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + dt)
    total += dt
  })
  return [...byPkg].map(([pkg, t]) => ({ pkg, pct: total > 0 ? (t * 100) / total : 0 })).sort((a, b) => b.pct - a.pct)
}

/** The largest profile of each process in `dir` (the main thread's; tsx's loader thread is small). */
export async function summarizeProfiles(dir: string, top = 10): Promise<string[]> {
  const files = await readdir(dir).catch(() => [] as string[])
  const sized = await Promise.all(files.filter((f) => f.endsWith('.cpuprofile')).map(async (f) => ({ f, size: (await stat(join(dir, f))).size })))
  const byPid = new Map<string, { f: string; size: number }>()
  for (const s of sized) {
    const pid = s.f.split('.')[3] ?? s.f // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile
    if ((byPid.get(pid)?.size ?? 0) < s.size) byPid.set(pid, s)
  }
  const out: string[] = []
  for (const { f } of byPid.values()) {
    const shares = profileShares(JSON.parse(await readFile(join(dir, f), 'utf8')) as CpuProfile)
    out.push(`${f}: ${shares.slice(0, top).map((s) => `${s.pkg} ${s.pct.toFixed(1)}%`).join(', ')}`)
  }
  return out
}
