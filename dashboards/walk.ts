/**
 * Reading generated dashboard JSON back, for the tests: every panel (rows flattened), every
 * InfluxQL target with what the panel expects of it, every variable, every annotation.
 * Pure; works on the plain JSON Grafana gets, not on the SDK's types.
 */

export type Json = Record<string, unknown>

export interface TargetJson {
  refId: string
  query: string
  resultFormat: 'time_series' | 'table'
  alias?: string
  datasource?: { type?: string; uid?: string }
}

export interface PanelJson extends Json {
  id: number
  type: string
  title: string
  interval?: string
  timeFrom?: string
  timeShift?: string
  targets?: TargetJson[]
  panels?: PanelJson[]
}

export interface VariableJson {
  name: string
  type: string
  query: string
  multi: boolean
  includeAll: boolean
  datasource?: { type?: string; uid?: string }
}

export interface AnnotationJson {
  name: string
  datasource?: { type?: string; uid?: string }
  target: TargetJson & { textColumn: string; tagsColumn: string }
}

export interface DashboardJson extends Json {
  uid: string
  title: string
  time: { from: string; to: string }
  panels: PanelJson[]
  templating: { list: VariableJson[] }
  annotations: { list?: AnnotationJson[] }
}

export function panelsOf(dashboard: DashboardJson): PanelJson[] {
  return dashboard.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]))
}

export const variablesOf = (dashboard: DashboardJson): VariableJson[] => dashboard.templating.list

export const annotationsOf = (dashboard: DashboardJson): AnnotationJson[] => dashboard.annotations.list ?? []

/** Every value of key `key` anywhere under `node`. */
export function collect(node: unknown, key: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((n) => collect(n, key))
  if (node === null || typeof node !== 'object') return []
  const own = key in node ? [(node as Json)[key]] : []
  return [...own, ...Object.values(node).flatMap((v) => collect(v, key))]
}

/**
 * Column names a panel relies on: overrides by name, the fields its transformations use, the
 * geomap's lookup and style fields. A query result must have each (or it shows blank).
 */
export function namesExpected(panel: PanelJson): string[] {
  const names = new Set<string>()
  const fieldConfig = panel.fieldConfig as { overrides?: Array<{ matcher: { id: string; options: unknown } }> } | undefined
  for (const o of fieldConfig?.overrides ?? []) if (o.matcher.id === 'byName') names.add(String(o.matcher.options))
  for (const t of (panel.transformations ?? []) as Array<{ id: string; options: Json }>) {
    if (t.id === 'filterByValue') for (const f of t.options.filters as Array<{ fieldName: string }>) names.add(f.fieldName)
    if (t.id === 'sortBy') for (const s of t.options.sort as Array<{ field: string }>) names.add(s.field)
    if (t.id === 'organize') for (const n of Object.keys((t.options.indexByName ?? {}) as Json)) names.add(n)
  }
  if (panel.type === 'geomap') {
    for (const layer of ((panel.options as Json).layers ?? []) as Json[]) {
      const location = layer.location as { lookup?: string } | undefined
      if (location?.lookup !== undefined) names.add(location.lookup)
      for (const field of collect(layer.config, 'field')) if (typeof field === 'string' && field !== '') names.add(field)
    }
  }
  return [...names]
}

/** Query refIds a panel's overrides and transformation filters point at. */
export function refIdsReferenced(panel: PanelJson): string[] {
  const fieldConfig = panel.fieldConfig as { overrides?: Array<{ matcher: { id: string; options: unknown } }> } | undefined
  const byOverride = (fieldConfig?.overrides ?? []).filter((o) => o.matcher.id === 'byFrameRefID').map((o) => String(o.matcher.options))
  const byFilter = ((panel.transformations ?? []) as Array<{ filter?: { id: string; options: unknown } }>)
    .filter((t) => t.filter?.id === 'byRefId')
    .map((t) => String(t.filter?.options))
  return [...byOverride, ...byFilter]
}
