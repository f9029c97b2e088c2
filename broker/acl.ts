/**
 * Who may publish and subscribe where: one pure policy, table-tested (acl.test.ts).
 * Roles: device (its own topics only), service (ingest, alerts, sim control), viewer (read-only,
 * optionally limited to some farms), operator (a viewer that may send `cmd` to its farms' devices).
 */
import { CHANNEL_SPECS } from '../contracts/registry.js'
import { parseTopic } from '../contracts/topics.js'
import type { FarmScope, Identity } from '../runtime/accounts.js'

export type Decision = { ok: true } | { ok: false; reason: string }

const ALLOW: Decision = { ok: true }
const deny = (reason: string): Decision => ({ ok: false, reason })

/** Trainer controls for the simulator (fault injection), outside the device tree. */
export const SIM_CONTROL_PREFIX = 'sim/control'
/** The simulator's answers (contracts/sim-control.ts): only it publishes them. */
const SIM_ACK = 'sim/control/ack'
const SIM_STATE = 'sim/control/state'

const inScope = (scope: FarmScope, farm: string) => scope === '*' || scope.includes(farm)

export function canPublish(who: Identity, topic: string, retain = false): Decision {
  // [MQTT-4.7.2-1] `$` topics belong to the server; a client must not forge $SYS.
  if (topic.startsWith('$')) return deny('$ topics are reserved')
  // [MQTT-3.3.2-2] the topic name in a PUBLISH must not contain wildcards.
  if (topic.includes('+') || topic.includes('#')) return deny('wildcard in publish topic')
  if (topic === SIM_CONTROL_PREFIX) {
    return who.role === 'service' || who.role === 'operator' ? ALLOW : deny('only operators control the simulator')
  }
  if (topic.startsWith(`${SIM_CONTROL_PREFIX}/`)) {
    // acks and the retained state come from the simulator (a service): nobody may forge them
    return who.role === 'service' ? ALLOW : deny('only the simulator answers on sim/control/')
  }
  const at = parseTopic(topic)
  if (!at.ok) return deny(at.reason)
  const spec = CHANNEL_SPECS[at.channel]
  if (retain && !spec.retain) return deny(`retain is not allowed on ${at.channel}`)
  switch (who.role) {
    case 'device':
      if (spec.publisher !== 'device') return deny(`devices do not publish ${at.channel}`)
      if (at.farm !== who.farm || at.kind !== who.kind || at.device !== who.device) {
        return deny('device may publish only under its own farm/kind/id')
      }
      return ALLOW
    case 'service':
      return spec.publisher === 'operator' ? ALLOW : deny(`services do not publish ${at.channel}`)
    case 'operator':
      if (spec.publisher !== 'operator') return deny(`operators do not publish ${at.channel}`)
      return inScope(who.farms, at.farm) ? ALLOW : deny('farm outside the operator scope')
    case 'viewer':
      return deny('viewers are read-only')
  }
}

/**
 * Subscriptions. A filter's farm level must be a farm in scope, or a wildcard for a role that
 * sees every farm; devices subscribe only to their own `cmd`.
 */
export function canSubscribe(who: Identity, filter: string): Decision {
  if (filter.startsWith('$')) return deny('$ topics are reserved')
  if (filter.startsWith('$share/')) return deny('shared subscriptions are not supported')
  const levels = filter.split('/')
  if (who.role === 'device') {
    const own = `farm/${who.farm}/${who.kind}/${who.device}/cmd`
    return filter === own ? ALLOW : deny('device may subscribe only to its own cmd topic')
  }
  if (levels[0] === 'sim' && (filter === `${SIM_CONTROL_PREFIX}/#` || filter.startsWith(SIM_CONTROL_PREFIX))) {
    if (who.role === 'service') return ALLOW
    if (filter === SIM_STATE) return ALLOW // which farms are training farms, which faults are on
    if (filter === SIM_ACK && who.role === 'operator') return ALLOW
    return deny('only services read simulator control')
  }
  if (levels[0] === '#') return who.role === 'service' ? ALLOW : deny('only services subscribe to everything')
  if (levels[0] !== 'farm') return deny('unknown topic tree')
  if (who.role === 'service') return ALLOW
  const farm = levels[1]
  if (farm === undefined || farm === '#' || farm === '+') {
    return who.farms === '*' ? ALLOW : deny('farm wildcard outside a limited scope')
  }
  return inScope(who.farms, farm) ? ALLOW : deny('farm outside the account scope')
}

/**
 * Whether a message on a concrete topic may reach this account: checked on every delivery
 * (Aedes authorizeForward), so queued messages of a persistent session and subscriptions restored
 * from storage can never leak past the policy above. Cheap string checks only: hot path.
 */
export function canReceive(who: Identity, topic: string): boolean {
  if (topic.charCodeAt(0) === 36) return false // '$': [MQTT-4.7.2-1]
  switch (who.role) {
    case 'service':
      return true
    case 'device':
      return topic === `farm/${who.farm}/${who.kind}/${who.device}/cmd`
    case 'viewer':
    case 'operator': {
      if (topic === SIM_STATE || (topic === SIM_ACK && who.role === 'operator')) return true
      if (who.farms === '*') return topic === 'farm' || topic.startsWith('farm/')
      if (!topic.startsWith('farm/')) return false
      const end = topic.indexOf('/', 5)
      return who.farms.includes(end === -1 ? topic.slice(5) : topic.slice(5, end))
    }
  }
}
