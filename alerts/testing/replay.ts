/**
 * Replays recorded broker traffic (topic, payload, time) through the engine in time order, with a
 * sweep every `sweepMs`, as the service would see it live. For tests that drive the simulator's
 * model in-process (test/ may import both; alerts/ never imports the simulator).
 */
import { parseTopic } from '../../contracts/topics.js'
import type { AlertEngine } from '../engine.js'
import type { AlertEvent } from '../types.js'

export interface Recorded {
  tMs: number
  topic: string
  payload: Record<string, unknown>
}

export function replay(engine: AlertEngine, messages: readonly Recorded[], sweepMs = 10_000): AlertEvent[] {
  const events: AlertEvent[] = []
  const sorted = [...messages].sort((a, b) => a.tMs - b.tMs)
  let nextSweep = sorted[0]?.tMs ?? 0
  for (const m of sorted) {
    while (nextSweep <= m.tMs) {
      events.push(...engine.sweep(nextSweep).events)
      nextSweep += sweepMs
    }
    const at = parseTopic(m.topic)
    if (!at.ok) continue
    const { ok: _ok, ...address } = at
    events.push(...engine.onReading({ at: address, payload: m.payload, receivedMs: m.tMs }, m.tMs).events)
  }
  return events
}
