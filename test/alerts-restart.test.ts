/**
 * Durable alert state across restarts (issue 6 "Done when"): a pending timer keeps counting from
 * its start, an escalation ladder continues where it was, and nothing is sent twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { farmsFileJson, LINE_IDS } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { LineStub } from '../alerts/testing/line-stub.js'
import { pump } from '../alerts/testing/readings.js'
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
})
