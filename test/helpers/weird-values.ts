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
