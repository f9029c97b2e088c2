/**
 * Issue 19, the 4G path: suanyang-host-device with `--link sim7600` runs the firmware core's AT
 * driver (firmware/core/at_mqtt.h) against a SIM7600 stand-in (firmware/test/host/fake_sim7600.h)
 * that answers the modem's MQTT AT commands strictly and does the MQTT on the project's real
 * broker: device core -> AT text -> fake modem -> broker -> ingest -> InfluxDB. The fake's link
 * goes down on demand (a flag file) to prove the reconnect and the delivery of what the ring
 * held meanwhile.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectAsync } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openOwnAccountStore } from '../registry/accounts-source.js'
import { addDevice } from './helpers/app.js'
import { type FirmwareBuild, buildFirmwareHost } from './helpers/firmware-build.js'
import { type HostDevice, type HostLine, startHostDevice } from './helpers/host-device.js'
import { cleanups, setup } from './helpers/pipeline.js'
import { waitFor } from './helpers/wait-for.js'

let fw: FirmwareBuild
let s: Awaited<ReturnType<typeof setup>>
let work: string
const devices: HostDevice[] = []

beforeAll(async () => {
  ;[fw, s] = await Promise.all([buildFirmwareHost(), setup({ brokerInProcess: false })])
  work = await mkdtemp(join(tmpdir(), 'suanyang-fw-modem-'))
}, 600_000)

afterAll(async () => {
  for (const d of devices.splice(0)) await d.stop('SIGKILL').catch(() => {})
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {})
  await rm(work, { recursive: true, force: true })
})

const url = () => `mqtt://127.0.0.1:${s.mqttPort}`
const linkLines = (d: HostDevice, what: string) => d.lines.filter((l) => l.ev === 'link' && l.what === what)
const modemLines = (d: HostDevice, what: string) => d.lines.filter((l) => l.ev === 'modem' && l.what === what)

async function soilRows(id: string) {
  const rows = await s.influx.queryRows(`SELECT boot, seq FROM soil WHERE device = '${id}'`)
  return rows.map((r) => ({ ts: Number(r.time), boot: Number(r.boot), seq: Number(r.seq) }))
}

interface Seen {
  topic: string
  payload: string
  retain: boolean
}

describe('firmware core over the SIM7600 AT path', () => {
  it('the SIM7600 stand-in is as strict as the manual: malformed, out of order, too long, unknown', () => {
    const script = [
      'AT+CMQTTTOPIC=0,5', // before START and ACCQ
      'AT+CMQTTSTART',
      'AT+CMQTTACCQ=0,"x"',
      'AT+CMQTTTOPIC=0,3',
      'abcdAT', // 3 bytes announced, 4 sent: "dAT" is read as a command
      'AT+CMQTTPUB=0,1', // <pub_timeout> missing
      'AT+CMQTTCONNECT=0,"mqtt://h:1",60,1', // the address must be tcp://
      'AT+CMQTTPUB=0,1,20', // no connection
      'AT+CMQTTWILLMSG=0,2000,1', // over 1,024
      'AT+CMQTTACCQ=0,"y"', // already acquired
      'AT+CMQTTSUB=0,"a/b",1', // a quoted topic is not this command's form
      'AT+FOO',
    ]
      .map((l) => `${l}\r`)
      .join('')
    const r = spawnSync(fw.device, ['--modem-script'], { input: script, encoding: 'utf8', timeout: 10_000 })
    expect(r.status).toBe(0)
    const log = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { what: string; cmd: string; err?: number })
    expect(log.map((l) => [l.what, l.cmd, l.err])).toEqual([
      ['refused', 'CMQTTTOPIC', 20],
      ['violation', 'dAT', undefined],
      ['violation', 'AT+CMQTTPUB=0,1', undefined],
      ['violation', 'AT+CMQTTCONNECT=0,"mqtt://h:1",60,1', undefined],
      ['refused', 'CMQTTPUB', 11],
      ['refused', 'CMQTTWILLMSG', 22],
      ['refused', 'CMQTTACCQ', 19],
      ['violation', 'AT+CMQTTSUB=0,"a/b",1', undefined],
      ['violation', 'AT+FOO', undefined],
    ])
    // The answers as the manual writes them, the echo on (no ATE0 was sent).
    expect(r.stdout).toContain('AT+CMQTTTOPIC=0,5\r\r\n+CMQTTTOPIC: 0,20\r\n\r\nERROR\r\n')
    expect(r.stdout).toContain('\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n')
    expect(r.stdout).toContain('AT+CMQTTTOPIC=0,3\r\r\n>\r\nOK\r\n')
    expect(r.stdout.match(/ERROR/g)?.length).toBe(9)
  })

  it('joins, its readings are stored, a command is answered, and after a lost link it delivers what it held', async () => {
    const id = 'fw-soil-4g'
    const creds = await addDevice(s.dataDir, 'fw-farm', 'soil', id)
    const store = await openOwnAccountStore({ dataDir: s.dataDir })
    const op = await store.setUser('fw-4g-tech', 'operator')
    await store.close()
    const client = await connectAsync(url(), { username: op.username, password: op.password, clientId: 'fw-4g-tech_cli', clean: true, reconnectPeriod: 0 })
    cleanups.push(() => client.endAsync())
    const seen: Seen[] = []
    client.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }))
    const base = `farm/fw-farm/soil/${id}`
    await client.subscribeAsync([`${base}/telemetry`, `${base}/status`, `${base}/cmd/ack`], { qos: 1 })

    // 60x, a reading every 60 device-seconds: one a real second.
    const outage = join(work, 'outage')
    const origin = Date.now()
    const d = startHostDevice(fw, {
      url: url(),
      farm: 'fw-farm',
      kind: 'soil',
      id,
      password: creds.password,
      data: join(work, `${id}.flash`),
      speed: 60,
      epochAtOriginMs: origin - 3_600_000,
      originRealMs: origin,
      syncAfterMs: 2_000,
      intervalS: 60,
      link: 'sim7600',
      modemOutageFile: outage,
    })
    devices.push(d)
    await waitFor(() => linkLines(d, 'connected').length === 1, { timeoutMs: 15_000, message: 'connected through the modem' })
    await waitFor(() => seen.filter((m) => m.topic.endsWith('/telemetry')).length >= 3, { timeoutMs: 15_000, message: 'three readings at the subscriber' })
    // The clock came from the modem (AT+CNTP, AT+CCLK?: to the second), no SNTP of its own. At
    // 60x a real millisecond of the exchange is 60 device-ms: 2 s allows 25 ms of it.
    expect(d.lines.find((l) => l.ev === 'synced')).toMatchObject({ via: 'modem' })
    for (const line of d.stored()) expect(Math.abs(line.ts - line.true_ms), `ts of seq ${line.seq}`).toBeLessThanOrEqual(2_000)
    const birth = seen.find((m) => m.topic === `${base}/status`)
    expect(JSON.parse(birth?.payload ?? '{}')).toMatchObject({ online: true, boot: 1 })

    // A command over 64 bytes (the fake hands it over in two +CMQTTRXPAYLOAD packets), and
    // one the device refuses: both answered on cmd/ack through the modem.
    const longId = `modem-cmd-${'x'.repeat(40)}`
    await client.publishAsync(`${base}/cmd`, JSON.stringify({ id: longId, cmd: 'set_interval', args: { seconds: 60 } }), { qos: 1 })
    await client.publishAsync(`${base}/cmd`, JSON.stringify({ id: 'modem-cmd-2', cmd: 'set_interval', args: { seconds: 0 } }), { qos: 1 })
    await waitFor(() => seen.filter((m) => m.topic.endsWith('/cmd/ack')).length >= 2, { timeoutMs: 10_000, message: 'two acks' })
    expect(seen.filter((m) => m.topic.endsWith('/cmd/ack')).map((m) => JSON.parse(m.payload) as unknown)).toEqual([
      { id: longId, ok: true },
      { id: 'modem-cmd-2', ok: false, error: 'args.seconds must be an integer from 1 to 86400' },
    ])
    expect(d.lines.filter((l) => l.ev === 'cmd').map((l) => [l.id, l.ok])).toEqual([
      [longId, true],
      ['modem-cmd-2', false],
    ])

    // The link goes down: +CMQTTCONNLOST, the session dropped without a DISCONNECT.
    await writeFile(outage, '')
    await waitFor(() => linkLines(d, 'connection lost').length >= 1, { timeoutMs: 10_000, message: 'the device to see the link go' })
    const lostAt = d.stored('telemetry').length
    // The broker published the Will, and not retained: the modem cannot retain a Will.
    await waitFor(() => seen.some((m) => m.topic === `${base}/status` && m.payload.includes('"online":false')), { timeoutMs: 10_000, message: 'the Will' })
    const will = seen.find((m) => m.topic === `${base}/status` && m.payload.includes('"online":false'))
    expect(will?.retain).toBe(false)
    // Six readings held in the flash ring while the modem's connects fail.
    await waitFor(() => d.stored('telemetry').length >= lostAt + 6, { timeoutMs: 15_000, message: 'readings while offline' })
    expect(linkLines(d, 'connected').length).toBe(1)
    expect(linkLines(d, 'connection lost').length).toBeGreaterThan(1) // connects refused: +CMQTTCONNECT: 0,3
    await unlink(outage)
    await waitFor(() => linkLines(d, 'connected').length === 2, { timeoutMs: 20_000, message: 'reconnected through the modem' })

    // Every reading stored on the device is in InfluxDB once, at its ts; the subscriber saw each.
    let stored = d.stored('telemetry')
    await waitFor(
      async () => {
        stored = d.stored('telemetry')
        return (await soilRows(id)).length >= stored.length
      },
      { timeoutMs: 20_000, message: 'every reading in InfluxDB' },
    )
    await d.stop('SIGTERM')
    const rows = await soilRows(id)
    const byKey = new Map(rows.map((r) => [`${r.boot}:${r.seq}`, r]))
    expect(byKey.size).toBe(rows.length)
    for (const line of stored) expect(byKey.get(`${line.boot}:${line.seq}`)?.ts, `seq ${line.seq}`).toBe(line.ts)
    const offline = stored.slice(lostAt)
    expect(offline.length).toBeGreaterThanOrEqual(6)
    const atSubscriber = new Map(seen.filter((m) => m.topic.endsWith('/telemetry')).map((m) => [(JSON.parse(m.payload) as { seq: number }).seq, m.payload]))
    for (const line of stored) {
      const payload = atSubscriber.get(line.seq)
      expect(payload, `seq ${line.seq} at the subscriber`).toBeDefined()
      expect(JSON.parse(payload ?? '{}')).toMatchObject({ ts: line.ts, seq: line.seq, boot: 1 })
    }

    // The driver spoke the manual's dialogue: nothing malformed; the only refusals are the
    // clean-up of a session that was not there (DISC, REL) and START when it was running.
    expect(modemLines(d, 'violation')).toEqual([])
    expect(new Set(modemLines(d, 'refused').map((l) => l.cmd))).toEqual(new Set(['CMQTTDISC', 'CMQTTREL', 'CMQTTSTART']))
    const summary = modemLines(d, 'summary')[0] as HostLine & { violations: number; timeouts: number; rx_dropped: number; idle: boolean }
    expect(summary).toMatchObject({ violations: 0, timeouts: 0, rx_dropped: 0, idle: true })
    // A clean stop: the retained {online:false} published through the modem, then DISC and REL.
    const last = seen.filter((m) => m.topic === `${base}/status`).at(-1)
    expect(JSON.parse(last?.payload ?? '{}')).toMatchObject({ online: false })
  }, 60_000)

  it('a wrong password: the modem reports the broker refusal and the device never connects', async () => {
    const id = 'fw-soil-4g-bad'
    await addDevice(s.dataDir, 'fw-farm', 'soil', id)
    const d = startHostDevice(fw, {
      url: url(),
      farm: 'fw-farm',
      kind: 'soil',
      id,
      password: 'not-the-password',
      data: join(work, `${id}.flash`),
      speed: 60,
      syncAfterMs: 1_000,
      intervalS: 60,
      link: 'sim7600',
    })
    devices.push(d)
    await waitFor(() => linkLines(d, 'connection lost').length >= 3, { timeoutMs: 15_000, message: 'three refused connects' })
    await d.stop('SIGTERM')
    expect(linkLines(d, 'connected')).toEqual([])
    expect(modemLines(d, 'violation')).toEqual([])
    expect(modemLines(d, 'summary')[0]).toMatchObject({ violations: 0, idle: true })
  }, 30_000)
})
