/**
 * The compiled line writer (ingest's hot path) writes the same bytes as the generic
 * toLineProtocol(toPoint(...)): literal lines for the fixtures, then property-based.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FIXTURE_TS, validEvent, validPump, validSoil, validStatus, validWaterbank } from './fixtures.js'
import type { Channel, Kind } from './names.js'
import { compileLineWriter, floatLiteral, linePrefix, toLineProtocol, toPoint } from './points.js'
import { parseLine } from '../test/helpers/line-protocol.js'
import { hostileText } from '../test/helpers/weird-values.js'
import { TEXT_PATTERN } from './payloads.js'
import { CHANNEL_SPECS } from './registry.js'
import type { TopicAddress } from './topics.js'

function write(at: TopicAddress, input: unknown): { fast: string; generic: string } {
  const schema = CHANNEL_SPECS[at.channel].schemaFor(at.kind) as unknown as { shape: Record<string, unknown>; parse(v: unknown): Record<string, unknown> }
  const payload = schema.parse(input)
  const prefix = linePrefix(at)
  if (prefix === undefined) throw new Error(`${at.channel} is not stored`)
  return { fast: compileLineWriter(Object.keys(schema.shape))(prefix, payload), generic: toLineProtocol(toPoint(at, payload)!) }
}

const at = (kind: Kind, channel: Channel, device = 'pump-1'): TopicAddress => ({ farm: 'ranong-01', kind, device, channel })

// Written by the generic path before the writer existed: InfluxDB has rows in exactly this form.
const EXPECTED: Array<[TopicAddress, unknown, string]> = [
  [at('pump', 'telemetry'), validPump, 'pump,device=pump-1,farm=ranong-01 seq=42,boot=3,pv_v=182.4,pv_a=3.1,pv_w=565.4,motor_a=3.4,motor_rpm=2850,flow_lpm=31.5,pressure_bar=2.9,ctrl_temp_c=48.2,volume_l_today=4120,run_s_total=1250400,state="running",fault="none",irradiance_wm2=812,rssi_dbm=-71 1772334000000'],
  [at('soil', 'telemetry'), validSoil, 'soil,device=pump-1,farm=ranong-01 seq=7,boot=1,vwc_pct=21.4,raw_adc=1840,soil_temp_c=27.5,battery_v=3.92 1772334000000'],
  [at('waterbank', 'telemetry'), validWaterbank, 'waterbank,device=pump-1,farm=ranong-01 seq=120,boot=2,level_cm=162.5,level_pct=81.2,volume_l=8120,battery_v=4.05,rssi_dbm=-88 1772334000000'],
  [at('pump', 'status'), validStatus, 'device_status,device=pump-1,farm=ranong-01 online=1,boot=3,fw="1.4.2" 1772334000000'],
  [at('pump', 'event'), validEvent, 'device_event,device=pump-1,farm=ranong-01 type="fault",fault="DRY_RUN",detail="no flow at full speed" 1772334000000'],
  [at('pump', 'telemetry', 'dev 1,a=b'), { ...validPump, fault: 'DRY_RUN', state: 'fault', irradiance_wm2: undefined, rssi_dbm: undefined }, 'pump,device=dev\\ 1\\,a\\=b,farm=ranong-01 seq=42,boot=3,pv_v=182.4,pv_a=3.1,pv_w=565.4,motor_a=3.4,motor_rpm=2850,flow_lpm=31.5,pressure_bar=2.9,ctrl_temp_c=48.2,volume_l_today=4120,run_s_total=1250400,state="fault",fault="DRY_RUN" 1772334000000'],
  [at('soil', 'event'), { ts: FIXTURE_TS, type: 'note "x", y=1\\z', fault: null }, 'device_event,device=pump-1,farm=ranong-01 type="note \\"x\\", y=1\\\\z",fault="none" 1772334000000'],
]

describe('compiled line writer', () => {
  it.each(EXPECTED)('%o: the bytes stored before', (address, input, line) => {
    const { fast, generic } = write(address, input)
    expect(fast).toBe(line)
    expect(generic).toBe(line)
  })

  it('writes what toLineProtocol(toPoint(...)) writes, for any valid payload', () => {
    const num = fc.oneof(fc.double({ min: -130, max: 0, noNaN: true }), fc.double({ min: 0, max: 10, noNaN: true }), fc.integer({ min: 0, max: 4095 }), fc.constantFrom(0, -0, 0.1, 1e-7, 123.45, 5e-324))
    const text = fc.string({ unit: 'grapheme', maxLength: 20 })
    const id = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/)
    const cases = fc.record({
      kind: fc.constantFrom<Kind>('pump', 'soil', 'waterbank'),
      channel: fc.constantFrom<Channel>('telemetry', 'status', 'event'),
      farm: id,
      device: fc.oneof(id, fc.constantFrom('a b', 'x,y', 'k=v', 'back\\slash')),
      nums: fc.array(num, { minLength: 20, maxLength: 20 }),
      text,
      fault: fc.constantFrom(null, 'OVERTEMP', undefined),
      online: fc.boolean(),
      ts: fc.integer({ min: 1_577_836_800_000, max: 4_102_444_800_000 }),
    })
    const valids: Record<string, Record<string, unknown>> = { pump: validPump, soil: validSoil, waterbank: validWaterbank }
    let checked = 0
    fc.assert(
      fc.property(cases, (c) => {
        const base = c.channel === 'telemetry' ? valids[c.kind]! : c.channel === 'status' ? validStatus : validEvent
        const input: Record<string, unknown> = { ...base, ts: c.ts }
        Object.keys(input).forEach((k, i) => {
          if (typeof input[k] === 'number' && !['ts', 'seq', 'boot', 'raw_adc'].includes(k)) input[k] = c.nums[i]
        })
        if (c.channel === 'event') Object.assign(input, { type: c.text || 'x', detail: c.text, fault: c.fault })
        if (c.channel === 'status') Object.assign(input, { online: c.online, fw: c.text })
        const schema = CHANNEL_SPECS[c.channel].schemaFor(c.kind)
        if (!schema.safeParse(input).success) return // out of range for this field: not a stored payload
        const { fast, generic } = write({ farm: c.farm, kind: c.kind, device: c.device, channel: c.channel }, input)
        expect(fast).toBe(generic)
        checked++
      }),
      { numRuns: 1_500, seed: 5 },
    )
    expect(checked).toBeGreaterThan(500)
  })
})

describe('float literal', () => {
  it('prints every finite number as String() does, and non-finite as 0', () => {
    const decimals = fc.tuple(fc.integer({ min: -3_000_000_000, max: 3_000_000_000 }), fc.constantFrom(1, 10, 100, 1000)).map(([k, d]) => k / d)
    fc.assert(
      fc.property(fc.oneof(fc.double(), decimals, fc.constantFrom(-0, 0.05, -0.05, -0.5, 0.1 + 0.2, 21474836.47, -21474836.48, 1e21, 5e-324)), (n) => {
        expect(floatLiteral(n)).toBe(Number.isFinite(n) ? String(n) : '0')
      }),
      { numRuns: 20_000, seed: 7 },
    )
  })
})

describe('line protocol safe by construction (issue 13)', () => {
  const name = fc.oneof(hostileText(), fc.constantFrom('m', 'farm', 'a b', 'x,y=z'))
  const points = fc.record({
    measurement: name.filter((s) => s !== ''),
    tags: fc.dictionary(name.filter((s) => s !== ''), name, { maxKeys: 3 }),
    fields: fc.dictionary(name.filter((s) => s !== ''), fc.oneof(hostileText(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()), { minKeys: 1, maxKeys: 4 }),
    timeMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  })
  // what the builder keeps of a string: everything except the characters TEXT_PATTERN refuses
  const kept = (s: string) => [...s].map((c) => (TEXT_PATTERN.test(c) ? c : '\ufffd')).join('')

  it('any point, whatever its strings, is exactly one line that reads back as that point', () => {
    fc.assert(
      fc.property(points, (p) => {
        const distinct = (keys: string[]) => new Set(keys.map(kept)).size === keys.length
        fc.pre(distinct(Object.keys(p.tags)) && distinct(Object.keys(p.fields))) // two names the replacement made one
        const line = toLineProtocol(p)
        const parsed = parseLine(Buffer.from(line).toString('utf8'))
        expect(parsed, line).toMatchObject({ ok: true })
        if (!parsed.ok) return
        expect(parsed.line.measurement).toBe(kept(p.measurement))
        expect(parsed.line.tags).toEqual(Object.fromEntries(Object.entries(p.tags).filter(([, v]) => v !== '').map(([k, v]) => [kept(k), kept(v)])))
        const fields = Object.entries(p.fields).map(([k, v]) => [kept(k), typeof v === 'string' ? kept(v) : Object.is(v, -0) ? 0 : v])
        expect(parsed.line.fields).toEqual(Object.fromEntries(fields))
        expect(parsed.line.time).toBe(p.timeMs)
      }),
      { numRuns: 3_000, seed: 1313 },
    )
  })

  it('keys a payload carries besides its schema never become fields, and tags are the topic\'s', () => {
    const payload = { ...validEvent, farm: 'other', device: 'other', time: 1, 'x\ny': 'z', extra: 'x' }
    const address = at('pump', 'event')
    const point = toPoint(address, payload)!
    expect(point.tags).toEqual({ farm: 'ranong-01', device: 'pump-1' })
    expect(Object.keys(point.fields)).toEqual(['type', 'fault', 'detail'])
    expect(compileLineWriter(['ts', 'type', 'fault', 'detail'])(linePrefix(address)!, payload)).toBe(toLineProtocol(point))
  })

  it('every stored schema key is a plain field name InfluxDB accepts', () => {
    for (const channel of ['telemetry', 'status', 'event'] as const) {
      for (const kind of ['pump', 'soil', 'waterbank'] as const) {
        const keys = Object.keys((CHANNEL_SPECS[channel].schemaFor(kind) as unknown as { shape: object }).shape)
        for (const k of keys) expect(k).toMatch(/^[a-z][a-z0-9_]*$/)
        expect(keys).not.toContain('time') // InfluxDB refuses a field named time
      }
    }
  })
})
