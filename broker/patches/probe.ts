/**
 * The shapes the patches are checked against, taken from the real packages as the broker uses
 * them: nothing listens, nothing is written to disk, and everything made here is closed again.
 */
import { createRequire } from 'node:module'
import { duplexPair } from 'node:stream'
import { Aedes } from 'aedes'
import { type Shapes, fromAedes } from './patch.js'

const fromProject = createRequire(import.meta.url)

/** What the level probe queues: its key and encoding are compared with queue-store.ts's. */
const PROBE = { clientId: 'probe/client:1', brokerId: 'probe-broker', brokerCounter: 42 }

/** aedes-persistence-level on a store that only records what it is asked to write. */
function levelProbe(): Pick<Shapes, 'persistence' | 'queuedWrite' | 'sessionWrites'> {
  const writes: Array<{ key: string; value: unknown }> = []
  const batches: Array<Array<{ key: string }>> = []
  const recorder = {
    put: (key: string, value: unknown) => {
      writes.push({ key, value })
      return Promise.resolve()
    },
    batch: (ops: Array<{ key: string }>) => {
      batches.push(ops)
      return Promise.resolve()
    },
  }
  const create = fromProject('aedes-persistence-level') as (db: unknown) => object
  const persistence = create(recorder)
  const store = (persistence as { asyncPersistence?: Record<string, ((...args: object[]) => Promise<unknown>) | undefined> }).asyncPersistence
  const packet = { cmd: 'publish', topic: 'probe/topic', payload: Buffer.from('probe'), qos: 1, retain: false, brokerId: PROBE.brokerId, brokerCounter: PROBE.brokerCounter }
  // The write happens synchronously inside the call (before its first await); a failure leaves `writes` empty.
  store?.outgoingEnqueue?.({ clientId: PROBE.clientId }, packet).catch(() => undefined)
  const [write] = writes
  // And what session-index.ts reads back at start: a subscription, an inbound QoS 2 packet, a Will.
  const client = { id: PROBE.clientId }
  store?.addSubscriptions?.(client, [{ topic: 'probe/+/cmd', qos: 1 }]).catch(() => undefined)
  store?.incomingStorePacket?.(client, { ...packet, qos: 2, messageId: 7 }).catch(() => undefined)
  store?.putWill?.(client, { ...packet, topic: 'probe/will' }).catch(() => undefined)
  const sessionWrites = { clientId: PROBE.clientId, subscription: batches[0]?.[0]?.key, incoming: writes[1]?.key, will: writes[2]?.key }
  return { persistence, queuedWrite: write && { ...write, ...PROBE }, sessionWrites }
}

export function probeShapes(storage: 'level' | 'redis'): Shapes {
  const mqttPacket = fromAedes('mqtt-packet') as object
  const Parser = fromAedes('mqtt-packet/parser') as { prototype: object; parser(): object }
  const Packet = fromAedes('mqtt-packet/packet') as unknown
  const BufferList = (createRequire(fromAedes.resolve('mqtt-packet/parser'))('bl') as { BufferList?: unknown }).BufferList
  const broker = new Aedes({}) // constructed only: no timers, no persistence until listen()
  const [ours, theirs] = duplexPair()
  const client = broker.handle(theirs)
  client.close()
  ours.destroy()
  ;(broker as unknown as { mq: { close(cb: () => void): void } }).mq.close(() => undefined)
  return {
    mqttPacket,
    Parser,
    parser: Parser.parser(),
    Packet,
    BufferList,
    Aedes,
    broker,
    client,
    ...(storage === 'level' ? levelProbe() : {}),
  }
}
