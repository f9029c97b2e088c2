/* global document, location, localStorage, history, performance, TextDecoder, setInterval, setTimeout, clearTimeout, URLSearchParams, FormData */
/**
 * The field console page (issue 8). Start-up: the console's public config (the contract's
 * names), then, once signed in with the technician token (issue 13: devices and the broker
 * account are not for everyone), the live connection (broker WebSocket, viewer account, devices)
 * and the last hour, then live readings over MQTT-over-WebSocket with the read-only viewer
 * account. Actions (alerts, pump commands, trainer) go over HTTP with the technician token.
 * Nothing is loaded from outside this server.
 */
import mqtt from './vendor/mqtt.js'
import { alertsPanel } from './alerts.js'
import { workOrdersPanel } from './work-orders.js'
import { request, session } from './api.js'
import { farmCharts } from './charts.js'
import { pumpCommands } from './commands.js'
import { fmtTime, withDetail, withName } from './dom.js'
import { isLang, translate } from './i18n.js'
import { applyMessage, createModel, ensureDevice, loadHistory, setTraining } from './model.js'
import { trainerPanel } from './trainer.js'
import { renderFarm, showCommandStatus, updateDevice } from './view.js'

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
const ALERTS_POLL_MS = 2_000
const SIM_POLL_MS = 5_000
const CHART_REDRAW_MS = 1_000
const ANNOUNCE_MS = 10_000

const params = new URLSearchParams(location.search)
let lang = isLang(params.get('lang')) ? params.get('lang') : isLang(localStorage.getItem('suanyang.console.lang')) ? localStorage.getItem('suanyang.console.lang') : 'th'
const t = (key, vars) => translate(lang, key, vars)

const model = createModel()
/** @type {any} */
let config = null
let signedIn = false
/** The MQTT client, once signed in. */
let live = null
/** Per farm: its card and charts. */
const cards = new Map()
const dirtyCharts = new Set()

let announceTimer = 0
/** The result of the last action, read out by screen readers; it goes after a while (and on a language switch). */
const announce = (text, detail) => {
  $('announce').replaceChildren(...withDetail(text, detail))
  clearTimeout(announceTimer)
  announceTimer = setTimeout(() => $('announce').replaceChildren(), ANNOUNCE_MS)
}

const commands = pumpCommands({ api: () => config.alertsApi, t: (key, vars) => t(key, vars), show: (device, line) => showCommandStatus($('farm-list'), device, line) })

const viewContext = () => ({
  lang,
  t,
  canAct: signedIn,
  commands: config?.contract.commands ?? [],
  onCommand: (device, cmd) => void commands.send(device, cmd),
  commandStatus: (device) => commands.status(device),
})

// --- farms -----------------------------------------------------------------------------------

function drawFarm(farmId) {
  const farm = model.farms.get(farmId)
  if (!farm) return
  const old = cards.get(farmId)
  const card = renderFarm(model, farm, viewContext())
  if (old) {
    old.charts.destroy()
    old.card.replaceWith(card)
  } else {
    const list = $('farm-list')
    const next = [...list.children].find((c) => (c.getAttribute('data-farm') ?? '') > farmId)
    list.insertBefore(card, next ?? null)
  }
  cards.set(farmId, { card, charts: farmCharts(card, model, farm, t, lang) })
  $('farms-empty').hidden = true
}

function drawAllFarms() {
  for (const { charts } of cards.values()) charts.destroy()
  cards.clear()
  $('farm-list').replaceChildren()
  for (const id of [...model.farms.keys()].sort()) drawFarm(id)
  $('farms-empty').hidden = model.farms.size > 0
}

// --- live readings ---------------------------------------------------------------------------

function setConnection(state) {
  $('conn').className = `conn ${state}`
  $('conn-text').textContent = t(`conn.${state}`)
}

function onMessage(topic, raw) {
  if (raw.length === 0) return
  let payload
  try {
    payload = JSON.parse(new TextDecoder().decode(raw))
  } catch {
    return
  }
  const change = applyMessage(model, topic, payload, Date.now())
  if (!change) return
  if (change.kind === 'ack') return commands.onAck(change.at.device, change.ack)
  const farm = change.device.farm
  if (change.created) drawFarm(farm)
  else {
    const entry = cards.get(farm)
    if (entry) updateDevice(entry.card, change.device, viewContext())
  }
  if (change.kind !== 'telemetry') return
  if (change.charted) dirtyCharts.add(farm)
  if (change.latest) {
    $('last-update').textContent = `· ${t('conn.lastUpdate')} ${fmtTime(lang, Date.now())}`
    const root = document.documentElement
    // Time to the first live value on screen, for the closing note and the test.
    if (!root.dataset.firstLiveMs) root.dataset.firstLiveMs = String(Math.round(performance.now()))
  }
}

function connectLive(m) {
  const url = m.url ?? (m.port ? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:${m.port}/` : undefined)
  if (!url) return setConnection('noWs')
  const client = mqtt.connect(url, {
    username: m.username,
    password: m.password,
    // [broker/client-id.ts] the username, `_`, and a suffix of our own.
    clientId: `${m.username}_${Math.random().toString(36).slice(2, 10)}`,
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 2_000,
    connectTimeout: 10_000,
  })
  client.on('connect', () => {
    const root = document.documentElement
    if (!root.dataset.connectedMs) root.dataset.connectedMs = String(Math.round(performance.now()))
    performance.mark('console-connected')
    setConnection('live')
    // A person's viewer account reaches their farms only: one filter set per farm (issue 14).
    const farms = Array.isArray(m.farms) ? m.farms : ['+']
    client.subscribe(farms.flatMap((f) => [`farm/${f}/+/+/telemetry`, `farm/${f}/+/+/status`, `farm/${f}/pump/+/cmd/ack`]), { qos: 0 })
  })
  client.on('reconnect', () => setConnection('connecting'))
  client.on('offline', () => setConnection('offline'))
  client.on('message', onMessage)
  return client
}

/** Devices, the last hour and the live connection: for a signed-in technician only. */
async function startLive() {
  if (live) return
  live = 'starting'
  // Both at once: on a slow link the round trips, not the bytes, are what the user waits for.
  const [l, h] = await Promise.all([request('GET', '/console/api/live', { auth: true }), request('GET', '/console/api/history', { auth: true })])
  if (!l.ok) {
    live = null
    return setConnection('offline')
  }
  performance.mark('console-config')
  for (const d of l.body.devices) ensureDevice(model, d.farm, d.kind, d.device)
  if (h.ok) loadHistory(model, h.body.devices ?? [])
  setTraining(model, l.body.sim.training)
  drawAllFarms()
  setConnection('connecting')
  performance.mark('console-connect')
  live = connectLive(l.body.mqtt) ?? 'no-ws' // no WebSocket address: nothing to retry
}

// --- sign-in, language -----------------------------------------------------------------------

/** @type {ReturnType<typeof alertsPanel> | null} */
let alerts = null
/** @type {ReturnType<typeof trainerPanel> | null} */
let trainer = null
/** @type {ReturnType<typeof workOrdersPanel> | null} */
let workOrders = null
/** Farms whose work orders the signed-in person may act on; null: every farm (the installation token). @type {Set<string> | null} */
let maintains = new Set()

function showSignIn() {
  const summary = $('signin-summary')
  if (!signedIn) summary.textContent = t('signin.title')
  else if (session.name) summary.replaceChildren(...withName(t('signin.as'), session.name))
  else summary.textContent = t('signin.done')
}

async function checkSession() {
  const me = config.actions && session.token !== '' ? await request('GET', '/console/api/session', { auth: true }) : undefined
  signedIn = me?.ok === true
  // The trainer panel for whoever may train somewhere (the installation token: everywhere training is).
  const trains = signedIn && (me?.body.kind === 'service' || (me?.body.train ?? []).length > 0)
  $('signin-form').hidden = signedIn || !config.actions
  $('signout').hidden = !signedIn
  showSignIn()
  const state = $('signin-state')
  state.hidden = signedIn
  state.textContent = !config.actions ? t('signin.off') : t('signin.needed')
  $('trainer').hidden = !trains
  // The administration page, for whoever manages a farm or a cooperative (issue 14).
  $('admin-link-p').hidden = !(signedIn && me?.body.manages === true)
  alerts?.setEnabled(signedIn)
  maintains = me?.body.kind === 'service' ? null : new Set(me?.body.maintain ?? [])
  workOrders?.setEnabled(signedIn)
  const empty = $('farms-empty')
  empty.setAttribute('data-i18n', signedIn ? 'farms.none' : 'farms.signin')
  empty.textContent = t(empty.getAttribute('data-i18n') ?? '')
  if (!signedIn) setConnection('signedOut')
  drawAllFarms()
  if (signedIn) await startLive()
  await alerts?.refresh()
  await workOrders?.refresh()
  if (signedIn) await trainer?.refresh()
}

function applyLanguage() {
  document.documentElement.lang = lang
  showSignIn()
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.getAttribute('data-i18n') ?? '')
  const other = lang === 'th' ? 'en' : 'th'
  const button = $('lang')
  // The switch names the other language in that language (and is marked as such).
  button.textContent = other === 'en' ? 'English' : 'ไทย'
  button.lang = other
  button.setAttribute('aria-label', `${t('lang.switch')}: ${other === 'en' ? 'English' : 'ไทย'}`)
}

function switchLanguage() {
  lang = lang === 'th' ? 'en' : 'th'
  localStorage.setItem('suanyang.console.lang', lang)
  applyLanguage()
  setConnection(!signedIn ? 'signedOut' : $('conn').classList.contains('live') ? 'live' : 'connecting')
  $('alert-list').replaceChildren()
  $('wo-list').replaceChildren()
  $('announce').replaceChildren()
  trainer?.render()
  void checkSession()
}

/**
 * Signs in: a person with their id and password (POST /auth/sign-in), else the same two fields as
 * a name for the record and the installation token. Resolves to whether it worked.
 * @param {string} name @param {string} secret
 */
async function signIn(name, secret) {
  if (/^[a-z0-9][a-z0-9-]{0,31}$/.test(name)) {
    const r = await request('POST', '/auth/sign-in', { body: { person: name, password: secret } })
    if (r.ok) {
      session.save(r.body.token, r.body.person.name)
      return true
    }
    if (r.status === 429) return false
  }
  session.save(secret, name)
  return (await request('GET', '/console/api/session', { auth: true })).ok
}

function wireSignIn() {
  // Links travel in the fragment, which browsers never send: `#signin=` a person's one-time
  // sign-in link (issue 14), `#token=` the installation token from the start log.
  const hash = new URLSearchParams(location.hash.slice(1))
  const fromLink = hash.get('token')
  const personLink = hash.get('signin')
  if (fromLink || personLink) history.replaceState(null, '', location.pathname + location.search)
  if (fromLink) session.save(fromLink, session.name)
  const form = /** @type {HTMLFormElement} */ ($('signin-form'))
  const nameInput = /** @type {HTMLInputElement} */ ($('signin-name'))
  nameInput.value = session.name
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const data = new FormData(form)
    void signIn(String(data.get('name') ?? '').trim(), String(data.get('token') ?? ''))
      .then(() => checkSession())
      .then(() => announce(signedIn ? t('signin.done') : t('signin.bad')))
  })
  $('signin-send').addEventListener('click', () => {
    const person = nameInput.value.trim()
    if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(person)) return announce(t('signin.sendNeedsId'))
    const url = new URL('../sign-in-link', new URL(config.alertsApi, location.href)).toString()
    void request('POST', url, { body: { person } }).then(() => announce(t('signin.sent')))
  })
  $('signout').addEventListener('click', () => {
    void request('POST', '/auth/sign-out', { auth: true }).finally(() => {
      session.clear()
      location.reload() // drops the live connection and every reading on screen
    })
  })
  return personLink
    ? request('POST', '/auth/link', { body: { link: personLink } }).then((r) => {
        if (r.ok) session.save(r.body.token, r.body.person.name)
        else announce(t('signin.linkBad'))
      })
    : Promise.resolve()
}

async function pollSim() {
  if (!signedIn) return
  const r = await request('GET', '/console/api/sim', { auth: true })
  if (r.ok && setTraining(model, r.body.training ?? [])) drawAllFarms()
  if (signedIn) await trainer?.refresh()
}

async function boot() {
  applyLanguage()
  await wireSignIn()
  $('lang').addEventListener('click', switchLanguage)
  const c = await request('GET', '/console/config')
  if (!c.ok) return setConnection('offline')
  config = c.body
  alerts = alertsPanel({
    list: $('alert-list'),
    message: $('alerts-message'),
    announce,
    api: config.alertsApi,
    t: (key, vars) => t(key, vars),
    lang: () => lang,
    isTraining: (farm) => model.farms.get(farm)?.training === true,
  })
  workOrders = workOrdersPanel({
    root: $('work-orders'),
    list: $('wo-list'),
    message: $('wo-message'),
    farm: /** @type {HTMLSelectElement} */ ($('wo-farm')),
    canMaintain: (farm) => maintains === null || maintains.has(farm),
    announce,
    api: config.alertsApi,
    t: (key, vars) => t(key, vars),
    lang: () => lang,
  })
  trainer = trainerPanel({
    root: $('trainer'),
    announce,
    t: (key, vars) => t(key, vars),
    lang: () => lang,
    scenarios: config.contract.scenarios,
    scenarioKinds: config.contract.scenarioKinds,
    // Training farms' devices only: the server refuses a fault on a real farm, the panel does not offer one (issue 16).
    devices: () => [...model.devices.values()].filter(({ farm }) => model.farms.get(farm)?.training === true).map(({ farm, kind, device }) => ({ farm, kind, device })),
  })
  await checkSession()
  setInterval(() => void (signedIn ? alerts?.refresh() : undefined), ALERTS_POLL_MS)
  setInterval(() => void (signedIn ? workOrders?.refresh() : undefined), ALERTS_POLL_MS)
  setInterval(() => void pollSim(), SIM_POLL_MS)
  setInterval(() => {
    for (const farm of dirtyCharts) cards.get(farm)?.charts.redraw()
    dirtyCharts.clear()
  }, CHART_REDRAW_MS)
}

// A module script runs once the document is parsed.
void boot()
