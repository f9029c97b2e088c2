/**
 * What the page knows, as plain data: farms, their devices, each device's latest reading, online
 * state and last hour. Pure functions over it (unit-tested in console/model.test.ts); the view
 * draws what they report as changed.
 */
import { CHART_FIELDS, addPoint, emptySeries } from './series.js'

/**
 * @typedef {'pump' | 'soil' | 'waterbank'} Kind
 * @typedef {{ farm: string, kind: Kind, device: string, telemetry: Record<string, unknown> | null,
 *   receivedMs: number, online: boolean | null, series: import('./series.js').Series }} Device
 * @typedef {{ farm: string, training: boolean, devices: string[] }} Farm
 * @typedef {{ farms: Map<string, Farm>, devices: Map<string, Device> }} Model
 */

const KINDS = ['pump', 'soil', 'waterbank']
const CHANNELS = ['telemetry', 'status', 'event', 'cmd', 'cmd/ack']
const ID = /^[a-z0-9][a-z0-9-]{0,31}$/

/** @returns {Model} */
export function createModel() {
  return { farms: new Map(), devices: new Map() }
}

/**
 * `farm/{farm}/{kind}/{device}/{channel}` (contracts/topics.ts), or null.
 * @param {string} topic
 */
export function parseTopic(topic) {
  const [prefix, farm = '', kind = '', device = '', ...rest] = topic.split('/')
  const channel = rest.join('/')
  if (prefix !== 'farm' || !ID.test(farm) || !ID.test(device) || !KINDS.includes(kind) || !CHANNELS.includes(channel)) return null
  return { farm, kind: /** @type {Kind} */ (kind), device, channel }
}

/**
 * The device, created (with its farm) on first sight. `created` tells the view to draw the farm again.
 * @param {Model} model @param {string} farm @param {Kind} kind @param {string} device
 */
export function ensureDevice(model, farm, kind, device) {
  let created = false
  let f = model.farms.get(farm)
  if (!f) {
    f = { farm, training: false, devices: [] }
    model.farms.set(farm, f)
    created = true
  }
  let d = model.devices.get(device)
  if (!d || d.farm !== farm || d.kind !== kind) {
    if (d) removeFromFarm(model, d)
    d = { farm, kind, device, telemetry: null, receivedMs: 0, online: null, series: emptySeries(CHART_FIELDS[kind]) }
    model.devices.set(device, d)
    f.devices.push(device)
    f.devices.sort()
    created = true
  }
  return { device: d, created }
}

/** @param {Model} model @param {Device} d */
function removeFromFarm(model, d) {
  const f = model.farms.get(d.farm)
  if (f) f.devices = f.devices.filter((x) => x !== d.device)
}

/**
 * Applies one MQTT message. Returns what changed, or null for a message the page does not use.
 * @param {Model} model @param {string} topic @param {unknown} payload @param {number} nowMs
 */
export function applyMessage(model, topic, payload, nowMs) {
  const at = parseTopic(topic)
  if (!at || payload === null || typeof payload !== 'object') return null
  const p = /** @type {Record<string, unknown>} */ (payload)
  if (at.channel === 'cmd/ack') return { kind: 'ack', at, ack: p }
  if (at.channel !== 'telemetry' && at.channel !== 'status') return null
  const { device, created } = ensureDevice(model, at.farm, at.kind, at.device)
  if (at.channel === 'status') {
    if (typeof p.online !== 'boolean') return null
    device.online = p.online
    return { kind: 'status', device, created }
  }
  const ts = p.ts
  if (typeof ts !== 'number') return null
  const newest = typeof device.telemetry?.ts === 'number' ? device.telemetry.ts : -Infinity
  // A replayed (older) reading goes to the chart only; the figures show the newest.
  const latest = ts >= newest
  if (latest) {
    device.telemetry = p
    device.receivedMs = nowMs
    device.online = true
  }
  const charted = addPoint(device.series, ts, p)
  return { kind: 'telemetry', device, created, latest, charted }
}

/**
 * Loads the server's last hour (GET /console/api/history) into the model.
 * @param {Model} model
 * @param {Array<{ farm: string, kind: Kind, device: string, latest: Record<string, unknown>,
 *   receivedMs: number, series: import('./series.js').Series }>} devices
 */
export function loadHistory(model, devices) {
  for (const h of devices) {
    const { device } = ensureDevice(model, h.farm, h.kind, h.device)
    device.series = h.series
    const newest = typeof device.telemetry?.ts === 'number' ? device.telemetry.ts : -Infinity
    if (typeof h.latest.ts === 'number' && h.latest.ts > newest) {
      device.telemetry = h.latest
      device.receivedMs = h.receivedMs
    }
  }
}

/** @param {Model} model @param {readonly string[]} trainingFarms */
export function setTraining(model, trainingFarms) {
  let changed = false
  for (const f of model.farms.values()) {
    const training = trainingFarms.includes(f.farm)
    if (f.training !== training) changed = true
    f.training = training
  }
  return changed
}

/**
 * A farm's devices by role: its pump, its water bank, its soil probes (plot 1, 2, ... by id).
 * @param {Model} model @param {Farm} farm
 */
export function farmParts(model, farm) {
  const devices = farm.devices.map((id) => model.devices.get(id)).filter((d) => d !== undefined)
  return {
    pumps: devices.filter((d) => d.kind === 'pump'),
    banks: devices.filter((d) => d.kind === 'waterbank'),
    soils: devices.filter((d) => d.kind === 'soil'),
  }
}
