/**
 * Aedes 1.2 drops a delivery as a "duplicate" when its broker counter is not above the highest
 * counter that client has seen (`dedupe` in aedes/lib/client.js). That assumes publishes reach
 * subscribers in counter order, but with a persistence that does real I/O (LevelDB, Redis) the
 * offline-queue writes of concurrent publishes complete out of order: measured here, about 2 % of
 * live QoS 1 deliveries to a persistent session were skipped and only arrived at the next reconnect.
 *
 * We switch that check off: a subscriber may then see a rare duplicate, which QoS 1 allows and
 * every consumer here tolerates (ingest drops repeated (device, boot, seq); commands carry an id).
 * Worse than late: a skipped delivery to a persistent session is cleared from its queue
 * (deliverQoS calls outgoingClearMessageId for it), so it never arrives at all.
 */
import type { Client } from 'aedes'
import { definePatch, prop } from './patch.js'

const NEVER_SEEN: Record<string, number> = new Proxy(
  {},
  {
    get: () => 0,
    set: () => true,
  },
)

export function keepOutOfOrderDeliveries(client: Client): void {
  ;(client as unknown as { duplicates: Record<string, number> }).duplicates = NEVER_SEEN
}

export const dedupe = definePatch({
  name: 'dedupe',
  package: 'aedes',
  versions: ['1.2.0'],
  clause: '[MQTT-4.5.0-1] a message the server took ownership of reaches every matching subscription (QoS 1: at least once)',
  check: ({ client }) => {
    const problem = prop('an Aedes client', client, 'duplicates', 'object')
    return problem ? [problem] : []
  },
  install: keepOutOfOrderDeliveries,
})
