/* global document, localStorage, location, navigator, URLSearchParams, setTimeout, clearTimeout */
/**
 * The administration page (issue 14): for admins and cooperative leads, signed in on the field
 * console (the same session, kept in this browser). Farms (add, edit), their devices (register:
 * the broker password is shown once, here; remove), people (invite with a one-time sign-in link
 * to send by LINE or SMS, edit, give and take roles), rule overrides, and for admins cooperatives.
 * Everything goes through /console/api/admin/ (console/admin.ts), which decides what the caller
 * may do; this page only shows what the overview returned. A refusal's field-level issues show
 * next to their field in the page's language; nothing is saved then.
 */
import { request, session } from './api.js'
import { el, fmtTime, idSpan, withName } from './dom.js'
import { controlId, fieldNode, fillForm, readForm, showIssues } from './forms.js'
import { TEXT, isLang, translate } from './i18n.js'

const API = '/console/api/admin/'
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
const params = new URLSearchParams(location.search)
let lang = isLang(params.get('lang')) ? params.get('lang') : isLang(localStorage.getItem('suanyang.console.lang')) ? localStorage.getItem('suanyang.console.lang') : 'th'
const t = (key, vars) => translate(lang, key, vars)
const ROLES = ['farmer', 'trainee', 'technician', 'trainer', 'lead', 'admin']
const RULES = Object.keys(TEXT.en).filter((k) => k.startsWith('rule.')).map((k) => k.slice(5))

/** @type {any} */
let data = null
/** Where the alerts API is (/console/config): it issues LINE link codes. */
let alertsApi = '/alerts/api/'
/** @type {{ farm: string | null, person: string | null }} */
const editing = { farm: null, person: null }
/** The API's last issues per form, shown again after a language switch. */
const issues = new Map()
/** Shown once: the new device's login, the last sign-in link (kept in this tab's memory only). */
let secret = null
let invite = null
let lineCode = null

let announceTimer = 0
/** @param {string} text @param {boolean} [bad] a refusal (its own colour) */
const announce = (text, bad = false) => {
  $('announce').textContent = text
  $('announce').classList.toggle('bad', bad)
  clearTimeout(announceTimer)
  announceTimer = setTimeout(() => ($('announce').textContent = ''), 10_000)
}

/** A field's label for the list at a form's top: the page's own, else the name as sent. */
const labelOf = (field) => {
  const key = `admin.f.${field}`
  return key in TEXT.en ? t(key) : field
}

// --- the forms' fields ------------------------------------------------------------------------

const f = (name, extra = {}) => ({ name, label: t(`admin.f.${name}`), ...extra })
const num = (name) => f(name, { type: 'number' })
const farmOptions = () => data.farms.map((x) => ({ value: x.id, label: x.id, id: true }))
/** The cooperatives a farm may be put in; the edited farm's own stays choosable (a lead of that one farm only). */
const coopOptions = () => {
  const own = data.farms.find((x) => x.id === editing.farm)?.cooperativeId ?? null
  const ids = data.cooperatives.map((c) => c.id)
  if (own !== null && !ids.includes(own)) ids.unshift(own)
  const none = data.me.admin || (editing.farm !== null && own === null)
  return [...(none ? [{ value: '', label: t('admin.farm.noCoop') }] : []), ...ids.map((id) => ({ value: id, label: id, id: true }))]
}
const scopeOptions = () => [
  ...data.farms.map((x) => ({ value: `farm:${x.id}`, label: x.id, group: t('admin.scope.farms'), id: true })),
  ...data.cooperatives.map((c) => ({ value: `coop:${c.id}`, label: c.id, group: t('admin.scope.coops'), id: true })),
  ...(data.me.admin ? [{ value: 'all', label: t('admin.scope.all') }] : []),
]
const roleOptions = () => ROLES.filter((r) => r !== 'admin' || data.me.admin).map((r) => ({ value: r, label: t(`role.${r}`) }))
const localeOptions = () => [
  { value: 'th', label: t('admin.lang.th') },
  { value: 'en', label: t('admin.lang.en') },
]

const FARM = {
  names: () => [f('id', { attrs: { autocomplete: 'off', autocapitalize: 'none' } }), f('cooperativeId', { type: 'select', options: coopOptions() }), f('nameTh'), f('nameEn'), f('training', { type: 'checkbox' })],
  where: () => [num('latDeg'), num('lonDeg'), f('quietHours.start', { attrs: { placeholder: '21:00' } }), f('quietHours.end', { attrs: { placeholder: '06:00' } }), num('escalateAfterMin')],
  equipment: () =>
    ['pvArrayWp', 'pumpModel', 'pumpHeadM', 'tankCapacityL', 'bankAreaM2', 'bankDepthCm', 'levelSensorCm', 'soilFieldCapacityPct', 'soilWiltingPointPct'].map((n) =>
      n === 'pumpModel' ? f(`equipment.${n}`) : num(`equipment.${n}`),
    ),
}
const farmSpecs = () => [...FARM.names(), ...FARM.where(), ...FARM.equipment()]
const coopSpecs = () => [f('id'), f('nameTh'), f('nameEn')]
const deviceSpecs = () => [
  f('farmId', { type: 'select', options: farmOptions() }),
  f('kind', { type: 'select', options: data.kinds.map((k) => ({ value: k, label: t(`kind.${k}`) })) }),
  f('id', { attrs: { autocomplete: 'off', autocapitalize: 'none' } }),
  { ...f('name'), label: t('admin.f.deviceName') },
]
const personFields = () => [
  f('name'),
  f('phone', { attrs: { inputmode: 'tel', autocomplete: 'off' } }),
  f('lineUserId', { attrs: { autocomplete: 'off', autocapitalize: 'none' } }),
  f('locale', { type: 'select', options: localeOptions() }),
]
const quietSpecs = () => [
  { name: 'quietHours.start', label: t('admin.f.personQuiet.start'), attrs: { placeholder: '21:00' } },
  { name: 'quietHours.end', label: t('admin.f.personQuiet.end'), attrs: { placeholder: '06:00' } },
]
const roleSpecs = () => [f('role', { type: 'select', options: roleOptions() }), f('scope', { type: 'select', options: scopeOptions() })]
const inviteSpecs = () => [f('id', { attrs: { autocomplete: 'off', autocapitalize: 'none' } }), ...personFields(), ...roleSpecs()]
const overrideSpecs = () => [
  f('farmId', { type: 'select', options: farmOptions() }),
  f('deviceId', { type: 'select', options: [{ value: '', label: t('admin.override.wholeFarm') }, ...data.devices.map((d) => ({ value: d.id, label: d.id, group: d.farmId, id: true, groupId: true }))] }),
  f('rule', { type: 'select', options: RULES.map((r) => ({ value: r, label: t(`rule.${r}`) })) }),
  f('enabled', { type: 'select', options: [{ value: '', label: t('admin.default') }, { value: 'true', label: t('admin.on') }, { value: 'false', label: t('admin.off') }] }),
  f('severity', { type: 'select', options: [{ value: '', label: t('admin.default') }, ...['info', 'warning', 'critical'].map((s) => ({ value: s, label: t(`severity.${s}`) }))] }),
  num('pendingMin'),
  num('clearMin'),
]

/** `farm:a-01` / `coop:coop-a` / `all` -> the role's scope fields. */
function scopeOf(value) {
  if (value.startsWith('farm:')) return { farmId: value.slice(5) }
  if (value.startsWith('coop:')) return { cooperativeId: value.slice(5) }
  return {}
}
const SCOPE_ALIASES = { farmId: 'scope', cooperativeId: 'scope' }

// --- sending ----------------------------------------------------------------------------------

/**
 * Sends one form's change. Refused: its issues next to the fields (kept for a language switch),
 * or the reason at the top. Done: the overview read again and the page drawn anew.
 * @param {string} key the form's id @param {string} method @param {string} path @param {unknown} body
 * @param {{ aliases?: Record<string, string>, done?: (body: any) => void, keep?: boolean }} [opts]
 */
async function send(key, method, path, body, opts = {}) {
  const r = await request(method, `${API}${path}`, { auth: true, body })
  if (!r.ok) {
    const list = Array.isArray(r.body.issues) ? r.body.issues : []
    const reason = r.status === 403 ? t('admin.forbidden') : t(r.error ?? 'err.server')
    issues.set(key, { list, aliases: opts.aliases ?? {}, reason: list.length > 0 ? '' : reason })
    applyIssues(key, true)
    announce(list.length > 0 ? t('admin.fix') : t('admin.failed', { reason }), true)
    return false
  }
  issues.delete(key)
  opts.done?.(r.body)
  announce(method === 'DELETE' ? t('admin.removed') : t('admin.saved'))
  await load(opts.keep ? undefined : key)
  return true
}

/** @param {string} key @param {boolean} [focus] */
function applyIssues(key, focus = false) {
  const form = /** @type {HTMLFormElement | null} */ (document.getElementById(key))
  const held = issues.get(key)
  if (!form || !held) return
  const first = showIssues(form, held.list, /** @type {'th' | 'en'} */ (lang), labelOf, held.aliases)
  const top = /** @type {HTMLElement} */ (form.querySelector('.form-errors'))
  if (held.reason) {
    top.append(el('li', { text: t('admin.failed', { reason: held.reason }) }))
    top.hidden = false
  }
  if (focus) (first ?? top).focus()
}

// --- drawing ----------------------------------------------------------------------------------

/** A form with its fields (in fieldsets when grouped), the list of problems on top and a submit button. */
function formNode(id, legend, groups, submit, onSubmit, extra = []) {
  const form = /** @type {HTMLFormElement} */ (
    el('form', { id, class: 'admin-form', novalidate: true, 'aria-labelledby': `${id}-h` }, [
      el('h3', { id: `${id}-h` }, Array.isArray(legend) ? legend : [legend]),
      el('ul', { class: 'form-errors', tabindex: '-1', hidden: true }),
      ...groups.map((g) => (g.legend ? el('fieldset', {}, [el('legend', { text: g.legend }), ...g.specs.map((s) => fieldNode(id, s))]) : el('div', {}, g.specs.map((s) => fieldNode(id, s))))),
      el('div', { class: 'row' }, [el('button', { type: 'submit', class: 'primary', text: submit }), ...extra]),
    ])
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    onSubmit(form)
  })
  return form
}

function copyButton(text) {
  return el('button', {
    type: 'button',
    text: t('admin.copy'),
    onclick: () => {
      const done = () => announce(t('admin.copied'))
      const failed = () => announce(t('admin.copyHint'))
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, failed)
      else failed()
    },
  })
}

function secretNode() {
  if (!secret) return null
  return el('div', { class: 'secret', id: 'device-secret', role: 'status' }, [
    el('p', { text: t('admin.device.secret') }),
    el('dl', { class: 'figures' }, [
      el('dt', { text: t('admin.device.username') }),
      el('dd', {}, [el('code', { translate: 'no', 'data-secret': 'username', text: secret.username }), ' ', copyButton(secret.username)]),
      el('dt', { text: t('admin.device.password') }),
      el('dd', {}, [el('code', { translate: 'no', 'data-secret': 'password', text: secret.password }), ' ', copyButton(secret.password)]),
    ]),
  ])
}

function inviteNode() {
  if (!invite) return null
  const sentence = t('admin.invite.link', { time: fmtTime(lang, Date.parse(invite.expiresAt)) })
  return el('div', { class: 'secret', id: 'invite-link', role: 'status' }, [
    el('p', {}, withName(sentence, invite.name)),
    el('p', {}, [el('code', { translate: 'no', 'data-secret': 'link', text: invite.url }), ' ', copyButton(invite.url)]),
  ])
}

function lineCodeNode() {
  if (!lineCode) return null
  const sentence = t('admin.line.code', { time: fmtTime(lang, Date.parse(lineCode.expiresAt)) })
  return el('div', { class: 'secret', id: 'line-code', role: 'status', tabindex: '-1' }, [
    el('p', {}, withName(sentence, lineCode.name)),
    el('p', {}, [el('code', { translate: 'no', 'data-secret': 'line-code', text: lineCode.code }), ' ', copyButton(lineCode.code)]),
  ])
}

/** A one-time LINE link code from the alerts API: the person sends it to the installation's LINE account. */
async function requestLineCode(p) {
  lineCode = null
  const r = await request('POST', `${alertsApi}contacts/${encodeURIComponent(p.id)}/link-code`, { auth: true, body: {} })
  if (!r.ok) return announce(t('admin.failed', { reason: r.status === 403 ? t('admin.forbidden') : t(r.error ?? 'err.server') }), true)
  lineCode = { code: r.body.code, expiresAt: r.body.expiresAt, name: p.name }
  draw(true)
  $('line-code').focus()
}

const section = (id, title, children) => el('section', { id, 'aria-labelledby': `${id}-h`, class: 'admin-section' }, [el('h2', { id: `${id}-h`, text: title }), ...children])
const empty = () => el('p', { class: 'muted', text: t('admin.none') })

function farmsSection() {
  const list = el(
    'ul',
    { class: 'admin-list' },
    data.farms.map((farm) =>
      el('li', { 'data-farm-row': farm.id }, [
        el('span', { id: `farm-row-${farm.id}`, class: 'row-name' }, [idSpan(farm.id), ' ', farm.nameTh ?? '', farm.training ? el('span', { class: 'badge training', text: t('farm.training') }) : null]),
        farm.cooperativeId ? el('span', { class: 'muted' }, [' · ', idSpan(farm.cooperativeId)]) : null,
        el('button', {
          type: 'button',
          text: t('admin.edit'),
          'aria-describedby': `farm-row-${farm.id}`,
          onclick: () => {
            editing.farm = farm.id
            issues.delete('farm-form')
            draw(false)
            fillForm(/** @type {HTMLFormElement} */ ($('farm-form')), farmSpecs(), farm)
            $(controlId('farm-form', 'nameTh')).focus()
          },
        }),
      ]),
    ),
  )
  const edit = editing.farm
  const form = formNode(
    'farm-form',
    edit ? withName(t('admin.farm.edit'), edit) : t('admin.farm.add'),
    [
      { legend: t('admin.group.names'), specs: FARM.names() },
      { legend: t('admin.group.where'), specs: FARM.where() },
      { legend: t('admin.group.equipment'), specs: FARM.equipment() },
    ],
    t('admin.farm.save'),
    (form) => {
      const body = readForm(form, farmSpecs(), edit ? 'null' : 'omit')
      if (body.cooperativeId === undefined && data.me.admin && !edit) body.cooperativeId = null
      if (edit) delete body.id
      void send('farm-form', edit ? 'PATCH' : 'POST', edit ? `farms/${encodeURIComponent(edit)}` : 'farms', body, { done: () => (editing.farm = null) })
    },
    edit ? [el('button', { type: 'button', text: t('admin.cancel'), onclick: () => ((editing.farm = null), issues.delete('farm-form'), draw(false)) })] : [],
  )
  const idBox = /** @type {HTMLInputElement | null} */ (form.querySelector('[name="id"]'))
  if (edit && idBox) idBox.readOnly = true
  // Adding needs a cooperative one leads (or the admin role); editing, `manage` on the farm.
  const mayAdd = data.me.admin || data.cooperatives.length > 0
  return section('admin-farms', t('admin.farms'), [data.farms.length ? list : empty(), edit || mayAdd ? form : null])
}

function devicesSection() {
  const list = el(
    'ul',
    { class: 'admin-list' },
    data.devices.map((d) =>
      el('li', { 'data-device-row': d.id }, [
        el('span', { id: `device-row-${d.id}`, class: 'row-name' }, [idSpan(d.id), ' · ', t(`kind.${d.kind}`), ' · ', idSpan(d.farmId), d.provisioned ? '' : ` · ${t('admin.device.unprovisioned')}`]),
        el('button', { type: 'button', text: t('admin.remove'), 'aria-describedby': `device-row-${d.id}`, onclick: () => void send('device-form', 'DELETE', `devices/${encodeURIComponent(d.id)}`, undefined, { keep: true }) }),
      ]),
    ),
  )
  const form = formNode('device-form', t('admin.device.add'), [{ specs: deviceSpecs() }], t('admin.device.save'), (form) => {
    secret = null
    void send('device-form', 'POST', 'devices', readForm(form, deviceSpecs(), 'omit'), { done: (b) => (secret = b.mqtt) })
  })
  return section('admin-devices', t('admin.devices'), [data.devices.length ? list : empty(), secretNode(), data.farms.length ? form : null])
}

function personRow(p) {
  const roles = el(
    'ul',
    { class: 'roles' },
    p.roles.map((m) =>
      el('li', {}, [
        t(`role.${m.role}`),
        ' · ',
        m.farmId ? idSpan(m.farmId) : m.cooperativeId ? idSpan(m.cooperativeId) : t('admin.scope.all'),
        p.editable
          ? el('button', {
              type: 'button',
              text: t('admin.person.removeRole'),
              'aria-describedby': `person-row-${p.id}`,
              onclick: () => void send('person-edit', 'DELETE', `people/${encodeURIComponent(p.id)}/roles`, { role: m.role, ...(m.farmId ? { farmId: m.farmId } : m.cooperativeId ? { cooperativeId: m.cooperativeId } : {}) }, { keep: true }),
            })
          : null,
      ]),
    ),
  )
  const actions = p.editable
    ? [
        el('button', {
          type: 'button',
          text: t('admin.edit'),
          'aria-describedby': `person-row-${p.id}`,
          onclick: () => {
            editing.person = p.id
            issues.delete('person-edit')
            draw(false)
            fillForm(/** @type {HTMLFormElement} */ ($('person-edit')), [...personFields(), ...quietSpecs()], p)
            $(controlId('person-edit', 'name')).focus()
          },
        }),
        el('button', {
          type: 'button',
          text: t('admin.person.link'),
          'aria-describedby': `person-row-${p.id}`,
          onclick: () => void send('person-edit', 'POST', `people/${encodeURIComponent(p.id)}/link`, undefined, { keep: true, done: (b) => (invite = { ...b.link, url: location.origin + b.link.path, name: p.name }) }),
        }),
        el('button', { type: 'button', text: t('admin.person.lineCode'), 'aria-describedby': `person-row-${p.id}`, 'data-act': 'line-code', onclick: () => void requestLineCode(p) }),
      ]
    : [el('span', { class: 'muted', text: t('admin.person.readonly') })]
  return el('li', { 'data-person-row': p.id }, [
    el('span', { id: `person-row-${p.id}`, class: 'row-name' }, [el('span', { class: 'name', translate: 'no', text: p.name }), ' ', idSpan(p.id)]),
    p.roles.length ? roles : el('span', { class: 'muted', text: ` ${t('admin.person.noRoles')}` }),
    el('div', { class: 'row' }, actions),
  ])
}

function peopleSection() {
  const list = el('ul', { class: 'admin-list' }, data.people.map(personRow))
  const inviteForm = formNode('person-form', t('admin.person.add'), [{ specs: inviteSpecs() }], t('admin.person.save'), (form) => {
    invite = null
    const { scope, ...body } = readForm(form, inviteSpecs(), 'omit')
    void send('person-form', 'POST', 'people', { ...body, ...scopeOf(String(scope ?? '')) }, { aliases: SCOPE_ALIASES, done: (b) => (invite = { ...b.link, url: location.origin + b.link.path, name: b.person.name }) })
  })
  const person = data.people.find((p) => p.id === editing.person)
  const editForms = person
    ? [
        formNode(
          'person-edit',
          withName(t('admin.person.edit'), person.name),
          [{ specs: [...personFields(), ...quietSpecs()] }],
          t('admin.person.update'),
          (form) => {
            const body = readForm(form, [...personFields(), ...quietSpecs()], 'null')
            if (body.quietHours && body.quietHours.start === null && body.quietHours.end === null) body.quietHours = null
            void send('person-edit', 'PATCH', `people/${encodeURIComponent(person.id)}`, body, { done: () => (editing.person = null) })
          },
          [el('button', { type: 'button', text: t('admin.cancel'), onclick: () => ((editing.person = null), issues.delete('person-edit'), draw(false)) })],
        ),
        formNode('person-role', t('admin.person.addRole'), [{ specs: roleSpecs() }], t('admin.person.addRole'), (form) => {
          const { scope, ...body } = readForm(form, roleSpecs(), 'omit')
          void send('person-role', 'POST', `people/${encodeURIComponent(person.id)}/roles`, { ...body, ...scopeOf(String(scope ?? '')) }, { aliases: SCOPE_ALIASES, keep: true })
        }),
      ]
    : []
  return section('admin-people', t('admin.people'), [data.people.length ? list : empty(), inviteNode(), lineCodeNode(), ...editForms, scopeOptions().length ? inviteForm : null])
}

function overridesSection() {
  const list = el(
    'ul',
    { class: 'admin-list' },
    data.overrides.map((o) =>
      el('li', {}, [
        el('span', { class: 'row-name' }, [idSpan(o.deviceId ?? o.farmId), ' · ', t(`rule.${o.rule}`), o.enabled === false ? ` · ${t('admin.off')}` : '', o.severity ? ` · ${t(`severity.${o.severity}`)}` : '']),
        el('button', {
          type: 'button',
          text: t('admin.remove'),
          onclick: () => void send('override-form', 'DELETE', `farms/${encodeURIComponent(o.farmId)}/overrides`, { rule: o.rule, ...(o.deviceId ? { deviceId: o.deviceId } : {}) }, { keep: true }),
        }),
      ]),
    ),
  )
  const form = formNode('override-form', t('admin.overrides'), [{ specs: overrideSpecs() }], t('admin.override.save'), (form) => {
    const { farmId, deviceId, enabled, ...rest } = readForm(form, overrideSpecs(), 'omit')
    const body = { ...rest, ...(deviceId ? { deviceId } : {}), ...(enabled === undefined ? {} : { enabled: enabled === 'true' }) }
    void send('override-form', 'PUT', `farms/${encodeURIComponent(String(farmId ?? ''))}/overrides`, body)
  })
  return section('admin-overrides', t('admin.overrides'), [data.overrides.length ? list : empty(), data.farms.length ? form : null])
}

function coopsSection() {
  if (!data.me.admin) return null
  const list = el('ul', { class: 'admin-list' }, data.cooperatives.map((c) => el('li', {}, [idSpan(c.id), ' ', c.nameTh ?? ''])))
  const form = formNode('coop-form', t('admin.coop.add'), [{ specs: coopSpecs() }], t('admin.coop.save'), (form) => void send('coop-form', 'POST', 'cooperatives', readForm(form, coopSpecs(), 'omit')))
  return section('admin-coops', t('admin.coops'), [data.cooperatives.length ? list : empty(), form])
}

/** What is typed in every box, to put back after the page is drawn anew (a language switch, a save elsewhere). */
function typed() {
  return [...document.querySelectorAll('#admin form [name]')].map((c) => {
    const input = /** @type {HTMLInputElement} */ (c)
    return { id: input.id, value: input.value, checked: input.checked }
  })
}

/** Draws the page from the overview. `reset`: the id of a form just saved, left empty. */
function draw(keep = true, reset) {
  const values = keep ? typed() : []
  $('admin').replaceChildren(...[farmsSection(), devicesSection(), peopleSection(), overridesSection(), coopsSection()].filter((n) => n !== null))
  for (const v of values) {
    const c = /** @type {HTMLInputElement | null} */ (document.getElementById(v.id))
    if (!c || c.closest(`#${reset}`)) continue
    if (c.type === 'checkbox') c.checked = v.checked
    else if ([...(c.tagName === 'SELECT' ? /** @type {any} */ (c).options : [])].some((o) => o.value === v.value) || c.tagName !== 'SELECT') c.value = v.value
  }
  for (const key of issues.keys()) applyIssues(key)
}

// --- start ------------------------------------------------------------------------------------

/** Reads the overview; `reset`: the form just saved. */
async function load(reset) {
  const state = $('admin-state')
  if (!session.token) return showState('admin.signin')
  const c = await request('GET', '/console/config')
  if (c.ok && typeof c.body.alertsApi === 'string') alertsApi = c.body.alertsApi
  const r = await request('GET', `${API}overview`, { auth: true })
  if (!r.ok) return showState(r.status === 401 ? 'admin.signin' : r.error ?? 'err.server')
  data = r.body
  const manages = data.me.admin || data.farms.length > 0 || data.cooperatives.length > 0
  if (!manages) return showState('admin.nothing')
  state.hidden = true
  $('admin').hidden = false
  draw(true, reset)
}

function showState(key) {
  const state = $('admin-state')
  state.hidden = false
  state.setAttribute('data-i18n', key)
  state.textContent = t(key)
  $('admin').hidden = true
}

function applyLanguage() {
  document.documentElement.lang = lang
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.getAttribute('data-i18n') ?? '')
  const other = lang === 'th' ? 'en' : 'th'
  const button = $('lang')
  button.textContent = other === 'en' ? 'English' : 'ไทย'
  button.lang = other
  button.setAttribute('aria-label', `${t('lang.switch')}: ${other === 'en' ? 'English' : 'ไทย'}`)
  if (data) draw(true)
}

$('lang').addEventListener('click', () => {
  lang = lang === 'th' ? 'en' : 'th'
  localStorage.setItem('suanyang.console.lang', lang)
  $('announce').textContent = ''
  applyLanguage()
})
applyLanguage()
void load()
