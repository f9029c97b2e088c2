/**
 * An in-memory index of retained messages in front of aedes-persistence-level, which answers
 * every SUBSCRIBE by decoding and matching *all* retained messages. Each device subscribes to its
 * own `cmd` and has a retained `status`, so N devices reconnecting cost N x N decodes: measured,
 * 500 devices took 6 s to connect, 10,000 would take hours. With the index an exact topic is one
 * Map lookup; filters with wildcards (ingest, the console: a few connections) still take the
 * original path. One process only: under Redis another node's retained messages would be unseen,
 * so it is not used there. Memory: one packet per retained topic (~10,000 status messages: MBs).
 */
import { Readable } from 'node:stream'
import { definePatch, fn, problems } from './patch.js'

export interface RetainedPacket {
  cmd: string
  topic: string
  payload: Buffer
  qos: number
  retain: boolean
}

/** The parts of an aedes 1.x persistence (callback wrapper) this index wraps. */
export interface RetainedStore {
  setup(broker: unknown): Promise<unknown>
  storeRetained(packet: RetainedPacket): Promise<unknown>
  createRetainedStream(pattern: string): Readable
  createRetainedStreamCombi(patterns: string[]): Readable
}

const isFilter = (pattern: string) => pattern.includes('+') || pattern.includes('#')

export function indexRetained(store: RetainedStore): { size(): number } {
  const index = new Map<string, RetainedPacket>()
  const setup = store.setup.bind(store)
  const storeRetained = store.storeRetained.bind(store)
  const combi = store.createRetainedStreamCombi.bind(store)

  store.setup = async (broker: unknown) => {
    const result = await setup(broker)
    for await (const packet of store.createRetainedStream('#') as AsyncIterable<RetainedPacket>) index.set(packet.topic, packet)
    return result
  }
  store.storeRetained = (packet) => {
    // [MQTT-3.3.1-10] a retained message with an empty payload removes the retained message
    if (packet.payload.length === 0) index.delete(packet.topic)
    // A copy: the parsed payload may be a view into the socket's whole read chunk.
    else index.set(packet.topic, { cmd: 'publish', topic: packet.topic, payload: Buffer.from(packet.payload), qos: packet.qos, retain: true })
    return storeRetained(packet)
  }
  store.createRetainedStreamCombi = (patterns) => {
    if (patterns.some(isFilter)) return combi(patterns)
    return Readable.from(patterns.flatMap((p) => index.get(p) ?? []))
  }
  return { size: () => index.size }
}

export const retainedIndex = definePatch({
  name: 'retained-index',
  package: 'aedes-persistence-level',
  versions: ['9.2.0'],
  clause: '[MQTT-3.3.1-6] retained messages on SUBSCRIBE, unchanged; speed: a full scan per SUBSCRIBE made 10,000 devices reconnecting take hours',
  storage: 'level',
  check: ({ persistence }) =>
    problems(
      fn('the persistence', persistence, 'setup', 1),
      fn('the persistence', persistence, 'storeRetained'),
      fn('the persistence', persistence, 'createRetainedStream', 1),
      fn('the persistence', persistence, 'createRetainedStreamCombi', 1),
    ),
  install: indexRetained,
})
