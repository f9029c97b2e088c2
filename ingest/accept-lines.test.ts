/**
 * Issue 13 (line-protocol injection): any payload the contract accepts becomes exactly one line,
 * in its topic's series, holding exactly the payload's values; whatever it refuses is refused
 * with a reason naming the field. Property-based over every string field of every stored
 * channel, hostile extra keys included, through judge() (decoder, compiled check, compiled line
 * writer: ingest's hot path). Lines are read back by a parser written from the spec, after the
 * UTF-8 round trip InfluxDB sees.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeMessage } from '../contracts/decode.js'
import { FIXTURE_TS, validAck, validCommand, validEvent, validStatus } from '../contracts/fixtures.js'
import { CHANNEL_SPECS } from '../contracts/registry.js'
import { STORED_CASES, expectedFields, hostilePayload, measurementOf } from '../test/helpers/contract-cases.js'
import { parseLine } from '../test/helpers/line-protocol.js'
import { judge } from './accept.js'

const policy = { maxBytes: 64 * 1024, maxFutureMs: 300_000, farmAllowed: () => true }

const caseArb = fc.integer({ min: 0, max: STORED_CASES.length - 1 }).chain((i) =>
  fc.record({
    i: fc.constant(i),
    input: hostilePayload(STORED_CASES[i]!),
    device: fc.constantFrom('pump-1', 'p', 'a-very-long-device-id-0123456789'),
  }),
)

describe('one payload, one line', () => {
  it('any contract-valid payload is exactly one line in its topic\'s series, with its values; the rest are refused with the field named', () => {
    let accepted = 0
    let refused = 0
    fc.assert(
      fc.property(caseArb, ({ i, input, device }) => {
        const c = STORED_CASES[i]!
        const raw = Buffer.from(JSON.stringify(input))
        const topic = `farm/ranong-01/${c.kind}/${device}/${c.channel}`
        const zod = CHANNEL_SPECS[c.channel].schemaFor(c.kind).safeParse(JSON.parse(raw.toString()))
        const v = judge(topic, raw, FIXTURE_TS, policy)
        if (!zod.success) {
          expect(v.kind).toBe('reject')
          const path = String(zod.error.issues[0]?.path[0])
          if (v.kind === 'reject') expect(v.reason).toContain(`${path}: `)
          refused++
          return
        }
        expect(v.kind).toBe('accept')
        if (v.kind !== 'accept') return
        const parsed = parseLine(Buffer.from(v.line).toString('utf8')) // the bytes InfluxDB reads
        expect(parsed, v.line).toMatchObject({ ok: true })
        if (!parsed.ok) return
        expect(parsed.line.measurement).toBe(measurementOf(c.kind, c.channel))
        expect(parsed.line.tags).toEqual({ device, farm: 'ranong-01' }) // from the topic, always
        expect(parsed.line.fields).toEqual(expectedFields(c.kind, c.channel, zod.data as Record<string, unknown>))
        expect(parsed.line.time).toBe(FIXTURE_TS)
        accepted++
      }),
      { numRuns: 3_000, seed: 1313 },
    )
    expect(accepted).toBeGreaterThan(500) // both sides of the contract are reached
    expect(refused).toBeGreaterThan(500)
    // 3,000 generated payloads: a bound, not a speed goal (it took over 5 s on a loaded 2-core box).
  }, 60_000)

  it('refuses line breaks, control characters, line separators and unpaired surrogates in every string field, saying why', () => {
    const at = (channel: string) => `farm/ranong-01/pump/pump-1/${channel}`
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['event', validEvent, 'detail'],
      ['event', validEvent, 'type'],
      ['status', validStatus, 'fw'],
      ['cmd/ack', validAck, 'error'],
      ['cmd/ack', validAck, 'id'],
      ['cmd', validCommand, 'id'],
    ]
    for (const [channel, valid, field] of cases) {
      for (const bad of ['a\nb', 'a\rb', '\u0000', 'tab\there', '\u2028', '\u2029', '\u0085', '\u007f', 'x\ud800', '\udc00y']) {
        const r = decodeMessage(at(channel), Buffer.from(JSON.stringify({ ...valid, [field]: bad })))
        expect(r, `${channel}.${field} = ${JSON.stringify(bad)}`).toMatchObject({ ok: false, code: 'invalid' })
        if (!r.ok) expect(r.reason).toMatch(new RegExp(`^${field}: .*control characters`))
      }
      for (const good of ['ok', 'ก๊อกน้ำ', '\u{1F4A7} x', 'say "hi" \\ a=b, c']) {
        expect(decodeMessage(at(channel), Buffer.from(JSON.stringify({ ...valid, [field]: good }))).ok, `${channel}.${field} = ${good}`).toBe(true)
      }
    }
  })
})
