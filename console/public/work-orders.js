/* global FormData, CSS */
/**
 * Work orders on the console (issue 17), for technicians: the open orders of the farms the
 * signed-in person may read (one farm, or all), a visit log (findings, one part, cost, note)
 * and a close (those forms only on farms the person may maintain: a farmer reads). A close the
 * data refuses shows the service's reason in the page's language.
 * Items are kept by id between refreshes so a form being typed survives the next poll.
 */
import { request, session } from './api.js'
import { el, fmtTime, idSpan } from './dom.js'

/**
 * @typedef {{ id: string, farmId: string, deviceId: string | null, alertId: string | null, title: string,
 *   kind: string, status: string, assigneeId: string | null, openedAt: string, updatedAt: string }} WorkOrder
 */

/**
 * @param {{ root: HTMLElement, list: HTMLElement, message: HTMLElement, farm: HTMLSelectElement,
 *   canMaintain: (farm: string) => boolean, announce: (text: string, detail?: string) => void, api: string,
 *   t: (key: string, vars?: Record<string, string | number>) => string, lang: () => string }} deps
 */
export function workOrdersPanel(deps) {
  /** @type {WorkOrder[]} */
  let orders = []
  let error = ''
  let enabled = false

  /** @param {WorkOrder} o */
  function summary(o) {
    const { t } = deps
    return el('div', { class: 'wo-main' }, [
      el('p', { class: 'alert-line' }, [
        el('strong', { translate: 'no', text: o.title }), // data (free text, a device's name): as written
        ' ',
        el('span', { class: `status wo-status-${o.status}`, text: t(`wo.status.${o.status}`) }),
        ' ',
        el('span', { class: 'status', text: t(`wo.kind.${o.kind}`) }),
      ]),
      el('p', { class: 'alert-where' }, [
        idSpan(o.id),
        ' · ',
        idSpan(o.farmId),
        o.deviceId ? ' · ' : null,
        o.deviceId ? idSpan(o.deviceId) : null,
        ' · ',
        t('wo.opened', { time: fmtTime(deps.lang(), Date.parse(o.openedAt)) }),
        ' · ',
        o.assigneeId ? el('span', {}, [t('wo.assignee'), ' ', idSpan(o.assigneeId)]) : t('wo.unassigned'),
      ]),
    ])
  }

  /** @param {WorkOrder} o */
  function visitForm(o) {
    const { t } = deps
    const id = (name) => `wo-${name}-${o.id}`
    const field = (name, label, input) => el('div', { class: 'field' }, [el('label', { for: id(name), text: label }), input])
    const form = el('form', { class: 'wo-visit', 'data-form': 'visit' }, [
      field('findings', t('wo.findings'), el('textarea', { id: id('findings'), name: 'findings', rows: 2, maxlength: 2000 })),
      el('div', { class: 'row' }, [
        field('part', t('wo.part'), el('input', { id: id('part'), name: 'part', type: 'text', maxlength: 80 })),
        field('qty', t('wo.qty'), el('input', { id: id('qty'), name: 'qty', type: 'number', min: '0', step: 'any', inputmode: 'decimal' })),
        field('cost', t('wo.cost'), el('input', { id: id('cost'), name: 'cost', type: 'number', min: '0', step: 'any', inputmode: 'decimal' })),
      ]),
      field('note', t('wo.note'), el('textarea', { id: id('note'), name: 'note', rows: 2, maxlength: 2000 })),
      el('div', { class: 'row' }, [
        el('button', { type: 'submit', class: 'primary', 'data-act': 'visit', text: t('wo.logVisit') }),
        el('button', { type: 'button', 'data-act': 'close', onclick: () => void close(o), text: t('wo.close') }),
      ]),
      el('p', { class: 'wo-refusal', role: 'alert', hidden: true }),
    ])
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const data = new FormData(/** @type {HTMLFormElement} */ (form))
      const text = (k) => String(data.get(k) ?? '').trim()
      const part = text('part')
      const qty = Number(text('qty') || '1')
      const cost = text('cost')
      const body = {
        by: session.name || 'console',
        findings: text('findings'),
        note: text('note'),
        parts: part ? [{ name: part, qty }] : [],
        ...(cost !== '' && { costThb: Number(cost) }),
      }
      void (async () => {
        const r = await request('POST', `${deps.api}work-orders/${encodeURIComponent(o.id)}/visits`, { auth: true, body })
        if (r.ok) {
          /** @type {HTMLFormElement} */ (form).reset()
          deps.announce(deps.t('wo.visitLogged'))
        } else deps.announce(deps.t('alerts.failed', { reason: deps.t(r.error ?? '') }), r.detail)
        await refresh()
      })()
    })
    return form
  }

  /** @param {WorkOrder} o */
  async function close(o) {
    const shown = deps.list.querySelector(`[data-wo-id="${CSS.escape(o.id)}"] .wo-refusal`)
    if (shown) /** @type {HTMLElement} */ (shown).hidden = true
    const r = await request('POST', `${deps.api}work-orders/${encodeURIComponent(o.id)}/close`, { auth: true, body: { by: session.name || 'console' } })
    const item = deps.list.querySelector(`[data-wo-id="${CSS.escape(o.id)}"]`)
    const refusal = /** @type {HTMLElement | null} */ (item?.querySelector('.wo-refusal') ?? null)
    if (r.ok) {
      deps.announce(deps.t(r.body.resolvedAlert ? 'wo.closedResolved' : 'wo.closed'))
    } else if (r.status === 409 && typeof r.body.th === 'string') {
      // The service's own reason, in the page's language (it sends both).
      const reason = deps.lang() === 'en' ? r.body.en : r.body.th
      if (refusal) {
        refusal.textContent = `${deps.t('wo.refused')} ${reason}`
        refusal.hidden = false
      }
      deps.announce(`${deps.t('wo.refused')} ${reason}`)
      return
    } else deps.announce(deps.t('alerts.failed', { reason: deps.t(r.error ?? '') }), r.detail)
    await refresh()
  }

  function render() {
    const { t, list, message } = deps
    deps.root.hidden = !enabled
    const shown = orders.filter((o) => !deps.farm.value || o.farmId === deps.farm.value)
    message.textContent = error ? `${t('wo.unavailable')} (${t(error)})` : shown.length === 0 ? t('wo.none') : ''
    message.hidden = message.textContent === ''
    // The farm picker: every farm with an order, and "all".
    const farms = [...new Set(orders.map((o) => o.farmId))].sort()
    const had = [...deps.farm.options].map((opt) => opt.value).join('\n')
    if (had !== ['', ...farms].join('\n')) {
      const keep = deps.farm.value
      deps.farm.replaceChildren(el('option', { value: '', text: t('wo.allFarms') }), ...farms.map((f) => el('option', { value: f, text: f, translate: 'no' })))
      deps.farm.value = farms.includes(keep) ? keep : ''
    }
    const keep = new Set(shown.map((o) => o.id))
    for (const item of [...list.children]) if (!keep.has(item.getAttribute('data-wo-id') ?? '')) item.remove()
    let before = list.firstElementChild
    for (const o of shown) {
      let item = /** @type {HTMLElement | null} */ (list.querySelector(`[data-wo-id="${CSS.escape(o.id)}"]`))
      const sig = `${o.updatedAt}/${o.status}/${deps.lang()}`
      // A farmer reads their farm's orders; the forms are for those who may act on them.
      if (!item) item = el('li', { class: 'alert wo', 'data-wo-id': o.id }, [deps.canMaintain(o.farmId) ? visitForm(o) : null])
      if (item.getAttribute('data-sig') !== sig) {
        item.querySelector('.wo-main')?.remove()
        item.prepend(summary(o))
        item.setAttribute('data-status', o.status)
        item.setAttribute('data-sig', sig)
      }
      if (item !== before) list.insertBefore(item, before)
      before = item.nextElementSibling
    }
  }

  async function refresh() {
    if (!enabled) return render()
    const r = await request('GET', `${deps.api}work-orders?status=active`, { auth: true })
    if (r.ok) {
      orders = Array.isArray(r.body.workOrders) ? r.body.workOrders : []
      error = ''
    } else error = r.error ?? 'err.network'
    render()
  }

  deps.farm.addEventListener('change', () => render())

  return {
    refresh,
    render,
    /** @param {boolean} on */
    setEnabled(on) {
      enabled = on
      if (!on) orders = []
    },
  }
}
