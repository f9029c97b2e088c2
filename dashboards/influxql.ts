/**
 * A small typed InfluxQL builder over the storage schema (schema.ts). The foundation SDK has
 * no InfluxDB query type (grafana-foundation-sdk#447), and a raw string would let a renamed
 * field blank a panel; here every measurement, field and tag name is checked by tsc.
 * Pure: it only builds strings.
 */
import type { DeviceTags, FieldOf, Measurement, Rows, StringFieldOf, StringValueOf, TagOf } from './schema.js'

export type Aggregate = 'mean' | 'median' | 'max' | 'min' | 'last' | 'first' | 'sum' | 'count' | 'spread'

/** One output column: its expression and the name InfluxDB returns it under. */
export interface Column {
  expr: string
  name: string
}

export interface Condition {
  sql: string
}

/** `"name"`, InfluxQL identifier quoting. */
export const ident = (name: string): string => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
/** `'value'`, InfluxQL string literal quoting. */
export const literal = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

/** How a column is scaled: `* 60` (per minute to per hour) or `/ 3600` (seconds to hours). */
export interface Scale {
  times?: number
  per?: number
}

const scaled = (expr: string, scale: Scale): string =>
  expr + (scale.times === undefined ? '' : ` * ${String(scale.times)}`) + (scale.per === undefined ? '' : ` / ${String(scale.per)}`)

type Key<T> = keyof T & string

/** Column helpers over a set of names: a measurement's fields and tags, or a subquery's columns. */
interface Columns<Name extends string, Tags, Strings> {
  /** `mean("flow_lpm") AS "flow_lpm"`, optionally scaled. */
  agg(fn: Aggregate, name: Name, options?: { as?: string } & Scale): Column
  /** `fn(a) / fn(b) * k`: a ratio of two aggregates over the same points. */
  ratio(fn: Aggregate, numerator: Name, denominator: Name, options: { as: string } & Scale): Column
  /** The mean of the last `points` values, point by point (over a subquery's buckets). */
  movingAverage(name: Name, points: number, options: { as: string }): Column
  /** The raw value of a field or tag (no aggregate: one row per point). */
  raw(name: Name | Key<Tags>, as?: string): Column
  /** `"tag" =~ /^$variable$/`: the form Grafana expands for single, multi and All values. */
  tagIn(tag: Key<Tags>, variable: string): Condition
  tagIs<T extends Key<Tags>>(tag: T, value: Extract<Tags[T], string>): Condition
  tagAnyOf<T extends Key<Tags>>(tag: T, values: readonly Extract<Tags[T], string>[]): Condition
  is<F extends Key<Strings>>(name: F, value: Extract<Strings[F], string>): Condition
  isNot<F extends Key<Strings>>(name: F, value: Extract<Strings[F], string>): Condition
  anyOf<F extends Key<Strings>>(name: F, values: readonly Extract<Strings[F], string>[]): Condition
}

function columns<Name extends string, Tags, Strings>(check: (name: string) => void): Columns<Name, Tags, Strings> {
  const cmp = (name: string, op: '=' | '!=', value: string): Condition => {
    check(name)
    return { sql: `${ident(name)} ${op} ${literal(value)}` }
  }
  const any = (name: string, values: readonly string[]): Condition => {
    const parts = values.map((v) => cmp(name, '=', v).sql)
    return { sql: parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})` }
  }
  return {
    agg(fn, name, options = {}) {
      check(name)
      return { expr: scaled(`${fn}(${ident(name)})`, options), name: options.as ?? name }
    },
    ratio(fn, numerator, denominator, options) {
      check(numerator)
      check(denominator)
      const expr = `${fn}(${ident(numerator)}) / ${fn}(${ident(denominator)})`
      return { expr: scaled(expr, options), name: options.as }
    },
    movingAverage(name, points, options) {
      check(name)
      return { expr: `moving_average(${ident(name)}, ${String(points)})`, name: options.as }
    },
    raw(name, as) {
      check(name)
      return { expr: ident(name), name: as ?? name }
    },
    tagIn: (tag, variable) => ({ sql: `${ident(tag)} =~ /^$${variable}$/` }),
    tagIs: (tag, value) => cmp(tag, '=', value),
    tagAnyOf: (tag, values) => any(tag, values),
    is: (name, value) => cmp(name, '=', value),
    isNot: (name, value) => cmp(name, '!=', value),
    anyOf: (name, values) => any(name, values),
  }
}

/** The values each string field can hold, so `is('state', 'runing')` does not compile. */
type StringFields<X extends Measurement> = { [F in StringFieldOf<X>]: StringValueOf<X, F> }

export interface Source<X extends Measurement> extends Columns<FieldOf<X>, Rows[X]['tags'], StringFields<X>> {
  readonly from: string
  readonly measurement: X
}

/** A measurement to select from; its field and tag names are the schema's. */
export function from<X extends Measurement>(measurement: X): Source<X> {
  return { from: ident(measurement), measurement, ...columns(() => {}) }
}

/** A subquery to select from; its columns are the inner query's output names, checked at build. */
export interface Subquery<X extends Measurement> extends Columns<string, Record<TagOf<X>, string>, Record<string, string>> {
  readonly from: string
  readonly measurement: X
}

export function subquery<X extends Measurement>(inner: SelectSpec<X>): Subquery<X> {
  const names = new Set(inner.columns.map((c) => c.name))
  const check = (name: string) => {
    if (!names.has(name)) throw new Error(`subquery has no column ${name} (has ${[...names].join(', ')})`)
  }
  return { from: `(${select(inner)})`, measurement: inner.from.measurement, ...columns(check) }
}

export type Duration = `${number}${'m' | 'h' | 'd'}`

/** The time range a query covers. */
export type TimeRange =
  | { kind: 'dashboard' } // Grafana's $timeFilter: the picker
  | { kind: 'recent'; duration: Duration } // whatever the picker says (open alerts, state now)

export const DASHBOARD_TIME: TimeRange = { kind: 'dashboard' }
export const recent = (duration: Duration): TimeRange => ({ kind: 'recent', duration })

export interface SelectSpec<X extends Measurement> {
  from: Source<X> | Subquery<X>
  columns: readonly Column[]
  where?: readonly Condition[]
  /** Absent only for the outer query of a subquery, which inherits the inner range. */
  time?: TimeRange
  /** `$__interval` (Grafana picks it from the range and panel width), a fixed bucket, or one with an offset (local days). */
  groupByTime?: '$__interval' | Duration | { every: Duration; offset: `${'' | '-'}${Duration}` }
  /** Every measurement has farm and device (schema.ts); the alert one has more. */
  groupByTags?: readonly (TagOf<X> | keyof DeviceTags)[]
  fill?: 'null' | 'none' | 'previous' | 'linear' | 0
  orderByTimeDesc?: boolean
  limit?: number
}

function timeCondition(range: TimeRange): string {
  return range.kind === 'dashboard' ? '$timeFilter' : `time > now() - ${range.duration}`
}

/** Renders the statement, clauses in the order InfluxQL requires. */
export function select<X extends Measurement>(spec: SelectSpec<X>): string {
  if (spec.columns.length === 0) throw new Error('a query needs at least one column')
  const list = spec.columns.map((c) => (c.expr === ident(c.name) ? c.expr : `${c.expr} AS ${ident(c.name)}`))
  const where = (spec.where ?? []).map((c) => c.sql)
  if (spec.time !== undefined) where.push(timeCondition(spec.time))
  let sql = `SELECT ${list.join(', ')} FROM ${spec.from.from}`
  if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`
  const every = spec.groupByTime
  const groups = [
    ...(every === undefined ? [] : [typeof every === 'string' ? `time(${every})` : `time(${every.every}, ${every.offset})`]),
    ...(spec.groupByTags ?? []).map(ident),
  ]
  if (groups.length > 0) sql += ` GROUP BY ${groups.join(', ')}`
  if (spec.fill !== undefined) sql += ` fill(${String(spec.fill)})`
  if (spec.orderByTimeDesc === true) sql += ' ORDER BY time DESC'
  if (spec.limit !== undefined) sql += ` LIMIT ${String(spec.limit)}`
  return sql
}

/** `SHOW TAG VALUES` for a variable, optionally narrowed by other variables. */
export function showTagValues(options: {
  from?: readonly Measurement[]
  key: string
  where?: readonly Condition[]
}): string {
  let sql = 'SHOW TAG VALUES'
  if (options.from !== undefined && options.from.length > 0) sql += ` FROM ${options.from.map(ident).join(', ')}`
  sql += ` WITH KEY = ${ident(options.key)}`
  if (options.where !== undefined && options.where.length > 0) sql += ` WHERE ${options.where.map((c) => c.sql).join(' AND ')}`
  return sql
}
