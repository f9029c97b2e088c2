/**
 * The shapes the patches are checked against, taken from the real packages as the broker uses
 * them: nothing listens, nothing is written to disk, and everything made here is closed again.
 */
import { createRequire } from 'node:module'
import { duplexPair } from 'node:stream'
import { Aedes } from 'aedes'
import { type Shapes, fromAedes } from './patch.js'

export function probeShapes(): Shapes {
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
  }
}
