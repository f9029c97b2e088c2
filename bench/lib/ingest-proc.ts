/**
 * What a process cost, from Linux /proc: CPU (utime + stime, in clock ticks of 10 ms) and memory
 * (VmRSS now, VmHWM the peak). Read before and after a phase; the difference is that phase's CPU.
 */
import { readFileSync } from 'node:fs'

/** USER_HZ: 100 on every Linux the project runs on (`getconf CLK_TCK`). */
export const CLOCK_TICKS_PER_S = 100

export interface ProcSample {
  pid: number
  /** utime + stime, milliseconds (10 ms resolution). */
  cpuMs: number
  /** stime alone: time in the kernel (syscalls: fsync, sockets, files). */
  sysMs: number
  rssBytes: number
  hwmBytes: number
  atMs: number
}

/** Pure: utime and stime in ticks from the text of /proc/<pid>/stat (the name may contain spaces). */
export function parseStatTicks(stat: string): { user: number; sys: number } {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // after "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12
  return { user: Number(rest[11]), sys: Number(rest[12]) }
}

/** Pure: a `VmXXX:   1234 kB` line of /proc/<pid>/status, in bytes (0 if absent). */
export function parseStatusKb(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)
  return m?.[1] ? Number(m[1]) * 1024 : 0
}

/** undefined once the process is gone. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const ticks = parseStatTicks(stat)
    return {
      pid,
      cpuMs: ((ticks.user + ticks.sys) * 1000) / CLOCK_TICKS_PER_S,
      sysMs: (ticks.sys * 1000) / CLOCK_TICKS_PER_S,
      rssBytes: parseStatusKb(status, 'VmRSS'),
      hwmBytes: parseStatusKb(status, 'VmHWM'),
      atMs: Date.now(),
    }
  } catch {
    return undefined
  }
}

/** Total CPU of the machine (all processes), ms, from /proc/stat: to see what else ran. */
export function machineCpuMs(): { busyMs: number; totalMs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const total = f.reduce((a, b) => a + b, 0)
  const idle = (f[3] ?? 0) + (f[4] ?? 0) // idle + iowait
  return { busyMs: ((total - idle) * 1000) / CLOCK_TICKS_PER_S, totalMs: (total * 1000) / CLOCK_TICKS_PER_S }
}

export function loadAverage(): number[] {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number)
  } catch {
    return []
  }
}

/** Samples a set of named processes at once, to diff later. */
export function sampleAll(pids: Record<string, number | undefined>): Record<string, ProcSample | undefined> {
  const out: Record<string, ProcSample | undefined> = {}
  for (const [name, pid] of Object.entries(pids)) out[name] = pid === undefined ? undefined : sampleProc(pid)
  return out
}

/** CPU ms (or with `kernel`, stime ms) each process used between two samples (missing when either sample is). */
export function cpuBetween(
  before: Record<string, ProcSample | undefined>,
  after: Record<string, ProcSample | undefined>,
  kernel = false,
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, a] of Object.entries(after)) {
    const b = before[name]
    if (a && b) out[name] = kernel ? a.sysMs - b.sysMs : a.cpuMs - b.cpuMs
  }
  return out
}

