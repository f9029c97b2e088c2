/**
 * Trainer control over MQTT: the simulator subscribes to `sim/control`, applies each valid
 * message to the fleet, answers on `sim/control/ack`, and keeps `sim/control/state` (retained)
 * up to date. A bad message is answered and logged, never thrown.
 */
import { type MqttClient, connect } from 'mqtt'
import { describeIssues } from '../contracts/decode.js'
import { SIM_ACK_TOPIC, SIM_CONTROL_TOPIC, SIM_STATE_TOPIC, type SimAck, SimControl } from '../contracts/sim-control.js'
import type { Credentials } from '../runtime/accounts.js'
import type { Logger } from '../runtime/logger.js'
import type { Fleet } from './fleet.js'

const STATE_MAX_BYTES = 60 * 1024

/** Parses and applies one control message. Pure apart from the fleet it changes. */
export function applyControl(fleet: Fleet, raw: Buffer): SimAck {
  let json: unknown
  try {
    json = JSON.parse(raw.toString('utf8'))
  } catch {
    return { ok: false, error: 'malformed JSON' }
  }
  const parsed = SimControl.safeParse(json)
  if (!parsed.success) {
    const id = (json as { id?: unknown } | null)?.id
    return { ...(typeof id === 'string' && id.length <= 64 ? { id } : {}), ok: false, error: describeIssues(parsed.error).slice(0, 256) }
  }
  return fleet.control(parsed.data)
}

export interface ControlChannel {
  /** Publishes the retained state again (after a timed fault, for example). */
  publishState(): void
  close(): Promise<void>
}

export function startControl(opts: { url: string; credentials: Credentials | undefined; fleet: Fleet; log: Logger; clientId: string }): ControlChannel {
  const { fleet, log } = opts
  const client: MqttClient = connect(opts.url, {
    protocolVersion: 4,
    clientId: opts.clientId,
    ...(opts.credentials ? { username: opts.credentials.username, password: opts.credentials.password } : {}),
    clean: true,
    keepalive: 30,
    reconnectPeriod: 2_000,
  })
  const publishState = () => {
    if (!client.connected) return
    const state = fleet.state()
    let text = JSON.stringify(state)
    // Keep under the broker's payload limit: a very large fleet lists its training farms only.
    if (text.length > STATE_MAX_BYTES) text = JSON.stringify({ ...state, farms: state.farms.filter((f) => f.training) })
    client.publish(SIM_STATE_TOPIC, text, { qos: 1, retain: true }, (err) => {
      if (err) log.warn({ err: err.message }, 'could not publish simulator state')
    })
  }
  client.on('connect', () => {
    client.subscribe(SIM_CONTROL_TOPIC, { qos: 1 }, (err) => {
      if (err) log.warn({ err: err.message }, 'could not subscribe to sim/control')
    })
    publishState()
  })
  client.on('error', (err) => log.debug({ err: err.message }, 'sim control connection error'))
  client.on('message', (topic, payload) => {
    if (topic !== SIM_CONTROL_TOPIC) return
    const ack = applyControl(fleet, payload)
    if (!ack.ok) log.warn({ error: ack.error }, 'sim control message refused')
    client.publish(SIM_ACK_TOPIC, JSON.stringify(ack), { qos: 1 }, () => {})
    publishState()
  })
  return {
    publishState,
    close: () =>
      new Promise<void>((resolve) => {
        // A stopped simulator leaves no stale picture of itself: an empty retained message clears it.
        if (client.connected) client.publish(SIM_STATE_TOPIC, '', { qos: 1, retain: true }, () => {})
        client.end(false, {}, () => resolve())
        // Without a broker a graceful end never completes.
        setTimeout(() => client.end(true, {}, () => resolve()), 2_000).unref()
      }),
  }
}
