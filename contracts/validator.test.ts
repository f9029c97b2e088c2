/**
 * The compiled check must agree with zod exactly: same accept/reject decision and, on accept,
 * zod's output (same keys, same order, same values). Property-based, over the fuzz test's
 * mutations (test/ingest-fuzz.test.ts) applied to every schema's valid fixture, plus raw JSON
 * values, values JSON cannot produce, and the hostile text of issue 13 (TEXT_PATTERN).
 */
import fc from 'fast-check'
import type { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { validAck, validCommand, validEvent, validPump, validSoil, validStatus, validWaterbank } from './fixtures.js'
import { Command, CommandAck, DeviceEvent, PumpTelemetry, SoilTelemetry, Status, WaterbankTelemetry } from './payloads.js'
import { hostileText, weirdValues } from '../test/helpers/weird-values.js'
import { codePoints, compileFastCheck, fastCheckFor } from './validator.js'

const CASES = 1_500

/** Same as zod, key for key and in order; undefined when zod refuses. */
function zodOutput(schema: z.ZodType, input: unknown): Array<[string, unknown]> | undefined {
  const r = schema.safeParse(input)
  return r.success ? Object.entries(r.data as Record<string, unknown>) : undefined
}

// Strings around the schemas' length bounds, with surrogate pairs (zod counts code points).
const pair = '\u{1F4A7}'
const edgeStrings = fc.constantFrom('', 'a', pair, pair.repeat(64), `${pair.repeat(63)}ab`, 'x'.repeat(64), 'x'.repeat(65), pair.repeat(65), `${'x'.repeat(63)}${pair}`, '\ud83d', 'x'.repeat(512), `${'x'.repeat(511)}${pair}`, 'x'.repeat(513))

/** The fuzz test's weird values, and a few more. */
const weird = fc.oneof(
  ...weirdValues,
  fc.constantFrom(Number.NaN, Infinity, -Infinity, 2 ** 53, 1_577_836_800_000, 4_102_444_800_000, 4_102_444_800_001, 1_577_836_799_999.5, undefined),
  fc.constantFrom('fault', 'idle', 'OVERTEMP', 'start', 'reboot', 'c-1'),
  edgeStrings,
  hostileText(), // line breaks, control characters, unpaired surrogates: the text pattern
)

function inputs(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const names = Object.keys(valid)
  const mutated = fc
    .record({
      changes: fc.dictionary(fc.constantFrom(...names), fc.option(weird, { nil: undefined }), { maxKeys: 3 }),
      drop: fc.subarray(names, { maxLength: 2 }),
      extra: fc.option(fc.jsonValue()),
    })
    .map(({ changes, drop, extra }) => {
      const value: Record<string, unknown> = { ...valid, ...changes, ...(extra === null ? {} : { extra }) }
      for (const k of drop) delete value[k]
      return value
    })
  return fc.oneof(
    { arbitrary: mutated, weight: 6 },
    { arbitrary: mutated.map((v) => JSON.parse(JSON.stringify(v)) as unknown), weight: 3 }, // as ingest sees it
    { arbitrary: fc.constant({ ...valid }), weight: 1 },
    { arbitrary: fc.jsonValue(), weight: 1 },
    { arbitrary: fc.constantFrom(null, undefined, 1, 'x', [], [valid], new Date(0)), weight: 1 },
  )
}

const SCHEMAS: Array<[string, z.ZodType, Record<string, unknown>]> = [
  ['pump telemetry', PumpTelemetry, validPump],
  ['soil telemetry', SoilTelemetry, validSoil],
  ['waterbank telemetry', WaterbankTelemetry, validWaterbank],
  ['status', Status, validStatus],
  ['event', DeviceEvent, validEvent],
  ['command ack', CommandAck, validAck],
]

describe('compiled check', () => {
  it.each(SCHEMAS)('%s: accepts and rejects exactly what zod does, with zod\'s output', (_name, schema, valid) => {
    const check = compileFastCheck(schema)
    expect(check).toBeDefined() // every schema ingest stores is compiled
    let accepted = 0
    fc.assert(
      fc.property(inputs(valid), (input) => {
        const fast = check?.(input)
        const expected = zodOutput(schema, input)
        expect(fast === undefined ? undefined : Object.entries(fast)).toEqual(expected)
        if (fast) {
          expect(Object.keys(fast)).toEqual(expected?.map(([k]) => k)) // order too
          accepted++
        }
      }),
      { numRuns: CASES, seed: 20261123 },
    )
    expect(accepted).toBeGreaterThan(CASES / 10) // the generator must reach the accepting side
  })

  it('leaves what it does not know to zod: records and unions are not compiled', () => {
    expect(compileFastCheck(Command)).toBeUndefined()
    expect(fastCheckFor(Command)).toBeUndefined()
    expect(Command.safeParse(validCommand).success).toBe(true)
  })

  it('counts string lengths in code points, as zod does', () => {
    expect(codePoints(pair.repeat(3))).toBe(3)
    expect(codePoints('\ud83d\ud83d')).toBe(2)
    const status = fastCheckFor(Status)
    expect(status?.({ ...validStatus, fw: pair.repeat(64) })).toBeDefined()
    expect(status?.({ ...validStatus, fw: 'x'.repeat(65) })).toBeUndefined()
  })
})

describe('text pattern', () => {
  it('is compiled, and refuses exactly what zod refuses, in strings of every kind', () => {
    const status = fastCheckFor(Status)
    fc.assert(
      fc.property(hostileText(), (fw) => {
        const input = { ...validStatus, fw }
        expect(status?.(input) !== undefined).toBe(Status.safeParse(input).success)
      }),
      { numRuns: 2_000, seed: 13 },
    )
    for (const fw of ['a\nb', '\u0000', '\u2028', 'x\ud800', '\u0085']) expect(status?.({ ...validStatus, fw })).toBeUndefined()
    for (const fw of ['1.4.2', '\u{1F4A7}', 'ก', 'say "hi" \\']) expect(status?.({ ...validStatus, fw })).toBeDefined()
  })
})
