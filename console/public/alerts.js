/* global FormData, CSS */
/**
 * Open alerts from the alerts API (Bearer technician token): acknowledge, and resolve with a
 * maintenance note. Items are kept by id between refreshes so a note being typed, or the
 * keyboard focus on a button, survives the next poll.
 */
import { request, session } from './api.js'
import { el, fmtTime, idSpan, withName } from './dom.js'

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 }
const STATUS_ORDER = { firing: 0, pending: 1, acknowledged: 2 }

/**
 * @typedef {{ id: string, farm: string, device: string, kind: string, rule: string, severity: string,
 *   status: string, sinceMs: number, firedMs?: number, version: number, flapping: boolean,
 *   ack?: { by: string, atMs: number } }} Alert
 */

/** Firing before acknowledged, critical before warning, newest first. @param {Alert[]} alerts */
export function sortAlerts(alerts) {
  return [...alerts].sort(
    (a, b) =>
      (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) ||
      (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9) ||
      b.sinceMs - a.sinceMs,
  )
}

/**
 * @param {{ list: HTMLElement, message: HTMLElement, announce: (text: string, detail?: string) => void,
 *   api: string, t: (key: string, vars?: Record<string, string | number>) => string,
 *   lang: () => string, isTraining: (farm: string) => boolean }} deps
 */
export function alertsPanel(deps) {
  /** @type {Alert[]} */
  let alerts = []
  let error = ''
  let enabled = false

  /** @param {Alert} a */
  function summary(a) {
    const { t } = deps
    const lang = deps.lang()
    return el('div', { class: 'alert-main' }, [
      el('p', { class: 'alert-line' }, [
        el('span', { class: `sev sev-${a.severity}`, text: t(`severity.${a.severity}`) }),
        ' ',
        el('strong', { text: t(`rule.${a.rule}`) }),
        ' ',
        el('span', { class: `status status-${a.status}`, text: t(`status.${a.status}`) }),
        a.flapping ? el('span', { class: 'status', text: t('alerts.flapping') }) : null,
      ]),
      el('p', { class: 'alert-where' }, [
        idSpan(a.farm),
        ' · ',
        idSpan(a.device),
        deps.isTraining(a.farm) ? el('span', { class: 'badge training', text: t('farm.training') }) : null,
        ' · ',
        t('alerts.since', { time: fmtTime(lang, a.firedMs ?? a.sinceMs) }),
      ]),
      a.ack ? el('p', { class: 'alert-ack' }, withName(t('alerts.ackBy', { time: fmtTime(lang, a.ack.atMs) }), a.ack.by)) : null,
    ])
  }

  /** @param {Alert} a @param {HTMLElement} item */
  function actions(a, item) {
    const { t } = deps
    const form = /** @type {HTMLFormElement} */ (item.querySelector('form'))
    return el('div', { class: 'alert-actions' }, [
      a.status === 'firing' || a.status === 'pending'
        ? el('button', { type: 'button', 'data-act': 'ack', onclick: () => void act(a, 'ack', {}), text: t('alerts.ack') })
        : null,
      el('button', {
        type: 'button',
        'data-act': 'resolve',
        'aria-expanded': String(!form.hidden),
        onclick: () => {
          form.hidden = !form.hidden
          if (!form.hidden) form.querySelector('textarea')?.focus()
          item.querySelector('[data-act="resolve"]')?.setAttribute('aria-expanded', String(!form.hidden))
        },
        text: t('alerts.resolve'),
      }),
    ])
  }

  /** @param {Alert} a */
  function resolveForm(a) {
    const { t } = deps
    const noteId = `note-${a.id}`
    const form = el('form', { class: 'resolve-form', hidden: true }, [
      el('label', { for: noteId, text: t('alerts.note') }),
      el('textarea', { id: noteId, name: 'note', rows: 3, maxlength: 500, required: true }),
      el('div', { class: 'row' }, [
        el('button', { type: 'submit', class: 'primary', text: t('alerts.confirm') }),
        el('button', { type: 'button', 'data-act': 'cancel', text: t('alerts.cancel'), onclick: () => (form.hidden = true) }),
      ]),
    ])
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const note = String(new FormData(/** @type {HTMLFormElement} */ (form)).get('note') ?? '').trim()
      if (note) void act(a, 'resolve', { note })
    })
    return form
  }

  /** @param {Alert} a @param {'ack' | 'resolve'} what @param {Record<string, string>} extra */
  async function act(a, what, extra) {
    const r = await request('POST', `${deps.api}alerts/${encodeURIComponent(a.id)}/${what}`, { auth: true, body: { by: session.name || 'console', ...extra } })
    if (r.ok) deps.announce(deps.t(what === 'ack' ? 'alerts.acked' : 'alerts.resolved'))
    else deps.announce(deps.t('alerts.failed', { reason: deps.t(r.error ?? '') }), r.detail)
    await refresh()
  }

  function render() {
    const { t, list, message } = deps
    message.textContent = !enabled ? t('signin.needed') : error ? `${t('alerts.unavailable')} (${t(error)})` : alerts.length === 0 ? t('alerts.none') : ''
    message.hidden = message.textContent === ''
    const keep = new Set(alerts.map((a) => a.id))
    for (const item of [...list.children]) if (!keep.has(item.getAttribute('data-alert-id') ?? '')) item.remove()
    let before = list.firstElementChild
    for (const a of enabled ? sortAlerts(alerts) : []) {
      let item = /** @type {HTMLElement | null} */ (list.querySelector(`[data-alert-id="${CSS.escape(a.id)}"]`))
      const sig = `${a.version}/${a.status}/${deps.lang()}/${deps.isTraining(a.farm)}`
      if (!item) {
        item = el('li', { class: 'alert', 'data-alert-id': a.id, 'data-rule': a.rule, 'data-alert-device': a.device }, [resolveForm(a)])
      }
      if (item.getAttribute('data-sig') !== sig) {
        item.querySelector('.alert-main')?.remove()
        item.querySelector('.alert-actions')?.remove()
        item.prepend(summary(a), actions(a, item))
        item.className = `alert sev-${a.severity}`
        item.setAttribute('data-status', a.status)
        item.setAttribute('data-sig', sig)
      }
      if (item !== before) list.insertBefore(item, before)
      before = item.nextElementSibling
    }
  }

  async function refresh() {
    if (!enabled) return render()
    const r = await request('GET', `${deps.api}alerts?status=open`, { auth: true })
    if (r.ok) {
      alerts = Array.isArray(r.body.alerts) ? r.body.alerts : []
      error = ''
    } else {
      error = r.error ?? 'err.network'
    }
    render()
  }

  return {
    refresh,
    render,
    /** @param {boolean} on */
    setEnabled(on) {
      enabled = on
      if (!on) alerts = []
    },
  }
}
