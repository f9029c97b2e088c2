import { CHANNELS, type Channel, type Kind, isId, isKind } from './names.js'

/** Where a message belongs: one device's one channel. */
export interface Address {
  farm: string
  kind: Kind
  device: string
}

export interface TopicAddress extends Address {
  channel: Channel
}

export type TopicParse = ({ ok: true } & TopicAddress) | { ok: false; reason: string }

const PREFIX = 'farm'

export function topicOf(at: Address, channel: Channel): string {
  return `${PREFIX}/${at.farm}/${at.kind}/${at.device}/${channel}`
}

/**
 * Parses a concrete topic (never a filter: `+` and `#` are rejected, [MQTT-3.3.2-2]).
 * Returns a reason instead of throwing: topics come from untrusted clients.
 */
export function parseTopic(topic: string): TopicParse {
  if (topic.includes('+') || topic.includes('#')) return { ok: false, reason: 'wildcard in topic' }
  const parts = topic.split('/')
  if (parts.length < 5 || parts.length > 6) return { ok: false, reason: 'topic is not farm/{farm}/{kind}/{device}/{channel}' }
  const [prefix, farm = '', kind = '', device = '', ...rest] = parts
  if (prefix !== PREFIX) return { ok: false, reason: 'topic does not start with farm/' }
  if (!isId(farm)) return { ok: false, reason: 'invalid farm id' }
  if (!isKind(kind)) return { ok: false, reason: 'unknown device kind' }
  if (!isId(device)) return { ok: false, reason: 'invalid device id' }
  const channel = rest.join('/')
  if (!(CHANNELS as readonly string[]).includes(channel)) return { ok: false, reason: 'unknown channel' }
  return { ok: true, farm, kind, device, channel: channel as Channel }
}

/** Subscription filters. `farm` may be '+' for every farm. */
export function filterOf(channel: Channel, opts: { farm?: string; kind?: Kind } = {}): string {
  return `${PREFIX}/${opts.farm ?? '+'}/${opts.kind ?? '+'}/+/${channel}`
}
