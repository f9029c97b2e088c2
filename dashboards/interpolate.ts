/**
 * What Grafana sends to InfluxDB for a raw InfluxQL target, so a test can run the very query
 * on a real database. Two steps, as in Grafana 10+:
 * 1. the browser (datasource.ts applyVariables): template variables through templateSrv with
 *    the InfluxDB format function (interpolateQueryExpr), and the request's $__interval;
 * 2. the server (pkg/tsdb/influxdb/models/query.go Build): $timeFilter, $interval,
 *    $__interval_ms, $__interval.
 * Pure; a `$name` left over afterwards is a variable the dashboard does not define.
 */

export interface VariableState {
  /** Grafana sends a multi-value variable as (a|b); a single one as is, escaped inside /regex/. */
  multi: boolean
  /** The selection; "All" is every option (no custom all value in these dashboards). */
  value: string | readonly string[]
}

export interface QueryContext {
  fromMs: number
  toMs: number
  intervalMs: number
  variables: Readonly<Record<string, VariableState>>
}

export type Expansion = { ok: true; query: string } | { ok: false; reason: string }

/** @grafana/data escapeRegex. */
export const escapeRegex = (value: string): string => value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&')

/** Is `$name` used inside a /regex/ of the query (interpolateQueryExpr's test for single values)? */
function usedInRegex(query: string, name: string): boolean {
  const regexes = query.match(/(\s*(=|!)~\s*)\/((?![*+?])(?:[^\r\n[/\\]|\\.|\[(?:[^\r\n\]\\]|\\.)*\])+)\/((?:g(?:im?|mi?)?|i(?:gm?|mg?)?|m(?:gi?|ig?)?)?)/gm)
  const inRegex = new RegExp(`\\/(?:\\^)?(.*)(\\$${name})(.*)(?:\\$)?\\/`, 'm')
  return (regexes ?? []).some((r) => inRegex.test(r))
}

/** datasource.ts interpolateQueryExpr: how InfluxDB formats a variable's value. */
export function formatValue(value: string | readonly string[], variable: VariableState, name: string, query: string): string {
  if (typeof value === 'string' && !Number.isNaN(Number.parseFloat(value))) return value
  const list = (values: readonly string[]) => `(${values.map(escapeRegex).join('|')})`
  if (variable.multi) return typeof value === 'string' ? escapeRegex(value) : list(value)
  if (!usedInRegex(query, name)) return typeof value === 'string' ? value : value.join(',')
  return typeof value === 'string' ? escapeRegex(value) : list(value)
}

/** @grafana/data rangeutil.roundInterval: the bucket Grafana picks for a raw interval. */
export function roundIntervalMs(ms: number): number {
  const steps: ReadonlyArray<readonly [below: number, pick: number]> = [
    [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1_500, 1_000], [3_500, 2_000],
    [7_500, 5_000], [12_500, 10_000], [17_500, 15_000], [25_000, 20_000], [45_000, 30_000], [90_000, 60_000],
    [210_000, 120_000], [450_000, 300_000], [750_000, 600_000], [1_050_000, 900_000], [1_500_000, 1_200_000],
    [2_700_000, 1_800_000], [5_400_000, 3_600_000], [9_000_000, 7_200_000], [16_200_000, 10_800_000],
    [32_400_000, 21_600_000], [86_400_000, 43_200_000], [604_800_000, 86_400_000], [1_814_400_000, 604_800_000],
    [3_628_800_000, 2_592_000_000],
  ]
  for (const [below, pick] of steps) if (ms < below) return pick
  return 31_536_000_000
}

/** `10m`, `1h`, `1d`: Grafana's interval text (secondsToHms; rounded intervals have one unit). */
export function intervalText(ms: number): string {
  const units: ReadonlyArray<readonly [string, number]> = [['y', 31_536_000_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]]
  for (const [unit, size] of units) if (ms >= size) return `${String(Math.floor(ms / size))}${unit}`
  return `${String(ms)}ms`
}

/** `10s`, `5m`, `1h` to ms (panel interval, datasource timeInterval). */
export function durationMs(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text)
  if (m === null) return undefined
  const size: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
  return Number(m[1]) * (size[m[2] as string] as number)
}

/** rangeutil.calculateInterval: range / data points, rounded, never below the minimum. */
export function grafanaIntervalMs(rangeMs: number, maxDataPoints: number, minIntervalMs: number): number {
  return Math.max(roundIntervalMs(rangeMs / maxDataPoints), minIntervalMs)
}

// templateSrv's variable syntax: $name, [[name]] and [[name:format]], ${name} and ${name:format}.
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g

export function expandQuery(query: string, ctx: QueryContext): Expansion {
  const interval = intervalText(ctx.intervalMs)
  const scoped: Record<string, string> = {
    __interval: interval,
    __interval_ms: String(ctx.intervalMs),
    __from: String(ctx.fromMs),
    __to: String(ctx.toMs),
  }
  // Step 1, browser: variables the dashboard and the request define; anything else stays.
  const browser = query.replace(VARIABLE, (whole, a?: string, b?: string, _bf?: string, c?: string, _path?: string, format?: string) => {
    const name = (a ?? b ?? c) as string
    if (name in scoped) return scoped[name] as string
    const variable = ctx.variables[name]
    if (variable === undefined) return whole
    if (format === 'raw') return typeof variable.value === 'string' ? variable.value : variable.value.join(',')
    return formatValue(variable.value, variable, name, query)
  })
  // Step 2, server.
  const server = browser
    .replaceAll('$timeFilter', `time >= ${String(ctx.fromMs)}ms and time <= ${String(ctx.toMs)}ms`)
    .replaceAll('$interval', interval)
    .replaceAll('$__interval_ms', String(ctx.intervalMs))
    .replaceAll('$__interval', interval)
  const left = /\$(\w+)|\$\{(\w+)/.exec(server)
  if (left !== null) return { ok: false, reason: `undefined variable $${left[1] ?? left[2] ?? ''} in ${query}` }
  return { ok: true, query: server }
}

/** The InfluxDB datasource's own macros (step 2), not template variables. */
const INFLUX_MACROS = new Set(['timeFilter', 'interval'])

/** Every variable name a text refers to (`$x`, `${x}`, `[[x]]`); builtins (`__...`) and macros left out. */
export function variablesIn(text: string): string[] {
  const names = new Set<string>()
  for (const m of text.matchAll(VARIABLE)) {
    const name = m[1] ?? m[2] ?? m[4]
    if (name !== undefined && !name.startsWith('__') && !INFLUX_MACROS.has(name)) names.add(name)
  }
  return [...names]
}
