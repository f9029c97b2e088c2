/**
 * A workshop at 60x through the whole stack (issue 16): the simulator runs its farm as a training
 * farm at speed 60, so its readings are stamped ahead of the wall clock. Before, ingest refused
 * them all as `future_ts` and nothing was stored or raised. Now: no dead letter, the readings are
 * in the training bucket and none in the real one, and a dry run injected from the trainer's
 * control topic raises its alert within its simulated budget (2 simulated minutes: 2 s at 60x),
 * its history written to the training bucket as well.
 */
import { connectAsync } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { type TestApp, startTestApp } from './helpers/app.js'
import { type InfluxHandle, startInflux } from './helpers/influx.js'
import { waitFor } from './helpers/wait-for.js'

const TOKEN = 'workshop-token'

/** The latest 10:30 in Thailand at or before `now`, as ISO 8601. */
function lastMorning(now: number): string {
  const day = new Date(now + 7 * 3_600_000).toISOString().slice(0, 10)
  const today = Date.parse(`${day}T10:30:00+07:00`)
  return new Date(today <= now ? today : today - 86_400_000).toISOString()
}
let influx: InfluxHandle
let app: TestApp

beforeAll(async () => {
  influx = await startInflux()
  await influx.exec(`CREATE DATABASE "${influx.db}_training"`)
  app = await startTestApp(['broker', 'ingest', 'alerts', 'sim'], {
    INFLUX_URL: influx.url,
    INFLUX_BUCKET: influx.bucket,
    SIM_FARMS: '1',
    SIM_SPEED: '60',
    SIM_TRAINING_FARMS: 'all',
    // Mid-morning in Thailand, whatever the hour the test runs: at 08:30 in December the pump is
    // still short of sun (below the speed at which its controller trips on a dry run), and
    // after noon the water bank may be full and the pump idle. The test depended on the hour.
    SIM_START: lastMorning(Date.now()),
    ALERTS_API_TOKEN: TOKEN,
    ALERTS_SWEEP_CRON: '* * * * * *',
  })
}, 90_000)

afterAll(async () => {
  await app?.stop()
  await influx?.close()
})

const count = async (db: string) => Number((await influx.queryRows(`SELECT count("pv_w") FROM "${db}"."autogen"."pump"`))[0]?.count ?? 0)

describe('a workshop at speed 60', () => {
  it('stores every reading apart from real data, with no dead letter, and a dry run raises its alert within its simulated budget', async () => {
    const farms = await app.registry.farms.list()
    expect(farms.every((f) => f.training)).toBe(true)
    const pump = app.accounts.listDevices().find((d) => d.kind === 'pump')
    expect(pump).toBeDefined()
    await waitFor(async () => (await count(`${influx.db}_training`)) >= 3, { message: 'training readings stored', timeoutMs: 20_000 })
    expect(await count(influx.db)).toBe(0)

    const creds = await app.accounts.serviceCredentials('workshop-test')
    const control = await connectAsync(`mqtt://127.0.0.1:${app.mqttPort}`, { ...creds, clientId: creds.username, protocolVersion: 4 })
    const injectedMs = Date.now()
    await control.publishAsync('sim/control', JSON.stringify({ action: 'inject', id: 'w1', device: pump?.device, fault: 'dry_run' }), { qos: 1 })
    const alert = await waitFor(async () => {
      const r = (await (await fetch(`http://127.0.0.1:${app.httpPort}/alerts/api/alerts`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { alerts: Array<{ rule: string; device: string }> }
      return r.alerts.find((a) => a.rule === 'dry_run' && a.device === pump?.device)
    }, { message: 'the dry run alert', timeoutMs: 15_000 })
    const realMs = Date.now() - injectedMs
    console.log(`dry run at 60x: alert ${realMs} ms after the injection (${((realMs * 60) / 1000).toFixed(0)} simulated s; budget 120)`)
    expect(alert).toBeDefined()
    expect(realMs * 60).toBeLessThan(120_000)
    await control.endAsync()
    // Its alert history too is apart from real data.
    const alertRows = (db: string) => influx.queryRows(`SELECT count("alert_id") FROM "${db}"."autogen"."alert"`).then((r) => Number(r[0]?.count ?? 0))
    await waitFor(async () => (await alertRows(`${influx.db}_training`)) > 0, { message: 'the alert in the training history', timeoutMs: 15_000 })
    expect(await alertRows(influx.db)).toBe(0)
    const letters = (await DeadLetterStore.forDataDir(app.dataDir).list()).filter((l) => l.stage === 'ingest')
    expect(letters).toEqual([])
  })
})
