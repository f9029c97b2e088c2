/**
 * Replays recorded broker traffic (topic, payload, time) through the engine in time order, with a
 * sweep every `sweepMs`, as the service would see it live. For tests that drive the simulator's
 * model in-process (test/ may import both; alerts/ never imports the simulator).
 */
import { parseTopic } from '../../contracts/topics.js'
import type { AlertEngine, Effects } from '../engine.js'
import type { OutboxItem } from '../outbox.js'
import type { AlertEvent } from '../types.js'

export interface Recorded {
  tMs: number
  topic: string
  payload: Record<string, unknown>
}

export function replay(engine: AlertEngine, messages: readonly Recorded[], sweepMs = 10_000): AlertEvent[] {
  return replayEffects(engine, messages, { sweepMs }).events
}

export interface ReplayOptions {
  sweepMs?: number
  /** People's actions at a time of the run (a logged repair), through the engine as the API calls it. */
  actions?: ReadonlyArray<{ atMs: number; act(engine: AlertEngine, nowMs: number): Effects }>
}

/**
 * Like `replay`, and also every message queued; a due message is taken as delivered, as the
 * dispatcher would send it (a card never sent is cancelled at resolve, and nobody hears of it).
 */
export function replayEffects(engine: AlertEngine, messages: readonly Recorded[], opts: ReplayOptions = {}): { events: AlertEvent[]; queued: OutboxItem[] } {
  const sweepMs = opts.sweepMs ?? 10_000
  const events: AlertEvent[] = []
  const queued: OutboxItem[] = []
  const take = (e: Effects) => {
    events.push(...e.events)
    queued.push(...e.queued)
  }
  const actions = [...(opts.actions ?? [])].sort((a, b) => a.atMs - b.atMs)
  const sorted = [...messages].sort((a, b) => a.tMs - b.tMs)
  let nextSweep = sorted[0]?.tMs ?? 0
  for (const m of sorted) {
    while (nextSweep <= m.tMs) {
      while (actions[0] && actions[0].atMs <= nextSweep) take((actions.shift() as (typeof actions)[number]).act(engine, nextSweep))
      take(engine.sweep(nextSweep))
      for (const item of Object.values(engine.state.outbox)) {
        if (item.status === 'queued' && item.notBeforeMs <= nextSweep) Object.assign(item, { status: 'sent', attempts: 1, doneMs: nextSweep })
      }
      nextSweep += sweepMs
    }
    const at = parseTopic(m.topic)
    if (!at.ok) continue
    const { ok: _ok, ...address } = at
    take(engine.onReading({ at: address, payload: m.payload, receivedMs: m.tMs }, m.tMs))
  }
  return { events, queued }
}
