/**
 * The `sim` service's environment (all SIM_*, with defaults; listed in .env.example).
 */
import { z } from 'zod'
import { ID_PATTERN } from '../contracts/names.js'
import { optionalString, positiveInt } from '../runtime/config.js'
import { MAX_SPEED } from './engine.js'

/** `all`, or a comma-separated list of farm ids. */
export const trainingList = z.preprocess(
  (v) => (v === undefined || v === '' ? [] : v === 'all' ? 'all' : String(v).split(',').map((s) => s.trim()).filter(Boolean)),
  z.union([z.literal('all'), z.array(z.string().regex(ID_PATTERN, 'farm ids: lowercase letters, digits and dashes'))]),
)

export const SimEnv = z.object({
  /** Demo farms ranong-01 ... (one pump, one water bank, three soil probes each); 0 turns the simulator off (issue 16: a real install). */
  SIM_FARMS: z.coerce.number().int().min(0).default(10),
  /** Total devices instead of farms (load tests): ceil(N / 5) farms. */
  SIM_DEVICES: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().positive().optional()),
  /** Simulated seconds per real second: 60 runs a day in 24 minutes. */
  SIM_SPEED: z.coerce.number().positive().max(MAX_SPEED).default(1),
  SIM_SEED: z.string().min(1).default('ranong'),
  /** A scenario file (training farms, timed faults): see firmware-sim/FAULTS.md. */
  SIM_SCENARIO: optionalString(),
  SIM_TRAINING_FARMS: trainingList,
  /** Simulated start time, ISO 8601 (default: now). */
  SIM_START: optionalString().refine((v) => v === undefined || Number.isFinite(Date.parse(v)), 'not an ISO date-time'),
  /** Readings each device keeps while offline. */
  SIM_BUFFER: positiveInt(2_000),
})
