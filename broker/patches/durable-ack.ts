/**
 * A device's QoS 1 PUBLISH is acknowledged only once it is safe. Aedes 1.2 writes the PUBACK
 * before it routes or stores the message (handlers/publish.js), so a broker that dies in between
 * loses a reading the device has already dropped from its buffer. Here the PUBACK waits until
 * every copy queued for a persistent session (ingest's) is acknowledged by that subscriber, which
 * itself acknowledges only after its fsync, or written to the broker's disk (../storage/queue.ts,
 * at most BROKER_QUEUE_FLUSH_MS later). PUBACKs still leave in the order the PUBLISHes came
 * [MQTT-4.6.0-2]. A connection that closes first loses its held PUBACKs: the device sends those
 * readings again, and ingest drops the duplicates by (device, boot, seq).
 *
 * How: Aedes writes every packet with mqtt-packet's `writeToStream`, which fast-write.ts
 * replaces, so PUBACKs to this broker's connections are held there; the `publish` that follows
 * each one (same client, same packet id) says which message it belongs to.
 */
import type { Aedes, Client } from 'aedes'
import type * as MqttPacket from 'mqtt-packet'
import { type Opts, type Stream, installFastWrite, writePacket } from './fast-write.js'
import { definePatch, fn, problems, prop } from './patch.js'
import type { SafetyNotices } from '../storage/queue.js'

interface HeldAck {
  packet: MqttPacket.Packet
  opts: Opts
  ready: boolean
}

interface Connection {
  /** Every held PUBACK of this connection, in the order Aedes wrote them. */
  queue: HeldAck[]
  /** Held PUBACKs whose publish has not started yet, by packet id (a resent PUBLISH can repeat one). */
  awaiting: Map<number, HeldAck[]>
  closed: boolean
}

const connections = new WeakMap<Stream, Connection>()

/** Keeps back PUBACKs to this broker's connections; other streams pass straight through. */
function hold(packet: MqttPacket.Packet, stream: Stream, opts: Opts): boolean {
  const conn = packet.cmd === 'puback' ? connections.get(stream) : undefined
  if (!conn || conn.closed || packet.messageId === undefined) return false
  const held: HeldAck = { packet, opts, ready: false }
  conn.queue.push(held)
  const same = conn.awaiting.get(packet.messageId)
  if (same) same.push(held)
  else conn.awaiting.set(packet.messageId, [held])
  return true
}

function release(conn: Connection, stream: Stream): void {
  while (conn.queue[0]?.ready) {
    const held = conn.queue.shift()!
    if (!conn.closed) writePacket(held.packet, stream, held.opts)
  }
}

interface PublishPacket {
  qos: number
  messageId?: number | undefined
  brokerId?: string
  brokerCounter?: number
}

type Publish = (packet: PublishPacket, client: Client | null, done: (err?: Error | null) => void) => void

export function holdAcksUntilSafe(broker: Aedes, queue: SafetyNotices): void {
  installFastWrite(hold)
  const internals = broker as unknown as { id: string; counter: number; publish: Publish }
  broker.on('client', (client) => connections.set(client.conn as Stream, { queue: [], awaiting: new Map(), closed: false }))
  broker.on('clientDisconnect', (client) => {
    const conn = connections.get(client.conn as Stream)
    if (conn) conn.closed = true
    connections.delete(client.conn as Stream)
  })

  const publish = internals.publish.bind(broker)
  internals.publish = (packet, client, done) => {
    const conn = client && packet.qos === 1 && packet.messageId !== undefined ? connections.get(client.conn as Stream) : undefined
    const same = conn && packet.messageId !== undefined ? conn.awaiting.get(packet.messageId) : undefined
    const held = same?.shift()
    if (!client || !conn || !held) return publish(packet, client, done)
    if (same?.length === 0) conn.awaiting.delete(packet.messageId!)
    // Numbered here, as Aedes would (aedes-packet keeps a number it is given), to know its copies.
    packet.brokerId = internals.id
    packet.brokerCounter = ++internals.counter
    queue.whenSafe(packet.brokerId, packet.brokerCounter, () => {
      held.ready = true
      release(conn, client.conn as Stream)
    })
    publish(packet, client, (err) => {
      // Not routed: no PUBACK. Aedes closes the connection; the device will send it again.
      if (err) queue.cancel(packet.brokerId!, packet.brokerCounter!)
      done(err)
    })
  }
}

export const durableAck = definePatch({
  name: 'durable-ack',
  package: 'aedes',
  versions: ['1.2.0'],
  clause: '[MQTT-4.3.2-2] PUBACK once the server has taken ownership of the message (on disk, or acknowledged by ingest); [MQTT-4.6.0-2] in order',
  storage: 'level',
  // Aedes 1.2 writes a QoS 1 PUBACK before it calls publish() (lib/handlers/publish.js): pinned, and tested.
  check: ({ Aedes, broker, client }) =>
    problems(
      fn('Aedes.prototype', Aedes.prototype, 'publish', 3),
      prop('an Aedes broker', broker, 'id', 'string'),
      prop('an Aedes broker', broker, 'counter', 'number'),
      prop('an Aedes client', client, 'conn', 'object'),
    ),
  install: holdAcksUntilSafe,
})
