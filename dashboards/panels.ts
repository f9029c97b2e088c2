/**
 * Panel shapes used across the dashboards, so every time series has a legend with device
 * names, a unit on each axis and the same gap handling, and every table joins its queries
 * the same way.
 */
import {
  AxisPlacement,
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common'
import type { DataTransformerConfig, DynamicConfigValue } from '@grafana/grafana-foundation-sdk/dashboard'
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat'
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table'
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries'
import { neutral } from './common.js'
import { DATASOURCE, InfluxQL } from './grafana-influx.js'

/** Legend label of a per-device series: the device, then what it is. */
export const deviceAlias = (what: string): string => `$tag_device ${what}`

/** A pump reports every minute; a gap longer than this is drawn as a gap (offline), not bridged. */
const BRIDGE_GAP_MS = 5 * 60_000

/** A time series of per-device lines, `unit` on the left axis. */
export function timeseries(title: string, unit: string, axisLabel: string): TimeseriesPanel {
  return new TimeseriesPanel()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .axisLabel(axisLabel)
    .spanNulls(BRIDGE_GAP_MS)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]))
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
}

/** One quantity of a two-axis panel: its query, legend word, unit and axis label. */
export interface Quantity {
  query: string
  what: string
  unit: string
  axis: string
}

/** Two quantities per device on one time axis: `left` as query A, `right` as B on its own axis. */
export function twoAxes(title: string, left: Quantity, right: Quantity): TimeseriesPanel {
  return timeseries(title, left.unit, left.axis)
    .withTarget(new InfluxQL(left.query, 'A').alias(deviceAlias(left.what)))
    .withTarget(new InfluxQL(right.query, 'B').alias(deviceAlias(right.what)))
    .overrideByQuery('B', rightAxis(right.unit, right.axis))
    .min(0)
}

/** The second quantity of a panel (query `refId`) on its own right-hand axis, with its unit. */
export function rightAxis(unit: string, axisLabel: string): DynamicConfigValue[] {
  return [
    { id: 'unit', value: unit },
    { id: 'custom.axisPlacement', value: AxisPlacement.Right },
    { id: 'custom.axisLabel', value: axisLabel },
  ]
}

/** A dashed line for a reference series (baseline). */
export const dashed: DynamicConfigValue = { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }

/** One big number per series (its last value). */
export function stat(title: string, unit: string): StatPanel {
  return new StatPanel()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .graphMode(BigValueGraphMode.None)
    .colorMode(BigValueColorMode.Background)
    .textMode(BigValueTextMode.Auto)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(neutral())
}

/** A table of InfluxQL `table` results, one row per device, the queries joined on farm and device. */
export function deviceTable(title: string, queries: ReadonlyArray<{ refId: string; query: string }>): TablePanel {
  const panel = new TablePanel().title(title).datasource(DATASOURCE)
  for (const q of queries) panel.withTarget(new InfluxQL(q.query, q.refId, 'table'))
  return panel
}

/**
 * Joins table frames into one row per key (farm and device, or farm): Grafana's merge keys rows on the fields
 * every frame has, so each frame but the first drops its time column first (the first keeps
 * its own, e.g. "last seen").
 */
export function joinRows(refIds: readonly string[]): DataTransformerConfig[] {
  const [, ...others] = refIds
  return [
    ...others.map(
      (refId): DataTransformerConfig => ({
        id: 'organize',
        filter: { id: 'byRefId', options: refId },
        options: { excludeByName: { Time: true } },
      }),
    ),
    { id: 'merge', options: {} },
  ]
}

/** Display name, and optionally unit, of a table column. */
export function column(display: string, more: DynamicConfigValue[] = []): DynamicConfigValue[] {
  return [{ id: 'displayName', value: display }, ...more]
}
