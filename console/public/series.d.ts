/** Types of series.js (shared by the console server and the page). */
export interface Series {
  t: number[]
  v: Record<string, Array<number | null>>
}
export declare const CHART_FIELDS: Readonly<{
  pump: readonly ['pv_w', 'flow_lpm']
  waterbank: readonly ['level_pct']
  soil: readonly ['vwc_pct']
}>
export declare const WINDOW_MS: number
export declare const SPACING_MS: number
export declare function emptySeries(fields: readonly string[]): Series
export declare function addPoint(
  series: Series,
  ts: number,
  payload: Record<string, unknown>,
  opts?: { spacingMs?: number; windowMs?: number },
): boolean
