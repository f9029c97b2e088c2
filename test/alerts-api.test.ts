/**
 * The technician side: the token-protected API (acknowledge, resolve with a maintenance note,
 * pump commands answered over MQTT), readings taken straight from a broker when ingest runs
 * elsewhere (published by mosquitto_pub, a client nobody here wrote), and the lifecycle history
 * in a real InfluxDB (`alert`, `maintenance`).
 */
import { connectAsync, type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { farmsFileJson, LINE_IDS } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { LineStub } from '../alerts/testing/line-stub.js'
import { pump } from '../alerts/testing/readings.js'
import { startInflux, type InfluxHandle } from './helpers/influx.js'
import { startMosquitto, type MosquittoBroker } from './helpers/mosquitto-broker.js'
import { mosquittoPub } from './helpers/mosquitto.js'
import { waitFor } from './helpers/wait-for.js'

const TOKEN = 'api-line-token'
let line: LineStub
let broker: MosquittoBroker
let influx: InfluxHandle
let device: MqttClient
let h: AlertsHarness

const farms = () => farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } })

beforeAll(async () => {
  ;[line, broker, influx] = await Promise.all([new LineStub(TOKEN).start(), startMosquitto(), startInflux()])
  // A pump controller that answers commands on its cmd topic.
  device = await connectAsync(broker.url, { clientId: 'pump-1', clean: true })
  await device.subscribeAsync('farm/ranong-01/pump/pump-1/cmd', { qos: 1 })
  device.on('message', (_topic, payload) => {
    const cmd = JSON.parse(payload.toString()) as { id: string; cmd: string }
    void device.publishAsync('farm/ranong-01/pump/pump-1/cmd/ack', JSON.stringify({ id: cmd.id, ok: cmd.cmd !== 'reset', ...(cmd.cmd === 'reset' ? { error: 'no fault to reset' } : {}) }), { qos: 1 })
  })
  h = await AlertsHarness.start({
    farms: farms(),
    mqttUrl: broker.url,
    running: ['alerts'], // no ingest here: readings come from the broker
    env: {
      LINE_CHANNEL_ACCESS_TOKEN: TOKEN,
      LINE_CHANNEL_SECRET: 'secret',
      LINE_API_BASE_URL: line.url,
      ALERTS_API_TOKEN: 'tech-token',
      ALERTS_SWEEP_CRON: '* * * * * *',
      INFLUX_URL: influx.url,
      INFLUX_BUCKET: influx.bucket,
    },
  })
}, 60_000)

afterAll(async () => {
  await h?.close()
  await device?.endAsync()
  await Promise.all([line?.close(), broker?.close(), influx?.close()])
})

describe('technician API', () => {
  it('refuses a missing or wrong token', async () => {
    expect((await fetch(`${h.baseUrl}/alerts/api/alerts`)).status).toBe(401)
    const wrong = await fetch(`${h.baseUrl}/alerts/api/alerts`, { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
  })

  it('readings from the broker raise an alert; acknowledge and resolve with a note go to history', async () => {
    const reading = pump(h.now(), { state: 'fault', fault: 'OVERCURRENT', motor_a: 19 })
    const pub = await mosquittoPub({ port: broker.port, topic: 'farm/ranong-01/pump/pump-1/telemetry', message: JSON.stringify(reading.payload), qos: 1 })
    expect(pub.code).toBe(0)
    await waitFor(() => line.delivered().length === 1, { message: 'the card for a reading published with mosquitto_pub' })
    const { json: list } = await h.api('GET', 'alerts')
    const alert = (list.alerts as Array<{ id: string; rule: string }>)[0]
    expect(alert?.rule).toBe('overcurrent')
    const id = alert?.id ?? ''

    const ack = await h.api('POST', `alerts/${id}/ack`, { by: 'ช่างสมศักดิ์' })
    expect(ack).toMatchObject({ status: 200, json: { alert: { status: 'acknowledged', ack: { by: 'ช่างสมศักดิ์', via: 'api' } } } })
    expect((await h.api('POST', `alerts/${id}/ack`, { by: 'x' })).status).toBe(409)
    const done = await h.api('POST', `alerts/${id}/resolve`, { by: 'ช่างสมศักดิ์', note: 'ล้างใบพัด ทรายติด' })
    expect(done).toMatchObject({ status: 200, json: { alert: { status: 'resolved', resolved: { note: 'ล้างใบพัด ทรายติด' } } } })
    await waitFor(() => line.delivered().length === 2, { message: 'the resolve note to the farmer' })
    expect(line.delivered()[1]).toMatchObject({ to: LINE_IDS.farmer, messages: [{ text: expect.stringContaining('ล้างใบพัด') }] })

    const rows = await waitFor(async () => {
      const r = await influx.queryRows('SELECT * FROM "alert" GROUP BY "event"')
      return r.length >= 5 ? r : undefined
    }, { message: 'alert history in InfluxDB', timeoutMs: 15_000 })
    // fire, its card sent, ack, resolve, the resolve note sent
    expect(rows.map((r) => r.event).sort()).toEqual(['ack', 'fire', 'notify', 'notify', 'resolve'])
    expect(rows.every((r) => r.alert_id === id)).toBe(true)
    expect(await influx.fieldTypes('alert')).toMatchObject({ duration_s: 'float', version: 'float', alert_id: 'string' })
    const repairs = await waitFor(async () => {
      const r = await influx.queryRows('SELECT * FROM "maintenance"')
      return r.length > 0 ? r : undefined
    }, { message: 'the maintenance record' })
    expect(repairs[0]).toMatchObject({ type: 'repair', device: 'pump-1', note: 'ล้างใบพัด ทรายติด', alert_id: id })
  })

  it('sends a pump command over MQTT and reports its cmd/ack', async () => {
    const stop = await h.api('POST', 'commands', { farm: 'ranong-01', device: 'pump-1', cmd: 'stop', by: 'somsak' })
    expect(stop).toMatchObject({ status: 200, json: { command: { cmd: 'stop', device: 'pump-1', ack: { ok: true } } } })
    const reset = await h.api('POST', 'commands', { farm: 'ranong-01', device: 'pump-1', cmd: 'reset', by: 'somsak' })
    expect(reset.json.command).toMatchObject({ ack: { ok: false, error: 'no fault to reset' } })
    const id = (reset.json.command as { id: string }).id
    expect((await h.api('GET', `commands/${id}`)).json.command).toMatchObject({ id, ack: { ok: false } })
    expect((await h.api('POST', 'commands', { farm: 'ranong-01', device: 'pump-1', cmd: 'reboot', by: 'x' })).status).toBe(400)
  })

  it('logs maintenance', async () => {
    const res = await h.api('POST', 'maintenance', { farm: 'ranong-01', device: 'pump-1', type: 'panel_cleaning', note: 'ล้างแผงแล้ว', by: 'somchai' })
    expect(res).toMatchObject({ status: 201, json: { maintenance: { type: 'panel_cleaning', runS: expect.any(Number) } } })
  })
})
