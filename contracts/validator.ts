/**
 * A fast acceptance check compiled from a zod schema, for ingest's hot path. Single-sourced: it
 * reads the schema's own definition (object shape, number bounds and integer format, enums,
 * string lengths and patterns, nullable, optional) and knows nothing of the contract itself. It only ever says
 * "accepted, here is zod's output"; anything it does not accept goes to zod, which decides and
 * words the reason. So it may be incomplete but never more lenient: validator.test.ts checks
 * both directions against zod with fast-check.
 */
import type { z } from 'zod'

/** Returns zod's output for input it accepts, undefined for "ask zod". */
export type FastCheck = (input: unknown) => Record<string, unknown> | undefined

interface ZodDef {
  type: string
  checks?: Array<{ _zod: { def: CheckDef } }>
  innerType?: z.ZodType
  shape?: Record<string, z.ZodType>
  entries?: Record<string, unknown>
  catchall?: unknown
  coerce?: boolean
}

interface CheckDef {
  check: string
  value?: unknown
  inclusive?: boolean
  format?: string
  minimum?: number
  maximum?: number
  pattern?: unknown
}

const defOf = (schema: z.ZodType): ZodDef => (schema as unknown as { _zod: { def: ZodDef } })._zod.def

/** Unicode code points, as zod 4 counts string lengths (a surrogate pair is one). */
export function codePoints(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--
      i++
    }
  }
  return n
}

// A check's `when` (zod runs it only on a value of the right type with no earlier issue) is not
// read: here every check always runs, which can only be stricter, and stricter is safe.

/** A JS literal for a bound: only finite numbers are written into generated code. */
const lit = (n: number) => (Number.isFinite(n) ? String(n) : undefined)

/** A JS expression over `v` that is true when the value passes; undefined when unsupported. */
function numberExpr(def: ZodDef): string | undefined {
  const parts = ['typeof v === "number"', 'Number.isFinite(v)']
  for (const c of def.checks ?? []) {
    const d = c._zod.def
    const bound = typeof d.value === 'number' ? lit(d.value) : undefined
    if (d.check === 'greater_than' && bound !== undefined) parts.push(`v ${d.inclusive === true ? '>=' : '>'} ${bound}`)
    else if (d.check === 'less_than' && bound !== undefined) parts.push(`v ${d.inclusive === true ? '<=' : '<'} ${bound}`)
    else if (d.check === 'number_format' && d.format === 'safeint') parts.push('Number.isSafeInteger(v)')
    else return undefined // a check we do not know: zod decides every value
  }
  return parts.join(' && ')
}

/** Patterns the generated code tests strings against, passed in as `patterns[i]`. */
type Patterns = RegExp[]

function stringExpr(def: ZodDef, patterns: Patterns): string | undefined {
  const parts = ['typeof v === "string"']
  for (const c of def.checks ?? []) {
    const d = c._zod.def
    // code points <= UTF-16 units <= 2 x code points: count only when the units leave it in doubt
    if (d.check === 'min_length' && typeof d.minimum === 'number' && Number.isInteger(d.minimum)) {
      parts.push(`(v.length >= ${2 * d.minimum} || codePoints(v) >= ${d.minimum})`)
    } else if (d.check === 'max_length' && typeof d.maximum === 'number' && Number.isInteger(d.maximum)) {
      parts.push(`(v.length <= ${d.maximum} || codePoints(v) <= ${d.maximum})`)
    } else if (d.check === 'string_format' && d.format === 'regex' && d.pattern instanceof RegExp && !d.pattern.global && !d.pattern.sticky) {
      // the same RegExp object zod tests; without g or y it keeps no state between calls
      parts.push(`patterns[${patterns.push(d.pattern) - 1}].test(v)`)
    } else return undefined
  }
  return parts.join(' && ')
}

function valueExpr(schema: z.ZodType, patterns: Patterns): string | undefined {
  const def = defOf(schema)
  if (def.coerce === true) return undefined
  switch (def.type) {
    case 'number':
      return numberExpr(def)
    case 'string':
      return stringExpr(def, patterns)
    case 'boolean':
      return def.checks?.length ? undefined : 'typeof v === "boolean"'
    case 'enum': {
      const values = Object.values(def.entries ?? {})
      if (def.checks?.length || values.length === 0 || !values.every((x) => typeof x === 'string')) return undefined
      return `(${values.map((x) => `v === ${JSON.stringify(x)}`).join(' || ')})`
    }
    case 'nullable': {
      const inner = def.checks?.length || !def.innerType ? undefined : valueExpr(def.innerType, patterns)
      return inner && `(v === null || (${inner}))`
    }
    default:
      return undefined // objects inside objects, unions, records, transforms...: zod's job
  }
}

/**
 * Compiles `schema` (a plain, stripping `z.object` of the kinds above) into one function with
 * the field names and bounds written in, as zod's own JIT does; undefined when any part is
 * something else, and then every input goes to zod.
 */
export function compileFastCheck(schema: z.ZodType): FastCheck | undefined {
  const def = defOf(schema)
  if (def.type !== 'object' || def.catchall !== undefined || def.checks?.length || !def.shape) return undefined
  const patterns: Patterns = []
  const body: string[] = ['if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined', 'const out = {}', 'let v']
  for (const [key, field] of Object.entries(def.shape)) {
    const fdef = defOf(field)
    const optional = fdef.type === 'optional'
    if (optional && (fdef.checks?.length || !fdef.innerType)) return undefined
    const expr = valueExpr(optional ? (fdef.innerType as z.ZodType) : field, patterns)
    if (!expr) return undefined
    const k = JSON.stringify(key)
    body.push(`v = input[${k}]`)
    // zod leaves an absent optional key out, and keeps a present undefined one
    if (optional) body.push(`if (v === undefined) { if (${k} in input) out[${k}] = undefined }`, `else if (!(${expr})) return undefined`, `else out[${k}] = v`)
    else body.push(`if (!(${expr})) return undefined`, `out[${k}] = v`)
  }
  body.push('return out')
  try {
    return new Function('codePoints', 'patterns', `return function fastCheck(input) {\n${body.join('\n')}\n}`)(codePoints, patterns) as FastCheck
  } catch {
    return undefined // eval disallowed: zod does all the work
  }
}

const compiled = new WeakMap<z.ZodType, FastCheck | null>()

/** compileFastCheck, once per schema. */
export function fastCheckFor(schema: z.ZodType): FastCheck | undefined {
  let c = compiled.get(schema)
  if (c === undefined) {
    c = compileFastCheck(schema) ?? null
    compiled.set(schema, c)
  }
  return c ?? undefined
}
