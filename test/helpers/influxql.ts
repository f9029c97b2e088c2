/** InfluxQL over the 1.x HTTP API (`/query`), for reading back what a test wrote. */

export type InfluxValue = number | string | boolean | null

export interface InfluxSeries {
  name: string
  tags: Record<string, string>
  columns: string[]
  values: InfluxValue[][]
}

/** One row: GROUP BY tags and columns by name; `time` is epoch milliseconds. */
export type InfluxRow = Record<string, InfluxValue>

interface QueryResponse {
  results?: Array<{ statement_id?: number; series?: Array<Partial<InfluxSeries>>; error?: string }>
  error?: string
}

/** Pure: the series of every statement; throws on a statement error. */
export function parseQueryResponse(body: unknown, statement: string): InfluxSeries[] {
  const response = body as QueryResponse
  if (typeof response.error === 'string') throw new Error(`InfluxQL failed: ${response.error} (${statement})`)
  const series: InfluxSeries[] = []
  for (const result of response.results ?? []) {
    if (typeof result.error === 'string') throw new Error(`InfluxQL failed: ${result.error} (${statement})`)
    for (const s of result.series ?? []) {
      series.push({ name: s.name ?? '', tags: s.tags ?? {}, columns: s.columns ?? [], values: s.values ?? [] })
    }
  }
  return series
}

/** Pure: series flattened to one object per value row. */
export function seriesToRows(series: readonly InfluxSeries[]): InfluxRow[] {
  const rows: InfluxRow[] = []
  for (const s of series) {
    for (const values of s.values) {
      const row: InfluxRow = { ...s.tags }
      s.columns.forEach((column, i) => {
        row[column] = values[i] ?? null
      })
      rows.push(row)
    }
  }
  return rows
}

export interface InfluxQlOptions {
  /** Database the statement runs in (omit for server-wide statements such as SHOW DATABASES). */
  db?: string
  /** POST, needed by statements that change something (CREATE, DROP, DELETE). */
  write?: boolean
  timeoutMs?: number
}

/** Runs InfluxQL against influxd at `baseUrl`, times as epoch milliseconds. */
export async function influxQl(baseUrl: string, statement: string, options: InfluxQlOptions = {}): Promise<InfluxSeries[]> {
  const params = new URLSearchParams({ q: statement, epoch: 'ms' })
  if (options.db !== undefined) params.set('db', options.db)
  const response = await fetch(`${baseUrl}/query?${params.toString()}`, {
    method: options.write === true ? 'POST' : 'GET',
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  })
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new Error(`InfluxQL answered ${response.status} with non-JSON: ${text.slice(0, 200)} (${statement})`)
  }
  if (!response.ok) throw new Error(`InfluxQL answered ${response.status}: ${text.slice(0, 500)} (${statement})`)
  return parseQueryResponse(body, statement)
}

/** `"name"` with InfluxQL identifier escaping. */
export const quoteIdent = (name: string): string => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
