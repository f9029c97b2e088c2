/* global HTMLElement */
/**
 * A farm card: pump (state, PV power, flow, litres today, command buttons and their answer),
 * water bank level, soil moisture per plot, and the place of its small charts. `renderFarm`
 * draws it; `updateDevice` changes only the figures of one device when a reading arrives.
 */
import { el, fmtNumber, idSpan, withDetail } from './dom.js'
import { farmParts } from './model.js'

/**
 * @typedef {{ lang: string, t: (key: string, vars?: Record<string, string | number>) => string,
 *   canAct: boolean, commands: readonly string[],
 *   onCommand: (device: import('./model.js').Device, cmd: string) => void,
 *   commandStatus: (device: string) => { text: string, detail?: string } }} ViewContext
 */

/** @param {boolean | null} online @param {ViewContext} ctx */
const pill = (online, ctx) =>
  el('span', { class: `pill ${online === true ? 'on' : online === false ? 'off' : 'unknown'}`, 'data-online': '' }, [
    ctx.t(online === true ? 'dev.online' : online === false ? 'dev.offline' : 'dev.unknown'),
  ])

/** @param {string} key @param {string} field @param {ViewContext} ctx */
const figure = (key, field, ctx) => el('div', {}, [el('dt', { text: ctx.t(key) }), el('dd', { 'data-f': field, text: '–' })])

/** @param {import('./model.js').Device} d @param {ViewContext} ctx */
function pumpBlock(d, ctx) {
  const reason = ctx.canAct ? undefined : ctx.t('signin.needed')
  return el('section', { class: 'device pump', 'data-device': d.device, 'aria-labelledby': `h-${d.device}` }, [
    el('h4', { id: `h-${d.device}` }, [ctx.t('pump.title'), ' ', idSpan(d.device), ' ', pill(d.online, ctx)]),
    el('dl', { class: 'figures' }, [
      figure('pump.state', 'state', ctx),
      figure('pump.pv', 'pv_w', ctx),
      figure('pump.flow', 'flow_lpm', ctx),
      figure('pump.today', 'volume_l_today', ctx),
    ]),
    el('p', { class: 'fault', 'data-f': 'fault', hidden: true }),
    el(
      'div',
      { class: 'cmds', role: 'group', 'aria-label': ctx.t('cmd.title') },
      ctx.commands.map((cmd) =>
        el('button', { type: 'button', class: `cmd cmd-${cmd}`, 'data-cmd': cmd, disabled: !ctx.canAct, title: reason, onclick: () => ctx.onCommand(d, cmd) }, [
          ctx.t(`cmd.${cmd}`),
        ]),
      ),
    ),
    el('p', { class: 'cmd-status', role: 'status', 'aria-live': 'polite' }, withDetail(ctx.commandStatus(d.device).text, ctx.commandStatus(d.device).detail)),
  ])
}

/** @param {import('./model.js').Device} d @param {ViewContext} ctx */
function bankBlock(d, ctx) {
  return el('section', { class: 'device bank', 'data-device': d.device, 'aria-labelledby': `h-${d.device}` }, [
    el('h4', { id: `h-${d.device}` }, [ctx.t('bank.title'), ' ', idSpan(d.device), ' ', pill(d.online, ctx)]),
    el('dl', { class: 'figures' }, [figure('bank.level', 'level_pct', ctx), figure('bank.volume', 'volume_l', ctx)]),
    el('meter', { min: 0, max: 100, low: 20, high: 95, optimum: 60, value: 0, 'data-meter': 'level_pct', 'aria-label': ctx.t('bank.level') }),
  ])
}

/** @param {import('./model.js').Device[]} soils @param {ViewContext} ctx */
function soilBlock(soils, ctx) {
  return el('section', { class: 'soil', 'aria-label': ctx.t('soil.title') }, [
    el('h4', { text: ctx.t('soil.title') }),
    el(
      'ul',
      { class: 'plots' },
      soils.map((d, i) => {
        const label = ctx.t('soil.plot', { n: i + 1 })
        return el('li', { class: 'device plot', 'data-device': d.device }, [
          el('span', { class: 'plot-name' }, [label, ' ', idSpan(d.device)]),
          el('meter', { min: 0, max: 50, low: 15, high: 40, optimum: 28, value: 0, 'data-meter': 'vwc_pct', 'aria-label': `${ctx.t('soil.title')} ${label}` }),
          el('span', { class: 'plot-value', 'data-f': 'vwc_pct', text: '–' }),
          pill(d.online, ctx),
        ])
      }),
    ),
  ])
}

/** @param {string} farm @param {ViewContext} ctx @param {boolean} hasPump @param {boolean} hasLevels */
function chartsBlock(farm, ctx, hasPump, hasLevels) {
  return el('figure', { class: 'charts' }, [
    el('figcaption', { text: ctx.t('chart.title') }),
    hasPump ? el('div', { class: 'chart', 'data-chart': 'power', role: 'img', 'aria-label': ctx.t('chart.power'), id: `chart-power-${farm}` }) : null,
    hasLevels ? el('div', { class: 'chart', 'data-chart': 'levels', role: 'img', 'aria-label': ctx.t('chart.levels'), id: `chart-levels-${farm}` }) : null,
  ])
}

/**
 * @param {import('./model.js').Model} model @param {import('./model.js').Farm} farm @param {ViewContext} ctx
 */
export function renderFarm(model, farm, ctx) {
  const { pumps, banks, soils } = farmParts(model, farm)
  const headId = `farm-${farm.farm}-h`
  const card = el('article', { class: `farm${farm.training ? ' is-training' : ''}`, 'data-farm': farm.farm, 'aria-labelledby': headId }, [
    el('header', { class: 'farm-head' }, [
      el('h3', { id: headId }, [idSpan(farm.farm)]),
      farm.training ? el('span', { class: 'badge training', title: ctx.t('farm.trainingNote'), text: ctx.t('farm.training') }) : null,
    ]),
    ...pumps.map((d) => pumpBlock(d, ctx)),
    ...banks.map((d) => bankBlock(d, ctx)),
    soils.length > 0 ? soilBlock(soils, ctx) : null,
    chartsBlock(farm.farm, ctx, pumps.length > 0, banks.length + soils.length > 0),
  ])
  for (const d of [...pumps, ...banks, ...soils]) updateDevice(card, d, ctx)
  return card
}

/** @param {Element} node @param {string} text */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text
}

/**
 * Puts a device's latest reading and online state into its part of the card.
 * @param {Element} card @param {import('./model.js').Device} d @param {ViewContext} ctx
 */
export function updateDevice(card, d, ctx) {
  const part = card.querySelector(`[data-device="${d.device}"]`)
  if (!part) return
  const pillNode = part.querySelector('[data-online]')
  if (pillNode) pillNode.replaceWith(pill(d.online, ctx))
  const p = d.telemetry
  if (!p) return
  part.setAttribute('data-ts', String(p.ts))
  // When this reading reached the screen (wall clock): the test measures reading-to-page latency.
  part.setAttribute('data-shown-at', String(Date.now()))
  const put = (field, text) => {
    const node = part.querySelector(`[data-f="${field}"]`)
    if (node) setText(node, text)
  }
  const num = (v, digits) => fmtNumber(ctx.lang, v, digits)
  if (d.kind === 'pump') {
    const state = String(p.state ?? '')
    const stateNode = part.querySelector('[data-f="state"]')
    if (stateNode) {
      setText(stateNode, ctx.t(`state.${state}`))
      stateNode.className = `state state-${state}`
    }
    put('pv_w', `${num(p.pv_w, 0)} ${ctx.t('unit.w')}`)
    put('flow_lpm', `${num(p.flow_lpm, 1)} ${ctx.t('unit.lpm')}`)
    put('volume_l_today', `${num(p.volume_l_today, 0)} ${ctx.t('unit.l')}`)
    const fault = part.querySelector('[data-f="fault"]')
    if (fault instanceof HTMLElement) {
      fault.hidden = !p.fault
      setText(fault, p.fault ? `${ctx.t('pump.fault')}: ${ctx.t(`fault.${p.fault}`)}` : '')
    }
  } else if (d.kind === 'waterbank') {
    put('level_pct', `${num(p.level_pct, 0)} ${ctx.t('unit.pct')}`)
    put('volume_l', `${num(p.volume_l, 0)} ${ctx.t('unit.l')}`)
    const meter = part.querySelector('[data-meter="level_pct"]')
    if (meter && typeof p.level_pct === 'number') meter.setAttribute('value', String(p.level_pct))
  } else {
    put('vwc_pct', `${num(p.vwc_pct, 1)} ${ctx.t('unit.pct')}`)
    const meter = part.querySelector('[data-meter="vwc_pct"]')
    if (meter && typeof p.vwc_pct === 'number') meter.setAttribute('value', String(p.vwc_pct))
  }
}

/**
 * A pump's command line (after a button, or its cmd/ack).
 * @param {Element} root @param {string} device @param {{ text: string, detail?: string }} line
 */
export function showCommandStatus(root, device, line) {
  root.querySelector(`[data-device="${device}"] .cmd-status`)?.replaceChildren(...withDetail(line.text, line.detail))
}
