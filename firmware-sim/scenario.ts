/**
 * Scenario files for workshops and tests: which farms are training farms, and faults injected
 * and cleared at set times, absolute (ISO 8601) or relative to the simulation start (`+30m`).
 *
 * ```json
 * { "training": ["ranong-03"],
 *   "events": [
 *     { "at": "+20m", "device": "ranong-03-pump", "fault": "dry_run" },
 *     { "at": "+50m", "device": "ranong-03-pump", "fault": "dry_run", "action": "clear" } ] }
 * ```
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { ID_PATTERN } from '../contracts/names.js'
import { FAULT_SCENARIOS } from '../contracts/sim-control.js'
import { describeIssues } from '../contracts/decode.js'
import type { TimedFault } from './run.js'

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** `+90s`, `+30m`, `+2h`, `+1d`, `+1h30m`, or an ISO 8601 date-time. */
export function parseAt(at: string, startMs: number): { ok: true; ms: number } | { ok: false; reason: string } {
  const rel = /^\+((?:\d+(?:\.\d+)?[smhd])+)$/.exec(at.trim())
  if (rel) {
    let ms = 0
    for (const m of (rel[1] ?? '').matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
    return { ok: true, ms: startMs + ms }
  }
  // A bare date is midnight in Thailand, where the farms are.
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(at.trim()) ? `${at.trim()}T00:00:00+07:00` : at
  const ms = Date.parse(iso)
  return Number.isFinite(ms) ? { ok: true, ms } : { ok: false, reason: `"${at}" is neither +30m style nor an ISO date-time` }
}

const ScenarioEvent = z.object({
  at: z.string().min(1),
  device: z.string().regex(ID_PATTERN),
  fault: z.enum(FAULT_SCENARIOS),
  action: z.enum(['inject', 'clear']).default('inject'),
  severity: z.number().min(0).max(1).optional(),
})

export const ScenarioFile = z.object({
  training: z.union([z.literal('all'), z.array(z.string().regex(ID_PATTERN))]).optional(),
  events: z.array(ScenarioEvent).default([]),
})
export type ScenarioFile = z.output<typeof ScenarioFile>

export interface Scenario {
  training: readonly string[] | 'all' | undefined
  faults: TimedFault[]
}

export function parseScenario(json: unknown, startMs: number): { ok: true; scenario: Scenario } | { ok: false; reason: string } {
  const parsed = ScenarioFile.safeParse(json)
  if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error) }
  const faults: TimedFault[] = []
  for (const [i, e] of parsed.data.events.entries()) {
    const at = parseAt(e.at, startMs)
    if (!at.ok) return { ok: false, reason: `events.${i}.at: ${at.reason}` }
    faults.push({ atMs: at.ms, device: e.device, fault: e.fault, action: e.action, ...(e.severity === undefined ? {} : { severity: e.severity }) })
  }
  return { ok: true, scenario: { training: parsed.data.training, faults } }
}

export async function loadScenario(path: string, startMs: number): Promise<{ ok: true; scenario: Scenario } | { ok: false; reason: string }> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    return { ok: false, reason: `${path}: ${(err as Error).message}` }
  }
  const result = parseScenario(json, startMs)
  return result.ok ? result : { ok: false, reason: `${path}: ${result.reason}` }
}
