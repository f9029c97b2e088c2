/**
 * Every query of every provisioned dashboard, expanded as Grafana expands it, on a real
 * influxd loaded with a simulated week of a farm: it must run, return the series its panel
 * draws (non-empty, no all-null column), and carry every column and tag the panel refers to.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alertPoint, maintenancePoint } from '../alerts/history.js'
import { RULE_IDS, type AlertEventType, type AlertRecord, type AlertStatus, type RuleId, type Severity } from '../alerts/types.js'
import { toLineProtocol } from '../contracts/points.js'
import type * as stored from '../contracts/alert-storage.js'
import { readCustomValues } from '../dashboards/custom-variable.js'
import { DATASOURCE_UID } from '../dashboards/grafana-influx.js'
import { durationMs, expandQuery, grafanaIntervalMs, type QueryContext, type VariableState } from '../dashboards/interpolate.js'
import { DASHBOARD_DIR } from '../dashboards/render.js'
import { type AlertEpisode, SAMPLE_FARM, SECOND_FARM, sampleWeek } from '../dashboards/sample-week.js'
import { renderTenancy, type Tenancy } from '../dashboards/tenancy.js'
import { annotationsOf, type DashboardJson, namesExpected, panelsOf, type TargetJson, variablesOf } from '../dashboards/walk.js'
import { startInflux, type InfluxHandle, type InfluxSeries } from './helpers/influx.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const committed = readdirSync(join(root, DASHBOARD_DIR))
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(root, DASHBOARD_DIR, f), 'utf8')) as DashboardJson)

/** A cooperative's folder (dashboards/tenancy.ts), its picker a fixed list: one with both sample farms, one with the first only. */
function folder(tenancy: Tenancy, dir: string): DashboardJson[] {
  const tree = renderTenancy(tenancy)
  if (!tree.ok) throw new Error(tree.reason)
  return [...tree.files].filter(([p]) => p.startsWith(`${dir}/`)).map(([, text]) => JSON.parse(text) as DashboardJson)
}
const sampleFarm = (id: string, cooperativeId: string) => ({ id, cooperativeId, nameTh: `สวน ${id}`, nameEn: null, training: false, latDeg: null, lonDeg: null })
const cooperative = folder(
  { cooperatives: [{ id: 'coop-a', nameTh: 'สหกรณ์ A', nameEn: null }], farms: [sampleFarm(SAMPLE_FARM, 'coop-a'), sampleFarm(SECOND_FARM, 'coop-a')] },
  'สหกรณ์ A',
)
const onlyFirst = folder(
  {
    cooperatives: [
      { id: 'coop-a', nameTh: 'สหกรณ์ A', nameEn: null },
      { id: 'coop-b', nameTh: 'สหกรณ์ B', nameEn: null },
    ],
    farms: [sampleFarm(SAMPLE_FARM, 'coop-a'), sampleFarm(SECOND_FARM, 'coop-b')],
  },
  'สหกรณ์ A',
)
const dashboards = [...committed, ...cooperative]

/** The datasource's minimum interval (provisioning/datasources/influxdb.yaml timeInterval). */
const DATASOURCE_MIN_INTERVAL_MS = 60_000
/** Grafana asks for about one point per pixel; a half-screen panel is about this wide. */
const MAX_DATA_POINTS = 1000

// The dashboards restate the alerts service's names (they import only the contracts): these
// lines stop compiling when the two disagree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const agree: [Same<stored.AlertStatus, AlertStatus>, Same<stored.Severity, Severity>, Same<stored.AlertEventType, AlertEventType>] = [true, true, true]

/** The episode's events as the alerts service stores them (alerts/history.ts). */
function alertLines(e: AlertEpisode): string[] {
  const rule = RULE_IDS.find((r) => r === e.rule) as RuleId
  expect(rule, `${e.rule} is a rule of the alerts service`).toBeDefined()
  const sinceMs = e.steps[0]?.atMs ?? 0
  let firedMs: number | undefined
  return e.steps.map((step, i) => {
    if (step.type === 'fire') firedMs = step.atMs
    const record: AlertRecord = {
      id: `${e.device}-${rule}-${String(sinceMs)}`,
      key: `${SAMPLE_FARM}/${e.device}/${rule}`,
      farm: SAMPLE_FARM,
      kind: e.kind,
      device: e.device,
      rule,
      severity: e.severity,
      audience: 'farmer',
      status: step.status,
      sinceMs,
      ...(firedMs === undefined ? {} : { firedMs }),
      flapping: false,
      version: i + 1,
      detail: {},
      snapshot: [],
      escalation: { step: 0 },
      notified: [],
    }
    const { type, atMs, by, contactId, channel } = step
    const who = { ...(by === undefined ? {} : { by }), ...(contactId === undefined ? {} : { contactId, channel }) }
    return toLineProtocol(alertPoint({ type, alert: record, atMs, ...who }))
  })
}

let influx: InfluxHandle
let nowMs: number

beforeAll(async () => {
  expect(agree).toEqual([true, true, true])
  influx = await startInflux()
  nowMs = Date.now()
  const week = sampleWeek(nowMs)
  const lines = [
    ...week.lines,
    ...week.episodes.flatMap(alertLines),
    ...week.visits.map((v) => toLineProtocol(maintenancePoint({ farm: SAMPLE_FARM, ...v }))),
  ]
  for (let i = 0; i < lines.length; i += 5000) {
    const body = lines.slice(i, i + 5000).join('\n')
    const response = await fetch(`${influx.directUrl}/write?db=${influx.db}&precision=ms`, { method: 'POST', body })
    expect(response.status, await response.text()).toBe(204)
  }
}, 120_000)

afterAll(async () => {
  await influx?.close()
})

/** `now-7d` and friends, as Grafana's time picker resolves them. */
function resolveTime(text: string, now: number): number {
  if (text === 'now') return now
  const m = /^now-(\d+[smhd])$/.exec(text)
  const ms = m === null ? undefined : durationMs(m[1] as string)
  if (ms === undefined) throw new Error(`time ${text} not understood by this test`)
  return now - ms
}

const valuesOf = (series: readonly InfluxSeries[]) => series.flatMap((s) => s.values.map((row) => row[1]).filter((v) => v !== null))

/**
 * The variables as a visitor first sees them: each query variable's own SHOW TAG VALUES,
 * expanded with the variables before it; All (every value) where allowed, else the first.
 */
async function resolveVariables(d: DashboardJson, pick: 'all' | 'first'): Promise<Record<string, VariableState>> {
  const variables: Record<string, VariableState> = {}
  for (const v of variablesOf(d)) {
    let options: string[]
    if (v.type === 'custom') {
      options = readCustomValues(v.query).map((c) => c.value)
    } else {
      expect(v.datasource?.uid, v.name).toBe(DATASOURCE_UID)
      const expanded = expandQuery(v.query, { fromMs: nowMs - 86_400_000, toMs: nowMs, intervalMs: 60_000, variables })
      if (!expanded.ok) throw new Error(expanded.reason)
      options = [...new Set(valuesOf(await influx.query(expanded.query)).map(String))].sort()
    }
    expect(options.length, `variable ${v.name} of ${d.title} has no values`).toBeGreaterThan(0)
    const all = v.includeAll && pick === 'all'
    variables[v.name] = { multi: v.multi, value: all ? options : v.multi ? [options[0] as string] : (options[0] as string) }
  }
  return variables
}

function contextFor(d: DashboardJson, panelInterval: string | undefined, variables: Record<string, VariableState>): QueryContext {
  const fromMs = resolveTime(d.time.from, nowMs)
  const toMs = resolveTime(d.time.to, nowMs)
  const minMs = Math.max(DATASOURCE_MIN_INTERVAL_MS, panelInterval === undefined ? 0 : (durationMs(panelInterval) ?? 0))
  return { fromMs, toMs, intervalMs: grafanaIntervalMs(toMs - fromMs, MAX_DATA_POINTS, minMs), variables }
}

async function run(target: Pick<TargetJson, 'query'>, ctx: QueryContext): Promise<InfluxSeries[]> {
  const expanded = expandQuery(target.query, ctx)
  if (!expanded.ok) throw new Error(expanded.reason)
  return influx.query(expanded.query)
}

/** Non-empty, and every value column has at least one value (an all-null column is a blank line). */
function expectData(series: readonly InfluxSeries[], what: string): void {
  expect(series.length, `${what}: no series`).toBeGreaterThan(0)
  const columns = series[0]?.columns.filter((c) => c !== 'time') ?? []
  for (const [i, column] of columns.entries()) {
    const values = series.flatMap((s) => s.values.map((row) => row[i + 1] ?? null)).filter((v) => v !== null)
    expect(values.length, `${what}: column ${column} is all null`).toBeGreaterThan(0)
  }
}

describe('the sample week', () => {
  it('holds two farms, every measurement the dashboards read', async () => {
    const farms = valuesOf(await influx.query('SHOW TAG VALUES FROM "pump" WITH KEY = "farm"'))
    expect(farms.sort()).toEqual([SAMPLE_FARM, SECOND_FARM])
    const measurements = (await influx.query('SHOW MEASUREMENTS')).flatMap((s) => s.values.map((r) => r[0]))
    expect(measurements.sort()).toEqual(['alert', 'device_event', 'device_status', 'maintenance', 'pump', 'soil', 'waterbank'])
  })
})

describe("a cooperative's folder on the sample week", () => {
  it('offers the farms of its cooperative only, and every query, with All picked, returns theirs and no other', async () => {
    expect(onlyFirst).toHaveLength(5)
    let checked = 0
    for (const d of onlyFirst) {
      const variables = await resolveVariables(d, 'all')
      expect(variables.farm?.value, d.title).toEqual(d.templating.list.find((v) => v.name === 'farm')?.multi ? [SAMPLE_FARM] : SAMPLE_FARM)
      for (const panel of panelsOf(d)) {
        for (const target of panel.targets ?? []) {
          for (const s of await run(target, contextFor(d, panel.interval, variables))) {
            if ('farm' in s.tags) {
              expect(s.tags.farm, `${d.title} / ${panel.title}`).toBe(SAMPLE_FARM)
              checked++
            }
            const farmColumn = s.columns.indexOf('farm')
            for (const row of farmColumn >= 0 ? s.values : []) {
              expect(row[farmColumn], `${d.title} / ${panel.title}`).toBe(SAMPLE_FARM)
              checked++
            }
          }
        }
      }
    }
    // Series per farm (the fleet's tables and map, the alert lists): enough to have seen a leak.
    expect(checked).toBeGreaterThan(10)
  })
})

describe.each(dashboards.map((d) => [`${d.title} (${d.uid})`, d] as const))('%s', (_title, d) => {
  it('returns, for every panel, the series it draws, with every column it refers to', async () => {
    const variables = await resolveVariables(d, 'all')
    for (const panel of panelsOf(d)) {
      expect(panel.timeFrom ?? panel.timeShift, `${panel.title}: time overrides are not expanded by this test`).toBeUndefined()
      const ctx = contextFor(d, panel.interval, variables)
      const available = new Set(['Time'])
      for (const target of panel.targets ?? []) {
        const what = `${d.title} / ${panel.title} / ${target.refId}`
        const series = await run(target, ctx)
        expectData(series, what)
        for (const s of series) {
          for (const c of s.columns) available.add(c)
          for (const tag of Object.keys(s.tags)) available.add(tag)
          // A legend `$tag_x` needs the tag on every series, or the legend is blank.
          for (const m of (target.alias ?? '').matchAll(/\$tag_(\w+)/g)) expect(s.tags, `${what}: alias`).toHaveProperty(m[1] as string)
        }
      }
      for (const name of namesExpected(panel)) expect([...available], `${d.title} / ${panel.title} needs ${name}`).toContain(name)
    }
  })

  it('returns the text and tags of every annotation', async () => {
    const variables = await resolveVariables(d, 'all')
    for (const a of annotationsOf(d)) {
      expect(a.datasource?.uid).toBe(DATASOURCE_UID)
      const series = await run(a.target, contextFor(d, undefined, variables))
      expectData(series, `${d.title} / annotation ${a.name}`)
      const columns = series.flatMap((s) => s.columns)
      for (const c of [a.target.textColumn, ...a.target.tagsColumn.split(',')]) expect(columns, a.name).toContain(c)
    }
  })

  it('runs every query with one value per variable (the single-selection form)', async () => {
    const variables = await resolveVariables(d, 'first')
    for (const panel of panelsOf(d)) {
      for (const target of panel.targets ?? []) await run(target, contextFor(d, panel.interval, variables))
    }
  })
})
