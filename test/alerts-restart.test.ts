/**
 * Durable alert state across restarts (issue 6 "Done when"): a pending timer keeps counting from
 * its start, an escalation ladder continues where it was, and nothing is sent twice; a pump's
 * learned reference outlives a restart and a lost tracks file (issue 15).
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bangkokMidnight } from '../alerts/clock.js'
import type { EngineState } from '../alerts/state.js'
import { farmsFileJson, LINE_IDS } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { LineStub } from '../alerts/testing/line-stub.js'
import { healthyPump, pump } from '../alerts/testing/readings.js'
import { waitFor } from './helpers/wait-for.js'

const TOKEN = 'restart-token'
const MIN = 60_000
let line: LineStub
let h: AlertsHarness

beforeEach(async () => {
  line = await new LineStub(TOKEN).start()
  h = await AlertsHarness.start({
    farms: farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } }),
    env: {
      LINE_CHANNEL_ACCESS_TOKEN: TOKEN,
      LINE_CHANNEL_SECRET: 'secret',
      LINE_API_BASE_URL: line.url,
      ALERTS_API_TOKEN: 'api',
      ALERTS_SWEEP_CRON: '* * * * * *',
    },
  })
})

afterEach(async () => {
  await h.close()
  await line.close()
})

const publish = (r: ReturnType<typeof pump>) => h.hub.publish({ ...r, receivedMs: h.now() })
const hot = (ts: number) => pump(ts, { ctrl_temp_c: 92 })
const openAlerts = async () => (await h.api('GET', 'alerts')).json.alerts as Array<{ id: string; rule: string; status: string; sinceMs: number }>

describe('restarts', () => {
  it('during pending: the condition keeps its start time, fires once on time', async () => {
    const t0 = h.now()
    publish(hot(t0))
    h.offsetMs += MIN
    publish(hot(t0 + MIN))
    await waitFor(async () => (await openAlerts()).find((a) => a.status === 'pending'), { message: 'overtemp pending' })
    await h.restart()
    expect(await openAlerts()).toMatchObject([{ rule: 'overtemp', status: 'pending', sinceMs: t0 }])
    // Overtemp waits 2 minutes: one more reading after the restart is enough, because the start held.
    h.offsetMs += MIN
    publish(hot(t0 + 2 * MIN))
    await waitFor(() => line.delivered().length === 1, { message: 'the overtemp card' })
    h.offsetMs += MIN
    publish(hot(t0 + 3 * MIN))
    await h.restart()
    await h.sweeps(2)
    // A push in flight at the restart is sent again under its retry key: LINE answers 409, and
    // the farmer still gets one message.
    expect(line.delivered()).toHaveLength(1)
    expect(new Set(line.pushes.map((p) => p.retryKey)).size).toBe(1)
  })

  it('during escalation: the ladder goes on from its step, nobody hears twice', async () => {
    publish(pump(h.now(), { state: 'fault', fault: 'LOCKED_ROTOR', flow_lpm: 0 }))
    await waitFor(() => line.delivered().length === 1)
    await h.restart()
    h.offsetMs += 15 * MIN
    await waitFor(() => line.delivered().length === 2, { message: 'escalation to the technician after a restart' })
    await h.restart()
    await h.sweeps(2)
    expect(line.delivered().map((p) => p.to)).toEqual([LINE_IDS.farmer, LINE_IDS.technician])
    h.offsetMs += 15 * MIN
    await waitFor(() => line.delivered().length === 3, { message: 'escalation to the trainer' })
    await h.restart()
    h.offsetMs += 60 * MIN
    await h.sweeps(2)
    expect(line.delivered().map((p) => p.to)).toEqual([LINE_IDS.farmer, LINE_IDS.technician, LINE_IDS.trainer])
    expect(new Set(line.pushes.map((p) => p.retryKey)).size).toBe(3)
  })

  it('a learned reference survives a restart without the tracks file; a cleaning logged by API ends the clog alert', async () => {
    const DAY = 24 * 60 * MIN
    // Four mornings of pumping in the past (10:00-13:00), the last one clogged.
    const base = bangkokMidnight(h.now()) - 5 * DAY + 10 * 60 * MIN
    const morning = (d: number, flow_lpm?: number) =>
      Array.from({ length: 180 }, (_, i) => healthyPump(base + d * DAY + i * MIN, 800, flow_lpm === undefined ? {} : { flow_lpm }))
    for (let d = 0; d < 3; d++) for (const r of morning(d)) publish(r)
    publish(healthyPump(base + 3 * DAY - 60 * MIN)) // the next day's first reading completes the third day
    const state = async () => JSON.parse(await readFile(join(h.dataDir, 'alerts', 'state.json'), 'utf8')) as EngineState
    await waitFor(async () => (await state()).references['ranong-01/pump-1/efficiency']?.value, { message: 'reference learned and saved' })
    await h.stopService()
    // The tracks (learned days, recent readings) are gone: only state.json knows the reference.
    await rm(join(h.dataDir, 'alerts', 'tracks.json'))
    await h.startService()
    for (const r of morning(3, 19)) publish(r)
    const open = await waitFor(async () => (await openAlerts()).find((a) => a.rule === 'efficiency_drop'), { message: 'efficiency alert against the kept reference' })
    const logged = await h.api('POST', 'maintenance', { farm: 'ranong-01', device: 'pump-1', type: 'filter', note: 'strainer cleaned', by: 'somsak' })
    expect(logged.status).toBe(201)
    expect((await openAlerts()).map((a) => a.rule)).not.toContain('efficiency_drop')
    const closed = (await h.api('GET', `alerts/${open.id}`)).json.alert as { status: string; resolved: { by: string; note: string } }
    expect(closed).toMatchObject({ status: 'resolved', resolved: { by: 'somsak', note: 'strainer cleaned' } })
    await h.restart()
    expect((await state()).references['ranong-01/pump-1/efficiency']).toMatchObject({ basis: 'maintenance', value: expect.any(Number), learning: { days: [] } })
  })
})
