import { describe, expect, it } from 'vitest'
import { decodeMessage } from './decode.js'
import { FIXTURE_TS, invalidPumpPayloads, pumpAt, validAck, validCommand, validEvent, validPump, validSoil, validStatus, validWaterbank } from './fixtures.js'
import { jsonSchemas } from './json-schema.js'
import { TEXT_PATTERN } from './payloads.js'
import { CHANNELS, KINDS } from './names.js'
import { NO_FAULT, toLineProtocol, toPoint } from './points.js'
import { filterOf, parseTopic, topicOf } from './topics.js'

const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))

describe('topics', () => {
  it('round-trips every kind and channel', () => {
    for (const kind of KINDS) {
      for (const channel of CHANNELS) {
        const topic = topicOf({ farm: 'ranong-01', kind, device: 'd-1' }, channel)
        expect(parseTopic(topic)).toEqual({ ok: true, farm: 'ranong-01', kind, device: 'd-1', channel })
      }
    }
  })

  it.each([
    ['farm/ranong-01/pump/pump-1', 'topic is not farm/{farm}/{kind}/{device}/{channel}'],
    ['farm/Ranong/pump/pump-1/telemetry', 'invalid farm id'],
    ['farm/ranong-01/tractor/t-1/telemetry', 'unknown device kind'],
    ['farm/ranong-01/pump/-x/telemetry', 'invalid device id'],
    ['farm/ranong-01/pump/pump-1/debug', 'unknown channel'],
    ['farm/ranong-01/pump/+/telemetry', 'wildcard in topic'],
    ['farm/ranong-01/pump/pump-1/cmd/nack', 'unknown channel'],
    ['site/ranong-01/pump/pump-1/telemetry', 'topic does not start with farm/'],
    [`farm/${'a'.repeat(33)}/pump/p/telemetry`, 'invalid farm id'],
  ])('refuses %s', (topic, reason) => {
    expect(parseTopic(topic)).toEqual({ ok: false, reason })
  })

  it('builds subscription filters', () => {
    expect(filterOf('telemetry')).toBe('farm/+/+/+/telemetry')
    expect(filterOf('status', { farm: 'ranong-02', kind: 'soil' })).toBe('farm/ranong-02/soil/+/status')
  })
})

describe('payload schemas', () => {
  it.each([
    ['pump', 'telemetry', validPump],
    ['soil', 'telemetry', validSoil],
    ['waterbank', 'telemetry', validWaterbank],
    ['pump', 'status', validStatus],
    ['pump', 'event', validEvent],
    ['pump', 'cmd', validCommand],
    ['pump', 'cmd/ack', validAck],
  ] as const)('accepts a valid %s %s', (kind, channel, payload) => {
    const r = decodeMessage(`farm/f-1/${kind}/d-1/${channel}`, bytes(payload))
    expect(r.ok).toBe(true)
  })

  it('tolerates and strips unknown fields from newer firmware', () => {
    const r = decodeMessage(topicOf(pumpAt, 'telemetry'), bytes({ ...validPump, mppt_eff_pct: 97 }))
    expect(r.ok && 'mppt_eff_pct' in r.payload).toBe(false)
  })

  it.each(invalidPumpPayloads)('refuses $why', ({ raw }) => {
    const r = decodeMessage(topicOf(pumpAt, 'telemetry'), bytes(raw))
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason.length).toBeGreaterThan(5)
  })

  it('names the bad field in the reason', () => {
    const r = decodeMessage(topicOf(pumpAt, 'telemetry'), bytes({ ...validPump, flow_lpm: -3 }))
    expect(r).toMatchObject({ ok: false, code: 'invalid' })
    if (!r.ok) expect(r.reason).toMatch(/^flow_lpm: /)
  })

  it('refuses a payload over the size limit before parsing it', () => {
    const r = decodeMessage(topicOf(pumpAt, 'telemetry'), bytes({ ...validPump, pad: 'x'.repeat(70_000) }))
    expect(r).toMatchObject({ ok: false, code: 'too_large' })
  })
})

describe('point mapping', () => {
  it('writes every number as a float, strings for state and fault, tags farm and device, time = ts', () => {
    const p = toPoint({ ...pumpAt, channel: 'telemetry' }, { ...validPump })
    expect(p?.measurement).toBe('pump')
    expect(p?.tags).toEqual({ farm: 'ranong-01', device: 'pump-1' })
    expect(p?.timeMs).toBe(FIXTURE_TS)
    expect(p?.fields.fault).toBe(NO_FAULT)
    const line = toLineProtocol(p!)
    expect(line).toMatch(/^pump,device=pump-1,farm=ranong-01 /)
    expect(line).toContain('seq=42,boot=3,')
    expect(line).toContain('motor_rpm=2850,')
    expect(line).toContain('state="running",fault="none"')
    expect(line).not.toMatch(/=\d+i[, ]/) // never an integer literal
    expect(line.endsWith(` ${FIXTURE_TS}`)).toBe(true)
  })

  it('escapes strings and keys', () => {
    const line = toLineProtocol({ measurement: 'device_event', tags: { farm: 'a b' }, fields: { detail: 'say "hi"\\' }, timeMs: 1 })
    expect(line).toBe('device_event,farm=a\\ b detail="say \\"hi\\"\\\\" 1')
  })

  it('does not store commands', () => {
    expect(toPoint({ ...pumpAt, channel: 'cmd' }, { ...validCommand, ts: 1 })).toBeUndefined()
  })
})

describe('JSON Schema export', () => {
  it('publishes every payload with its ranges', () => {
    const schemas = jsonSchemas() as Record<string, { properties: Record<string, { minimum?: number }>; required: string[] }>
    expect(Object.keys(schemas)).toEqual(['pump-telemetry', 'soil-telemetry', 'waterbank-telemetry', 'status', 'event', 'cmd', 'cmd-ack'])
    expect(schemas['pump-telemetry']?.properties.flow_lpm?.minimum).toBe(0)
    expect(schemas['pump-telemetry']?.required).toContain('ts')
  })

  it('publishes the text rule of every string field as a pattern that means the same with or without the u flag', () => {
    const schemas = jsonSchemas() as Record<string, { properties: Record<string, { pattern?: string; maxLength?: number }> }>
    const props = (name: string) => schemas[name]?.properties ?? {}
    for (const [name, field] of [['status', 'fw'], ['event', 'type'], ['event', 'detail'], ['cmd', 'id'], ['cmd-ack', 'id'], ['cmd-ack', 'error']] as const) {
      expect(props(name)[field]?.pattern, `${name}.${field}`).toBe(TEXT_PATTERN.source)
    }
    expect(props('event').detail?.maxLength).toBe(512)
    const [plain, unicode] = [new RegExp(TEXT_PATTERN.source), new RegExp(TEXT_PATTERN.source, 'u')]
    for (const s of ['ok', 'ก', '\u{1F4A7}', '', 'a\nb', '\r', '\u0000', '\t', '\u2028', '\u0085', '\ud800', 'x\udc00', '\ud83d\ud83d\udca7']) {
      expect(plain.test(s), JSON.stringify(s)).toBe(unicode.test(s))
    }
  })
})
