/**
 * Values a broken or hostile device might put in a payload field, for property tests: the ingest
 * fuzz test sends them through the whole pipeline, the validator test checks it agrees with zod.
 */
import fc from 'fast-check'

export const weirdValues = [
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(-1, 1e308, -0, 4096, 10_001, 'running', 'DRY_RUN', '12.5'),
  fc.array(fc.integer(), { maxLength: 3 }),
] as const

/** Characters line protocol or our newline-framed spool could trip on, and a few harmless ones. */
const TRICKY_CHARS = ['\n', '\r', '\r\n', '\t', '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u2028', '\u2029', '\ud800', '\udfff', '\u{1F4A7}', '"', '\\', ',', '=', ' ', '#', 'ก', 'a', 'Z', '0']

/**
 * Text a hostile device might send in a string field (event detail, firmware version, ...):
 * control characters and line breaks, unpaired surrogates, quotes and backslashes, forged lines
 * aimed at another farm's series, lengths around the schemas' bounds. `target` names the series
 * a forged line claims.
 */
export function hostileText(target = { farm: 'other-farm', device: 'other-dev' }): fc.Arbitrary<string> {
  const forged = (m: string) => `${m},device=${target.device},farm=${target.farm} flow_lpm=666 1772334000000`
  return fc.oneof(
    fc.string({ unit: fc.constantFrom(...TRICKY_CHARS), maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.tuple(fc.constantFrom('', 'x', 'x"', 'x\\', 'x\\"', '"'), fc.constantFrom('\n', '\r', '\r\n', '\u2028', '\n\n'), fc.constantFrom('pump', 'device_event', 'device_status', 'soil')).map(
      ([head, br, m]) => `${head}${br}${forged(m)}${br}tail`,
    ),
    fc.constantFrom('', 'ok', 'v1.4.2', 'say "hi"\\', 'trailing\\', 'a\\"b', '\\n', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(256), 'x'.repeat(257), 'x'.repeat(512), 'x'.repeat(513), '\u{1F4A7}'.repeat(512), 'y'.repeat(5000)),
  )
}

/** Names a payload might carry besides the contract's: they must be ignored, never stored. */
export const hostileKeys = fc.oneof(
  fc.constantFrom('farm', 'device', 'time', '_measurement', '_field', 'x\ny', 'a b', 'a,b=c', 'q"', 'back\\', '', '\u0000', 'mppt_eff_pct'),
  fc.string({ unit: fc.constantFrom(...TRICKY_CHARS), maxLength: 6 }),
)
