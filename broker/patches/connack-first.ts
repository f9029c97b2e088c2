/**
 * [MQTT-3.2.0-1] The first packet the server sends to a client must be CONNACK. Aedes 1.2
 * restores a persistent session's subscriptions before it writes the CONNACK, so a message that
 * arrives in that window (in a Redis cluster: one published on the other node just before) is
 * written first, and mqtt.js then never sees its connection as established (observed: "connack
 * timeout" on resuming a session on node B, test/broker-redis.test.ts). Deliveries to a client
 * are held until its CONNACK has been written, then released in order.
 */
import type { Client } from 'aedes'
import { definePatch, fn, problems, prop } from './patch.js'

type Deliver = (packet: unknown, cb: () => void) => void

interface ClientInternals {
  deliverQoS: Deliver
  deliver0: Deliver
  connackSent: boolean
  closed: boolean
}

/** Call in preConnect, before the session's subscriptions are restored. Returns the release. */
export function holdUntilConnack(client: Client): () => void {
  const c = client as unknown as ClientInternals
  let held: Array<() => void> | undefined = []
  const release = () => {
    const queue = held
    held = undefined
    for (const deliver of queue ?? []) deliver()
  }
  for (const name of ['deliverQoS', 'deliver0'] as const) {
    const original = c[name]
    c[name] = (packet, cb) => {
      if (held === undefined || c.connackSent || c.closed) return original(packet, cb)
      held.push(() => original(packet, cb))
    }
  }
  // A client that closes before its CONNACK: the held callbacks must still run (mqemitter waits).
  client.conn.once('close', release)
  return release
}

export const connackFirst = definePatch({
  name: 'connack-first',
  package: 'aedes',
  versions: ['1.2.0'],
  clause: '[MQTT-3.2.0-1] the first packet from the server to the client is CONNACK',
  check: ({ client }) =>
    problems(
      fn('an Aedes client', client, 'deliverQoS', 2),
      fn('an Aedes client', client, 'deliver0', 2),
      prop('an Aedes client', client, 'connackSent', 'boolean'),
      prop('an Aedes client', client, 'closed', 'boolean'),
      fn("an Aedes client's conn", (client as { conn?: unknown }).conn, 'once', 2),
    ),
  install: holdUntilConnack,
})
