/**
 * A strict validator for the JSON Schema that `npm run schema` writes (draft 2020-12, the subset
 * zod emits): type, properties, required, additionalProperties, propertyNames, enum, anyOf,
 * minimum, maximum, minLength, maxLength (in code points). A keyword it does not know is an
 * error, never ignored, so a schema it cannot judge can never pass a payload. Used to check what
 * the C++ firmware core writes against the published contract (test/firmware-host.test.ts).
 */

export type Schema = Record<string, unknown>

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description'])
const KNOWN = new Set([
  ...ANNOTATIONS,
  'type', 'properties', 'required', 'additionalProperties', 'propertyNames', 'enum', 'anyOf',
  'minimum', 'maximum', 'minLength', 'maxLength', 'pattern',
])

const typeOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v

const matchesType = (v: unknown, t: string): boolean => {
  const actual = typeOf(v)
  return actual === t || (t === 'number' && actual === 'integer')
}

/** Every reason `value` fails `schema`, with its JSON path; empty when it passes. */
export function validate(schema: Schema, value: unknown, path = '$'): string[] {
  const errors: string[] = []
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key)) throw new Error(`json-schema: keyword "${key}" at ${path} is not supported`)
  }
  const s = schema as {
    type?: string | string[]
    properties?: Record<string, Schema>
    required?: string[]
    additionalProperties?: boolean | Schema
    propertyNames?: Schema
    enum?: unknown[]
    anyOf?: Schema[]
    minimum?: number
    maximum?: number
    minLength?: number
    maxLength?: number
    pattern?: string
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type]
    if (!types.some((t) => matchesType(value, t))) return [`${path}: ${typeOf(value)} is not ${types.join(' or ')}`]
  }
  if (s.enum !== undefined && !s.enum.some((e) => e === value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`)
  if (s.anyOf !== undefined && !s.anyOf.some((sub) => validate(sub, value, path).length === 0)) errors.push(`${path}: matches none of anyOf`)
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${path}: ${value} < minimum ${s.minimum}`)
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${path}: ${value} > maximum ${s.maximum}`)
  }
  if (typeof value === 'string') {
    const length = [...value].length
    if (s.minLength !== undefined && length < s.minLength) errors.push(`${path}: length ${length} < minLength ${s.minLength}`)
    if (s.maxLength !== undefined && length > s.maxLength) errors.push(`${path}: length ${length} > maxLength ${s.maxLength}`)
    // JSON Schema patterns are ECMA-262 regular expressions, unanchored.
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) errors.push(`${path}: ${JSON.stringify(value)} does not match ${s.pattern}`)
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>
    for (const key of s.required ?? []) if (!(key in obj)) errors.push(`${path}: ${key} is required`)
    for (const [key, v] of Object.entries(obj)) {
      if (s.propertyNames !== undefined) errors.push(...validate(s.propertyNames, key, `${path}[name ${key}]`))
      const sub = s.properties?.[key]
      if (sub !== undefined) errors.push(...validate(sub, v, `${path}.${key}`))
      else if (s.additionalProperties === false) errors.push(`${path}.${key}: not allowed`)
      else if (typeof s.additionalProperties === 'object') errors.push(...validate(s.additionalProperties, v, `${path}.${key}`))
    }
  }
  return errors
}
