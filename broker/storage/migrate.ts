/**
 * A DATA_DIR written by the broker before broker/storage/ (aedes-persistence-level 9's layout,
 * msgpack values) is converted once, at the first start: retained messages, subscriptions,
 * queued messages (in their order), wills and QoS 2 packets move to our keys (README.md) and
 * the old keys are deleted, a record at a time, in batches that each hold both halves, so an
 * interrupted conversion resumes at the next start. Packet-id records are dropped (ids live in
 * memory now). A store that has our layout marker is not scanned.
 */
import { createRequire } from 'node:module'
import type { Level } from 'level'
import { encodeJson, encodePacket } from './codec.js'

const require = createRequire(import.meta.url)

const OLD = { retained: 'retained:', subscriptions: 'subscriptions:', outgoing: 'outgoing:', outgoingId: 'outgoing-id:', incoming: 'incoming:', will: 'will:' }
const BATCH = 1_000

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }

/** msgpack-lite as aedes-persistence-level decodes it; needed only when there is something to convert. */
function msgpackDecoder(): (b: Buffer) => Record<string, unknown> {
  const fromLevel = createRequire(require.resolve('aedes-persistence-level'))
  const msgpack = fromLevel('msgpack-lite') as { decode(b: Buffer): Record<string, unknown> }
  return (b) => msgpack.decode(b)
}

/** The part after `prefix` up to the next ':' (a URI-encoded client id), and the rest. */
function split(key: string, prefix: string): [string, string] {
  const rest = key.slice(prefix.length)
  const colon = rest.indexOf(':')
  return colon < 0 ? [rest, ''] : [rest.slice(0, colon), rest.slice(colon + 1)]
}

/** Our key for an old one (undefined: dropped), given the record decoded. */
function convert(key: string, value: Record<string, unknown>, seq: () => number): Op | undefined {
  if (key.startsWith(OLD.retained)) return { type: 'put', key: `r:${key.slice(OLD.retained.length)}`, value: encodePacket(value) }
  if (key.startsWith(OLD.subscriptions)) return { type: 'put', key: `s:${key.slice(OLD.subscriptions.length)}`, value: encodeJson(value) }
  if (key.startsWith(OLD.outgoingId)) return undefined
  if (key.startsWith(OLD.outgoing)) {
    const [client] = split(key, OLD.outgoing)
    return { type: 'put', key: `q:${client}:${String(seq()).padStart(16, '0')}`, value: encodePacket({ ...value, messageId: undefined }) }
  }
  if (key.startsWith(OLD.incoming)) {
    const [client, id] = split(key, OLD.incoming)
    return { type: 'put', key: `i:${client}:${String(Number(id)).padStart(5, '0')}`, value: encodePacket(value) }
  }
  if (key.startsWith(OLD.will)) return { type: 'put', key: `w:${key.slice(OLD.will.length)}`, value: encodePacket(value) }
  return undefined
}

/** Converts what is in the old layout; returns the records converted by kind, or undefined when there was none. */
export async function migrateOldLayout(db: Level<string, Buffer>, layoutKey = 'm:layout'): Promise<Record<string, number> | undefined> {
  if ((await db.get(layoutKey)) !== undefined) return undefined
  let decode: ((b: Buffer) => Record<string, unknown>) | undefined
  // Old queued messages keep their order (the old keys sort by broker id, then counter) and
  // sort before anything queued from now on (sequence numbers from the clock, in µs).
  let n = 0
  const seq = () => ++n
  const counts: Record<string, number> = {}
  let ops: Op[] = []
  for (const prefix of Object.values(OLD)) {
    for await (const [key, value] of db.iterator({ gte: prefix, lt: `${prefix.slice(0, -1)};` })) {
      decode ??= msgpackDecoder()
      const op = convert(key, decode(value), seq)
      if (op) ops.push(op)
      ops.push({ type: 'del', key })
      const kind = prefix.slice(0, -1)
      counts[kind] = (counts[kind] ?? 0) + 1
      if (ops.length >= BATCH) {
        await db.batch(ops)
        ops = []
      }
    }
  }
  if (ops.length > 0) await db.batch(ops)
  return Object.keys(counts).length > 0 ? counts : undefined
}
