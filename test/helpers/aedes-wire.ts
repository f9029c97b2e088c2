/**
 * A connection to a real Aedes instance over an in-memory duplex (no socket), for the tests of
 * broker/patches/: each proves its patch on the package it patches. What Aedes writes is read
 * by the strict reader (mqtt-wire.ts); every write() Aedes makes is kept, to count them.
 */
import { duplexPair } from 'node:stream'
import type { Aedes, Client } from 'aedes'
import mqtt from 'mqtt-packet'
import { afterEach } from 'vitest'
import { type Installed, type Patch, installedPackage } from '../../broker/patches/patch.js'
import { type Verdict, verdict } from '../../broker/patches/index.js'
import { probeShapes } from '../../broker/patches/probe.js'
import type { LevelStore } from './level-store.js'
import { type ServerPacket, StrictReader } from './mqtt-wire.js'
import { waitFor } from './wait-for.js'

export interface Wire {
  /** Aedes' Client object for this connection. */
  readonly client: Client
  /** Every packet Aedes sent, in order. */
  readonly packets: ServerPacket[]
  /** Every chunk Aedes wrote to the stream, one per write() call. */
  readonly writes: Buffer[]
  /** What the strict reader refused in Aedes' output (the stream is read no further). */
  readonly malformed: Error[]
  readonly closed: Promise<void>
  send(...packets: Array<Buffer | mqtt.Packet>): void
  /** Resolves once `count` packets of `type` (3 PUBLISH, 4 PUBACK, 9 SUBACK...) have arrived. */
  waitFor(type: number, count?: number): Promise<ServerPacket[]>
  /** Calls `listener` with every packet as it arrives (to look at something at that very moment). */
  onPacket(listener: (packet: ServerPacket) => void): void
  /** Drops the connection without DISCONNECT, as a reset TCP link: Aedes' side sees it close at once. */
  destroy(): void
}

export const PUBLISH = 3
export const PUBACK = 4
export const SUBACK = 9
export const CONNACK = 2

export function attach(broker: Aedes): Wire {
  const [ours, theirs] = duplexPair()
  const reader = new StrictReader()
  const writes: Buffer[] = []
  const write = theirs.write.bind(theirs) as (...args: unknown[]) => boolean
  theirs.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (Buffer.isBuffer(chunk)) writes.push(chunk)
    return write(chunk, ...rest)
  }) as typeof theirs.write
  const listeners: Array<(packet: ServerPacket) => void> = []
  const malformed: Error[] = []
  ours.on('data', (chunk: Buffer) => {
    if (malformed.length > 0) return
    let packets: ServerPacket[]
    try {
      packets = reader.push(chunk)
    } catch (err) {
      malformed.push(err as Error)
      return
    }
    for (const p of packets) for (const listener of listeners) listener(p)
  })
  const closed = new Promise<void>((resolve) => ours.once('close', () => resolve()))
  ours.on('error', () => undefined)
  // A closed side closes the other, as a TCP connection does (Node 20 and 22's pairs do not).
  theirs.once('close', () => ours.destroy())
  ours.once('close', () => theirs.destroy())
  const client = broker.handle(theirs)
  const of = (type: number) => reader.packets.filter((p) => p.type === type)
  return {
    client,
    packets: reader.packets,
    writes,
    malformed,
    closed,
    send: (...packets) => {
      for (const p of packets) ours.write(Buffer.isBuffer(p) ? p : mqtt.generate(p))
    },
    waitFor: (type, count = 1) => waitFor(() => of(type).length >= count && of(type), { timeoutMs: 4_000, message: () => `${count} packet(s) of type ${type} (have ${of(type).length})` }),
    onPacket: (listener) => listeners.push(listener),
    destroy: () => theirs.destroy(),
  }
}

/** Connects as `clientId` and resolves once the CONNACK came. */
export async function connect(broker: Aedes, clientId: string, opts: Partial<mqtt.IConnectPacket> = {}): Promise<Wire> {
  const wire = attach(broker)
  wire.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 30, ...opts })
  await wire.waitFor(CONNACK)
  return wire
}

/** Subscribes at QoS 1 and resolves once the SUBACK came. */
export async function subscribe(wire: Wire, filters: string[], messageId = 1): Promise<void> {
  const before = wire.packets.filter((p) => p.type === SUBACK).length
  wire.send({ cmd: 'subscribe', messageId, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) })
  await wire.waitFor(SUBACK, before + 1)
}

/** The client Aedes has registered under `clientId` (its `clients` table is not in its types). */
export const clientOf = (broker: Aedes, clientId: string): (Client & { connected: boolean }) | undefined =>
  (broker as unknown as { clients: Record<string, (Client & { connected: boolean }) | undefined> }).clients[clientId]

export const closeBroker = (broker: Aedes) => new Promise<void>((resolve) => broker.close(() => resolve()))

/**
 * Closes what a test opened after it, last first (a broker before its store): call once per
 * file, `const opened = closedAfterEach()`, then `const b = opened(await Aedes.createBroker())`.
 */
export function closedAfterEach(): <T extends Aedes | LevelStore>(thing: T) => T {
  const things: Array<Aedes | LevelStore> = []
  afterEach(async () => {
    for (const thing of things.splice(0).reverse()) await ('reopen' in thing ? thing.close() : closeBroker(thing))
  })
  return (thing) => {
    things.push(thing)
    return thing
  }
}

/** The gate's verdict on `patch` for the packages installed here: a version bump fails the patch's own test. */
export function fitsInstalled(patch: Patch): Verdict {
  const installed: Installed | undefined = installedPackage(patch.package)
  return verdict(patch, installed, probeShapes())
}
