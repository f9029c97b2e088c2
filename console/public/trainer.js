/* global FormData */
/**
 * The trainer panel: inject and clear each simulator fault on a chosen device, and change the
 * simulation speed, through POST /console/api/sim (Bearer technician token), which publishes on
 * `sim/control` and returns the simulator's answer.
 */
import { request } from './api.js'
import { el, fmtTime, idSpan } from './dom.js'

const SEVERITIES = ['', '0.25', '0.5', '0.75', '1']

/**
 * @param {{ root: HTMLElement, announce: (text: string, detail?: string) => void,
 *   t: (key: string, vars?: Record<string, string | number>) => string, lang: () => string,
 *   scenarios: readonly string[], scenarioKinds: Record<string, readonly string[]>,
 *   devices: () => Array<{ farm: string, kind: string, device: string }> }} deps
 */
export function trainerPanel(deps) {
  /** @type {{ running: boolean, speed: number | null, faults: Array<{ device: string, fault: string, severity: number, since: number }> }} */
  let sim = { running: false, speed: null, faults: [] }
  let chosen = ''
  let chosenFault = ''
  let chosenSeverity = ''

  const kindOf = (device) => deps.devices().find((d) => d.device === device)?.kind ?? ''

  async function send(body) {
    const r = await request('POST', '/console/api/sim', { auth: true, body, timeoutMs: 15_000 })
    const ok = r.ok && r.body?.ack?.ok === true
    if (ok) deps.announce(deps.t('trainer.done'))
    else if (r.body?.ack) deps.announce(deps.t('trainer.failed', { reason: deps.t('err.simRefused') }), r.body.ack.error)
    else deps.announce(deps.t('trainer.failed', { reason: deps.t(r.error ?? '') }), r.detail)
    await refresh()
    return ok
  }

  function deviceSelect() {
    const { t } = deps
    const byFarm = new Map()
    for (const d of deps.devices()) byFarm.set(d.farm, [...(byFarm.get(d.farm) ?? []), d])
    if (!chosen || !deps.devices().some((d) => d.device === chosen)) chosen = deps.devices().find((d) => d.kind === 'pump')?.device ?? ''
    const select = el(
      'select',
      { id: 'trainer-device', name: 'device' },
      [...byFarm].map(([farm, list]) =>
        el('optgroup', { label: farm, translate: 'no' }, list.map((d) => el('option', { value: d.device, translate: 'no', selected: d.device === chosen, text: d.device }))),
      ),
    )
    select.addEventListener('change', () => {
      chosen = select.value
      render()
      deps.root.querySelector('#trainer-device')?.focus()
    })
    return el('div', { class: 'field' }, [el('label', { for: 'trainer-device', text: t('trainer.device') }), select, el('span', { class: 'hint', text: t(`kind.${kindOf(chosen)}`) })])
  }

  function faultForm() {
    const { t } = deps
    const kind = kindOf(chosen)
    const faults = deps.scenarios.filter((f) => deps.scenarioKinds[f]?.includes(kind))
    const form = el('form', { class: 'trainer-form' }, [
      deviceSelect(),
      el('div', { class: 'field' }, [
        el('label', { for: 'trainer-fault', text: t('trainer.fault') }),
        el(
          'select',
          { id: 'trainer-fault', name: 'fault', onchange: (e) => (chosenFault = e.target.value) },
          faults.map((f) => el('option', { value: f, selected: f === chosenFault, text: t(`scenario.${f}`) })),
        ),
      ]),
      el('div', { class: 'field' }, [
        el('label', { for: 'trainer-severity', text: t('trainer.severity') }),
        el(
          'select',
          { id: 'trainer-severity', name: 'severity', onchange: (e) => (chosenSeverity = e.target.value) },
          SEVERITIES.map((s) => el('option', { value: s, selected: s === chosenSeverity, text: s === '' ? t('trainer.severityDefault') : `${Number(s) * 100} %` })),
        ),
      ]),
      el('div', { class: 'row' }, [
        el('button', { type: 'submit', class: 'primary', 'data-act': 'inject', text: t('trainer.inject') }),
        el('button', { type: 'button', 'data-act': 'clear', text: t('trainer.clear'), onclick: () => void send({ action: 'clear', device: chosen, fault: value(form, 'fault') }) }),
        el('button', { type: 'button', 'data-act': 'clear-all', text: t('trainer.clearAll'), onclick: () => void send({ action: 'clear', device: chosen }) }),
      ]),
    ])
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const severity = value(form, 'severity')
      void send({ action: 'inject', device: chosen, fault: value(form, 'fault'), ...(severity ? { severity: Number(severity) } : {}) })
    })
    return form
  }

  function activeList() {
    const { t } = deps
    return el('div', { class: 'active-faults' }, [
      el('h3', { text: t('trainer.active') }),
      sim.faults.length === 0
        ? el('p', { text: t('trainer.noFaults') })
        : el(
            'ul',
            {},
            sim.faults.map((f) =>
              el('li', { 'data-fault': `${f.device}/${f.fault}` }, [
                idSpan(f.device),
                ` · ${t(`scenario.${f.fault}`)} · ${Math.round(f.severity * 100)} % · ${fmtTime(deps.lang(), f.since)} `,
                el('button', { type: 'button', text: t('trainer.clear'), onclick: () => void send({ action: 'clear', device: f.device, fault: f.fault }) }),
              ]),
            ),
          ),
    ])
  }

  function speedForm() {
    const { t } = deps
    const form = el('form', { class: 'speed-form' }, [
      el('div', { class: 'field' }, [
        el('label', { for: 'trainer-speed', text: t('trainer.speed') }),
        el('input', { id: 'trainer-speed', name: 'speed', type: 'number', min: 0.1, max: 10000, step: 'any', required: true, value: sim.speed ?? 1, inputmode: 'decimal' }),
        el('span', { class: 'hint', 'data-speed-now': '', text: sim.speed ? t('trainer.speedNow', { speed: sim.speed }) : '' }),
      ]),
      el('button', { type: 'submit', text: t('trainer.speedApply') }),
    ])
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      void send({ action: 'speed', speed: Number(value(form, 'speed')) })
    })
    return form
  }

  function render() {
    const body = deps.root.querySelector('.trainer-body')
    if (!body) return
    if (!sim.running) {
      body.replaceChildren(el('p', { text: deps.t('trainer.noSim') }))
      return
    }
    body.replaceChildren(faultForm(), activeList(), speedForm())
  }

  async function refresh() {
    const r = await request('GET', '/console/api/sim', { auth: true })
    if (!r.ok) return
    const wasRunning = sim.running
    const before = JSON.stringify(sim)
    sim = { running: r.body.running === true, speed: r.body.speed ?? null, faults: Array.isArray(r.body.faults) ? r.body.faults : [] }
    if (sim.running !== wasRunning || !deps.root.querySelector('.trainer-body')?.firstChild) return render()
    if (JSON.stringify(sim) === before) return
    // Only the parts that show the simulator's state: the forms keep the choice being made and the focus.
    deps.root.querySelector('.active-faults')?.replaceWith(activeList())
    const now = deps.root.querySelector('[data-speed-now]')
    if (now) now.textContent = sim.speed ? deps.t('trainer.speedNow', { speed: sim.speed }) : ''
  }

  return { refresh, render }
}

/** @param {HTMLFormElement} form @param {string} name */
function value(form, name) {
  return String(new FormData(form).get(name) ?? '')
}
