/**
 * Workshop sessions (issue 16): a scenario file (scenario.ts: which farms are training farms,
 * faults injected and cleared at set times) with what a trainer needs around it: a title in
 * Thai and English, the simulated time of day it starts at and the speed it is written for, and
 * the lessons (firmware-sim/workshops/lessons/<fault>.md) that go with its faults.
 *
 * `workshopEnv` gives the environment that plays it with `npm start`: the start time and speed
 * become SIM_START and SIM_SPEED, the file SIM_SCENARIO. The events stay relative (`+30m`), so
 * one file plays at any speed and on any day.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { describeIssues } from '../contracts/decode.js'
import { FAULT_SCENARIOS, type FaultScenario } from '../contracts/sim-control.js'
import { MAX_SPEED } from './engine.js'
import { ScenarioFile, parseScenario } from './scenario.js'

export const WORKSHOPS_DIR = join(import.meta.dirname, 'workshops')
export const lessonPath = (fault: FaultScenario): string => join(WORKSHOPS_DIR, 'lessons', `${fault}.md`)

const Text = z.strictObject({ th: z.string().min(1), en: z.string().min(1) })

export const WorkshopFile = ScenarioFile.extend({
  title: Text,
  summary: Text,
  /** Local time of day (Asia/Bangkok) the simulated morning starts at. */
  start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24 h'),
  speed: z.number().positive().max(MAX_SPEED),
  /** Real minutes the session takes at `speed`. */
  minutes: z.number().positive(),
  lessons: z.array(z.enum(FAULT_SCENARIOS)).min(1),
}).superRefine((w, ctx) => {
  const injected = new Set(w.events.filter((e) => e.action === 'inject').map((e) => e.fault))
  for (const fault of injected) if (!w.lessons.includes(fault)) ctx.addIssue({ code: 'custom', path: ['lessons'], message: `no lesson listed for ${fault}` })
  for (const fault of w.lessons) if (!injected.has(fault)) ctx.addIssue({ code: 'custom', path: ['lessons'], message: `${fault} is never injected` })
  if (!Array.isArray(w.training) || w.training.length === 0) ctx.addIssue({ code: 'custom', path: ['training'], message: 'a workshop names its training farms' })
  for (const [i, e] of w.events.entries()) {
    const farm = Array.isArray(w.training) ? w.training.find((f) => e.device.startsWith(`${f}-`)) : undefined
    if (!farm) ctx.addIssue({ code: 'custom', path: ['events', i, 'device'], message: `${e.device} is not on a training farm of this workshop` })
  }
})
export type WorkshopFile = z.output<typeof WorkshopFile>

/** The file checked as a workshop and as a scenario the simulator plays (times included). */
export function parseWorkshop(json: unknown): { ok: true; workshop: WorkshopFile } | { ok: false; reason: string } {
  const parsed = WorkshopFile.safeParse(json)
  if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error) }
  const played = parseScenario(json, 0)
  if (!played.ok) return played
  const last = Math.max(0, ...played.scenario.faults.map((f) => f.atMs))
  const fits = last / parsed.data.speed / 60_000
  if (fits > parsed.data.minutes) return { ok: false, reason: `the last event is ${fits.toFixed(1)} real minutes in at speed ${parsed.data.speed}, after the session's ${parsed.data.minutes}` }
  return { ok: true, workshop: parsed.data }
}

export async function loadWorkshop(path: string): Promise<{ ok: true; workshop: WorkshopFile } | { ok: false; reason: string }> {
  try {
    const r = parseWorkshop(JSON.parse(await readFile(path, 'utf8')))
    return r.ok ? r : { ok: false, reason: `${path}: ${r.reason}` }
  } catch (err) {
    return { ok: false, reason: `${path}: ${(err as Error).message}` }
  }
}

/** SIM_* for `npm start` to play `path` on `day` (YYYY-MM-DD, in Thailand). */
export function workshopEnv(path: string, w: WorkshopFile, day: string): Record<string, string> {
  return {
    SIM_SCENARIO: path,
    SIM_START: `${day}T${w.start}:00+07:00`,
    SIM_SPEED: String(w.speed),
    SIM_TRAINING_FARMS: Array.isArray(w.training) ? w.training.join(',') : '',
  }
}
