/* global ResizeObserver, document */
/**
 * The small last-hour charts of a farm, drawn with uPlot (about 40 kB gzipped, canvas, fast on a
 * phone): the pump's PV power and flow on two axes, and the water bank level with each plot's
 * soil moisture in percent. Redrawn at most once a second when readings arrive.
 */
import uPlot from './vendor/uplot.js'
import { farmParts } from './model.js'

const HEIGHT_PX = 120
const AXIS = { stroke: '#334155', grid: { stroke: '#e2e8f0', width: 1 }, ticks: { stroke: '#cbd5e1', width: 1 } }
const SOIL_COLOURS = ['#15803d', '#9a3412', '#6d28d9', '#be185d']
/** From zero up to the data (at least 1): a pump at rest shows as a line on the floor. */
const FROM_ZERO = (_u, _min, max) => [0, Math.max(1, max ?? 1)]

/**
 * One x axis for several devices' points: the union of their times, null where a device has none.
 * @param {Array<{ t: number[], values: Array<number | null> }>} list
 * @returns {Array<Array<number | null>>}
 */
export function joinSeries(list) {
  const times = [...new Set(list.flatMap((s) => s.t))].sort((a, b) => a - b)
  const index = new Map(times.map((t, i) => [t, i]))
  const columns = list.map((s) => {
    const col = new Array(times.length).fill(null)
    s.t.forEach((t, i) => (col[/** @type {number} */ (index.get(t))] = s.values[i] ?? null))
    return col
  })
  return [times.map((t) => t / 1000), ...columns]
}

/** @param {import('./model.js').Model} model @param {import('./model.js').Farm} farm */
function powerData(model, farm) {
  const pump = farmParts(model, farm).pumps[0]
  if (!pump) return null
  const { t, v } = pump.series
  return [t.map((x) => x / 1000), v.pv_w ?? [], v.flow_lpm ?? []]
}

/** @param {import('./model.js').Model} model @param {import('./model.js').Farm} farm */
function levelParts(model, farm) {
  const { banks, soils } = farmParts(model, farm)
  return [
    ...banks.map((d) => ({ device: d, field: 'level_pct' })),
    ...soils.map((d) => ({ device: d, field: 'vwc_pct' })),
  ]
}

/** The time axis in 24-hour local time, in the page's language (uPlot's default says am/pm). @param {string} lang */
function timeAxis(lang) {
  const f = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'th-TH', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
  return { ...AXIS, values: (_u, splits) => splits.map((s) => f.format(new Date(s * 1000))) }
}

/** Always the hour before the newest point, so every chart spans the same hour and a lone point does not fill it. */
const LAST_HOUR = (_u, _min, max) => {
  const end = Number.isFinite(max) ? max : Date.now() / 1000
  return [end - 3600, end]
}

function baseOptions(width, series, axes, scales) {
  return { width, height: HEIGHT_PX, legend: { show: false }, cursor: { show: false }, series, axes, scales: { x: { time: true, range: LAST_HOUR }, ...scales } }
}

/**
 * Creates the charts inside a drawn farm card; returns `redraw()` and `destroy()`.
 * @param {Element} card @param {import('./model.js').Model} model @param {import('./model.js').Farm} farm
 * @param {(key: string, vars?: Record<string, string | number>) => string} t @param {string} lang
 */
export function farmCharts(card, model, farm, t, lang) {
  /** @type {Array<{ plot: any, data: () => any }>} */
  const charts = []
  const powerEl = card.querySelector('[data-chart="power"]')
  const widthOf = (node) => Math.max(200, Math.floor(node.clientWidth || 300))
  if (powerEl) {
    const series = [
      {},
      { label: t('pump.pv'), stroke: '#b45309', width: 2, scale: 'w', spanGaps: true },
      { label: t('pump.flow'), stroke: '#1d4ed8', width: 2, scale: 'lpm', spanGaps: true },
    ]
    const axes = [timeAxis(lang), { ...AXIS, scale: 'w', size: 52 }, { ...AXIS, scale: 'lpm', side: 1, size: 40, grid: { show: false } }]
    const data = () => powerData(model, farm) ?? [[], [], []]
    const plot = new uPlot(baseOptions(widthOf(powerEl), series, axes, { w: { range: FROM_ZERO }, lpm: { range: FROM_ZERO } }), data(), powerEl)
    powerEl.append(legend([{ cls: 'sw-pv', label: `${t('pump.pv')} (${t('unit.w')})` }, { cls: 'sw-flow', label: `${t('pump.flow')} (${t('unit.lpm')})` }]))
    charts.push({ plot, data, node: powerEl })
  }
  const levelsEl = card.querySelector('[data-chart="levels"]')
  if (levelsEl) {
    const parts = levelParts(model, farm)
    const labels = parts.map((p, i) => (p.field === 'level_pct' ? t('bank.level') : t('soil.plot', { n: i + 1 - parts.filter((x) => x.field === 'level_pct').length })))
    const colours = parts.map((p, i) => (p.field === 'level_pct' ? '#0e7490' : SOIL_COLOURS[i % SOIL_COLOURS.length]))
    const series = [{}, ...parts.map((_p, i) => ({ label: labels[i], stroke: colours[i], width: 2, scale: 'pct', spanGaps: true }))]
    const axes = [timeAxis(lang), { ...AXIS, scale: 'pct', size: 44 }]
    const data = () => joinSeries(levelParts(model, farm).map(({ device, field }) => ({ t: device.series.t, values: device.series.v[field] ?? [] })))
    const plot = new uPlot(baseOptions(widthOf(levelsEl), series, axes, { pct: { range: [0, 100] } }), data(), levelsEl)
    levelsEl.append(legend(parts.map((p, i) => ({ cls: p.field === 'level_pct' ? 'sw-bank' : `sw-soil-${(i % SOIL_COLOURS.length) + 1}`, label: `${labels[i]} (%)` }))))
    charts.push({ plot, data, node: levelsEl })
  }
  const resize = new ResizeObserver(() => {
    for (const c of charts) c.plot.setSize({ width: widthOf(c.node), height: HEIGHT_PX })
  })
  for (const c of charts) resize.observe(c.node)
  return {
    redraw() {
      for (const c of charts) c.plot.setData(c.data())
    },
    destroy() {
      resize.disconnect()
      for (const c of charts) c.plot.destroy()
    },
  }
}

/** @param {Array<{ cls: string, label: string }>} items */
function legend(items) {
  const ul = document.createElement('ul')
  ul.className = 'legend'
  for (const item of items) {
    const li = document.createElement('li')
    const sw = document.createElement('span')
    sw.className = `swatch ${item.cls}`
    sw.setAttribute('aria-hidden', 'true')
    li.append(sw, item.label)
    ul.append(li)
  }
  return ul
}
