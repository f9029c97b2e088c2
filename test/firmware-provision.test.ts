/**
 * Issue 19: provisioning. The document `suanyang device add --firmware json` prints is read by
 * the firmware core's own parser (firmware/core/provision.cpp): the two must agree on every
 * document, or a device refuses what the CLI printed (or accepts what the contract refuses).
 * Both run here over the same bytes: hand-picked edges, every field swapped for hostile values,
 * and random documents. The header form is compiled with g++ and its values read back.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseBrokerUrl, parseProvisioningText, PROVISIONING_MAX_BYTES } from '../contracts/provisioning.js'
import { makeDataDir, runCli } from './helpers/app.js'
import { type FirmwareBuild, buildFirmwareHost } from './helpers/firmware-build.js'

const run = promisify(execFile)
let fw: FirmwareBuild
let work: string

beforeAll(async () => {
  fw = await buildFirmwareHost()
  work = await mkdtemp(join(tmpdir(), 'suanyang-prov-'))
}, 600_000)
afterAll(() => rm(work, { recursive: true, force: true }))

interface DeviceVerdict {
  ok: boolean
  field?: string
  reason?: string
  farm?: string
  kind?: string
  device?: string
  password?: string
  tls?: boolean
  host?: string
  port?: number
  ssid?: string
  wifiPassword?: string
  apn?: string
  modemUser?: string
  modemPassword?: string
}

/** The firmware core's verdicts, one per document, from one process. */
function deviceVerdicts(docs: Buffer[]): Promise<DeviceVerdict[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(fw.device, ['--check-provisioning'], { stdio: ['pipe', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`--check-provisioning exited ${code}`))
      resolve(out.trim().split('\n').map((l) => JSON.parse(l) as DeviceVerdict))
    })
    child.stdin.end(docs.map((d) => `${d.toString('base64')}\n`).join(''))
  })
}

/** What the device should have read, from the JS side's verdict. */
function expectedFields(bytes: Buffer): DeviceVerdict {
  const v = parseProvisioningText(bytes)
  if (!v.ok) return { ok: false }
  const b = parseBrokerUrl(v.doc.broker)
  return {
    ok: true,
    farm: v.doc.farm,
    kind: v.doc.kind,
    device: v.doc.device,
    password: v.doc.password,
    tls: b?.tls,
    host: b?.host,
    port: b?.port,
    ...(v.doc.wifi ? { ssid: v.doc.wifi.ssid, wifiPassword: v.doc.wifi.password } : {}),
    ...(v.doc.modem ? { apn: v.doc.modem.apn, modemUser: v.doc.modem.user, modemPassword: v.doc.modem.password } : {}),
  }
}

async function expectAgreement(docs: Buffer[]): Promise<{ accepted: number; refused: number }> {
  const verdicts = await deviceVerdicts(docs)
  expect(verdicts).toHaveLength(docs.length)
  let accepted = 0
  for (const [i, doc] of docs.entries()) {
    const want = expectedFields(doc)
    const got = verdicts[i] as DeviceVerdict
    const shown = doc.length > 200 ? `${doc.subarray(0, 200).toString('utf8')}... (${doc.length} bytes)` : JSON.stringify(doc.toString('utf8'))
    if (want.ok) {
      accepted++
      expect(got, `device on ${shown}`).toEqual(want)
    } else {
      expect(got.ok, `device accepted what the schema refuses: ${shown}`).toBe(false)
      expect(got.reason, `device gives a reason for ${shown}`).toMatch(/\w/)
    }
  }
  return { accepted, refused: docs.length - accepted }
}

const BASE = {
  v: 1,
  farm: 'demo-01',
  kind: 'pump',
  device: 'demo-01-pump',
  password: 'S3cr3t_-pw0rd',
  broker: 'mqtts://broker.example.org:8883',
  wifi: { ssid: 'สวนยาง office', password: 'farm-pass-1' },
} as Record<string, unknown>

const text = (o: unknown) => Buffer.from(JSON.stringify(o))

/** Values a hostile or careless document may hold, for every field. */
const HOSTILE: unknown[] = [
  undefined, null, 0, 1, -1, 1.5, true, '', ' ', 'a', 'demo-01', 'Demo-01', '-demo', 'demo_01', 'x'.repeat(32), 'x'.repeat(33),
  'pump', 'soil', 'waterbank', 'PUMP', 'ปั๊ม', 'a\u0000b', 'tab\there', 'ok\u2028', '\ud800', '😀', 'x'.repeat(7), 'x'.repeat(8),
  'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(128), 'x'.repeat(129), 'with space 123', 'mqtt://h', 'mqtt://127.0.0.1:1883',
  'mqtts://a.b.c', 'mqtts://h:0', 'mqtts://h:65535', 'mqtts://h:65536', 'mqtts://h:01883', 'mqtts://h:', 'mqtt://-h.com', 'mqtt://h-.com',
  'mqtt://a..b', 'mqtt://user@h', 'mqtt://h/path', 'mqtt://h?x=1', 'http://h', 'MQTT://h', 'mqtt://[::1]:1883', `mqtt://${'a'.repeat(63)}.com`,
  `mqtt://${'a'.repeat(64)}.com`, `mqtt://${Array(64).fill('abc').join('.')}`, [], ['x'], {}, { ssid: 'x' }, { apn: 'internet' },
  { ssid: 'x'.repeat(32), password: '' }, { ssid: 'ก'.repeat(10) }, { ssid: 'ก'.repeat(11) }, { ssid: '' }, { ssid: 'x', extra: 1 },
  { ssid: 'x', password: 'short' }, { ssid: 'x', password: 'y'.repeat(63) }, { ssid: 'x', password: 'y'.repeat(64) }, { ssid: 'x\u007f' },
  { apn: 'internet', user: 'true', password: 'true' }, { apn: '' }, { apn: 'has space' }, { apn: 'a'.repeat(63) }, { apn: 'a'.repeat(64) },
  { user: 'u' }, { apn: 'x', user: null },
]
const FIELDS = ['v', 'farm', 'kind', 'device', 'password', 'broker', 'wifi', 'modem', 'extra']

/** Byte-level edges JSON.stringify cannot make. */
function rawEdges(): Buffer[] {
  const base = JSON.stringify(BASE)
  const pad = (n: number) => Buffer.from(`${base.slice(0, -1)}${' '.repeat(n)}}`)
  const longest = PROVISIONING_MAX_BYTES - base.length
  return [
    Buffer.from('not json'),
    Buffer.from('[]'),
    Buffer.from('null'),
    Buffer.from(''),
    Buffer.from(`${base} x`),
    Buffer.from(`${base}\n`),
    Buffer.from(`  ${base}  `),
    Buffer.from(base.slice(0, -1)),
    Buffer.from(`\ufeff${base}`),
    Buffer.from(base.replace('"v":1', '"v":01')),
    Buffer.from(base.replace('"v":1', '"v":1.0')),
    Buffer.from(base.replace('"v":1', '"v":1e0')),
    Buffer.from(base.replace('"v":1', '"v":"1"')),
    Buffer.from(base.replace('"v":1', '"v":2,"v":1')), // JSON.parse keeps the last
    Buffer.from(base.replace('"v":1', '"v":1,"v":2')),
    Buffer.from(base.replace('"wifi":', '"wifi":{"ssid":""},"wifi":')),
    Buffer.from(base.replace('"wifi":', '"modem":{"apn":"internet"},"wifi":')),
    Buffer.from(base.replace('"farm":"demo-01"', '"farm":"demo\\u002d01"')),
    Buffer.from(base.replace('"farm":"demo-01"', '"farm":"demo\\u0000"')),
    Buffer.from(base.replace('สวนยาง office', 'bad\\ud800 surrogate')),
    Buffer.concat([Buffer.from(base.split('สวนยาง')[0] ?? ''), Buffer.from([0xc3, 0x28]), Buffer.from(base.split('สวนยาง')[1] ?? '')]),
    Buffer.concat([Buffer.from(base.split('สวนยาง')[0] ?? ''), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(base.split('สวนยาง')[1] ?? '')]),
    Buffer.from(base.replace('"wifi":', '"x":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}},"wifi":')),
    Buffer.from(base.replace('"wifi":', '"__proto__":{},"wifi":')),
    pad(longest),
    pad(longest + 1),
  ]
}

describe('the provisioning document, as the CLI writes it and the firmware reads it', () => {
  it('the firmware core and the zod schema agree on every edge and every hostile field', async () => {
    const docs: Buffer[] = [text(BASE), ...rawEdges()]
    for (const field of FIELDS) {
      for (const value of HOSTILE) docs.push(text({ ...BASE, [field]: value }))
    }
    const { accepted, refused } = await expectAgreement(docs)
    // Both sides are exercised: a parser that refused everything would fail the accepted ones.
    expect(accepted).toBeGreaterThan(40)
    expect(refused).toBeGreaterThan(300)
  })

  it('and on random documents', async () => {
    // Mostly valid values, so that documents valid as a whole come up too; each field goes wrong now and then.
    const mostly = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>) => fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: other, weight: 1 })
    const str = (max: number) => fc.oneof(fc.string({ maxLength: max }), fc.string({ unit: 'grapheme', maxLength: max }), fc.string({ unit: 'binary', maxLength: max }))
    const id = mostly(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/), str(34))
    const doc = fc.record(
      {
        v: mostly(fc.constant(1), fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double())),
        farm: id,
        kind: mostly(fc.constantFrom('pump', 'soil', 'waterbank'), str(10)),
        device: id,
        password: mostly(fc.stringMatching(/^[!-~]{8,128}$/), str(130)),
        broker: mostly(
          fc.oneof(
            fc.tuple(fc.constantFrom('mqtt', 'mqtts'), fc.domain(), fc.option(fc.integer({ min: 0, max: 70_000 }))).map(([s, h, p]) => `${s}://${h}${p === null ? '' : `:${p}`}`),
            fc.ipV4().map((ip) => `mqtt://${ip}:1883`),
          ),
          fc.oneof(str(40), fc.webUrl()),
        ),
        wifi: fc.record({ ssid: mostly(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), str(34)), password: mostly(fc.constantFrom('', 'farm-pass-1'), fc.oneof(fc.stringMatching(/^[ -~]{8,63}$/), str(66))) }, { requiredKeys: ['ssid'] }),
        modem: fc.record({ apn: mostly(fc.stringMatching(/^[!-~]{1,63}$/), str(65)), user: str(8), password: str(8) }, { requiredKeys: ['apn'] }),
      },
      { requiredKeys: ['v', 'farm', 'kind', 'device', 'password', 'broker'] },
    )
    const docs = fc.sample(doc, { numRuns: 600, seed: 19 }).map(text)
    const { accepted } = await expectAgreement(docs)
    expect(accepted).toBeGreaterThan(50)
  })

  it('device add --firmware json prints a document the firmware accepts, with the registered password', async () => {
    const dataDir = await makeDataDir()
    const r = await runCli(
      ['device', 'add', '--farm', 'demo-01', '--kind', 'soil', '--id', 'demo-01-soil-1', '--firmware', 'json', '--broker', 'mqtts://broker.example.org', '--wifi-ssid', 'สวนยาง 2.4G', '--wifi-password', 'rubber-2026'],
      { DATA_DIR: dataDir },
    )
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/registered soil "demo-01-soil-1"/)
    const [verdict] = await deviceVerdicts([Buffer.from(r.stdout.trimEnd())])
    expect(verdict).toMatchObject({ ok: true, farm: 'demo-01', kind: 'soil', device: 'demo-01-soil-1', tls: true, host: 'broker.example.org', port: 8883, ssid: 'สวนยาง 2.4G' })
    // The password in the document is the one the registry holds the hash of.
    const list = await runCli(['device', 'list', '--json'], { DATA_DIR: dataDir })
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ device: 'demo-01-soil-1' })])
    expect(verdict?.password).toMatch(/^[A-Za-z0-9_-]{20,}$/)
  })

  it('refuses a value the firmware would refuse before registering anything, naming the option', async () => {
    const dataDir = await makeDataDir()
    const cases: Array<[string[], RegExp]> = [
      [['--broker', 'http://broker.example.org', '--wifi-ssid', 'farm'], /^--broker: mqtt:\/\/ or mqtts:\/\/ host and port$/],
      [['--wifi-ssid', 'x'.repeat(33)], /^--wifi-ssid: at most 32 bytes$/],
      [['--wifi-ssid', 'farm', '--wifi-password', 'short'], /^--wifi-password: /],
      [[], /^--firmware needs --wifi-ssid or --apn/],
      [['--apn', 'internet', '--ca', '/nonexistent.pem'], /--ca goes into a header build/],
    ]
    for (const [extra, message] of cases) {
      const r = await runCli(['device', 'add', '--farm', 'demo-01', '--kind', 'pump', '--id', 'demo-01-pump', '--firmware', 'json', ...extra], { DATA_DIR: dataDir })
      expect(r.code, extra.join(' ')).toBe(2)
      expect(r.stderr.trim().split('\n'), extra.join(' ')).toEqual([expect.stringMatching(message)])
    }
    const list = await runCli(['device', 'list', '--json'], { DATA_DIR: dataDir })
    expect(JSON.parse(list.stdout)).toEqual([])
  })

  it('device add --firmware header writes a secrets.h that compiles and holds exactly the values, quotes and Thai included', async () => {
    const dataDir = await makeDataDir()
    const ca = join(work, 'ca.pem')
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\nMIIB"odd\\line\n-----END CERTIFICATE-----\n')
    const r = await runCli(
      ['device', 'add', '--farm', 'demo-02', '--kind', 'waterbank', '--id', 'demo-02-bank', '--firmware', 'header', '--broker', 'mqtts://10.0.0.2:8883',
        '--wifi-ssid', 'ลุง "ชัย" \\ wifi', '--wifi-password', 'pass "word" 1', '--apn', 'internet', '--ca', ca],
      { DATA_DIR: dataDir },
    )
    expect(r.code, r.stderr).toBe(0)
    await writeFile(join(work, 'secrets.h'), r.stdout)
    const probe = join(work, 'probe.cpp')
    await writeFile(
      probe,
      `#include <cstdio>\n#include "secrets.h"\nint main() { const char* v[] = {SY_FARM, SY_DEVICE, SY_KIND_NAME, SY_PASSWORD, SY_BROKER, SY_WIFI_SSID, SY_WIFI_PASS, SY_MODEM_APN, SY_CA_PEM};\n` +
        ' for (const char* s : v) { for (const char* p = s; *p; p++) printf("%02x", (unsigned char)*p); printf("\\n"); } }\n',
    )
    await run('g++', ['-std=c++17', '-Wall', '-Werror', '-o', join(work, 'probe'), probe], { cwd: work })
    const { stdout } = await run(join(work, 'probe'))
    const values = stdout.trim().split('\n').map((hex) => Buffer.from(hex, 'hex').toString('utf8'))
    expect(values.slice(0, 3)).toEqual(['demo-02', 'demo-02-bank', 'waterbank'])
    expect(values[3]).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    expect(values.slice(4)).toEqual(['mqtts://10.0.0.2:8883', 'ลุง "ชัย" \\ wifi', 'pass "word" 1', 'internet', '-----BEGIN CERTIFICATE-----\nMIIB"odd\\line\n-----END CERTIFICATE-----\n'])
  })
})
