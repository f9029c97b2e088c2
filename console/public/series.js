/**
 * The last hour of a device's chart fields, kept the same way by the server (history for a page
 * that just opened) and the browser (live points after that): one point per `spacingMs` of device
 * time at most, nothing older than `windowMs` before the newest point. Plain JS so both sides
 * load the same file (types in series.d.ts).
 */

/** The fields each kind draws on the small charts. */
export const CHART_FIELDS = Object.freeze({
  pump: Object.freeze(['pv_w', 'flow_lpm']),
  waterbank: Object.freeze(['level_pct']),
  soil: Object.freeze(['vwc_pct']),
})

export const WINDOW_MS = 60 * 60 * 1000
export const SPACING_MS = 10 * 1000

/** @param {readonly string[]} fields */
export function emptySeries(fields) {
  /** @type {Record<string, Array<number | null>>} */
  const v = {}
  for (const f of fields) v[f] = []
  return { t: /** @type {number[]} */ ([]), v }
}

/** Index of the first element of the sorted array `t` that is >= ts. */
function lowerBound(t, ts) {
  let lo = 0
  let hi = t.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (t[mid] < ts) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Adds one reading to `series` (changed in place: it is the chart's own data) and reports whether
 * it did. A reading within `spacingMs` of a neighbour is left out; a late one (a device replaying
 * its offline buffer) goes where its time says.
 * @param {{ t: number[], v: Record<string, Array<number | null>> }} series
 * @param {number} ts device time, epoch ms
 * @param {Record<string, unknown>} payload
 * @param {{ spacingMs?: number, windowMs?: number }} [opts]
 */
export function addPoint(series, ts, payload, opts = {}) {
  const spacingMs = opts.spacingMs ?? SPACING_MS
  const windowMs = opts.windowMs ?? WINDOW_MS
  const { t, v } = series
  const newest = t.length > 0 ? t[t.length - 1] : ts
  if (ts < Math.max(newest, ts) - windowMs) return false
  const at = lowerBound(t, ts)
  if (at > 0 && ts - t[at - 1] < spacingMs) return false
  if (at < t.length && t[at] - ts < spacingMs) return false
  t.splice(at, 0, ts)
  for (const [field, values] of Object.entries(v)) {
    const x = payload[field]
    values.splice(at, 0, typeof x === 'number' && Number.isFinite(x) ? x : null)
  }
  const cut = lowerBound(t, t[t.length - 1] - windowMs)
  if (cut > 0) {
    t.splice(0, cut)
    for (const values of Object.values(v)) values.splice(0, cut)
  }
  return true
}
