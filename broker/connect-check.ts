/**
 * Every CONNECT field MQTT 3.1.1 constrains, checked before the broker answers: a pure function
 * of the packet as mqtt-packet parsed it. One bad CONNECT must not become a broker state that
 * hurts others later: a Will of QoS 3 was accepted, then published as a PUBLISH with both QoS bits
 * set, which broke every subscriber's stream (issue 13).
 *
 * What the parser already refuses, so it never becomes a packet (connect-check.test.ts proves it
 * against the parser Aedes loads): a protocol name other than MQTT/MQIsdp, the reserved flag bit
 * [MQTT-3.1.2-3], Will QoS or Will Retain without the Will Flag [MQTT-3.1.2-11, -13, -15], fields
 * cut short, and (strict-parse.ts) ill-formed UTF-8 [MQTT-1.5.3-1]. What the parser lets through
 * is checked here. The keepalive range is a limit of this broker, not a rule of the protocol: it
 * is checked with the other limits in hooks.ts.
 */
import { checkString, checkTopicName } from '../runtime/mqtt-rules.js'

/** The CONNECT fields this reads, as mqtt-packet's parser sets them. */
export interface ConnectFields {
  protocolId?: string
  protocolVersion?: number
  bridgeMode?: boolean
  clean?: boolean
  clientId: string
  will?: { topic: string; qos: number; retain: boolean } | undefined
  username?: string | undefined
  password?: Buffer | undefined
}

/**
 * How a refusal is answered: 'close' drops the connection without a CONNACK, as the spec wants
 * for a CONNECT that does not conform to section 3.1 [MQTT-3.1.4-1]; a number is the CONNACK
 * return code to send first.
 */
export type ConnectAnswer = 'close' | 1 | 2

export type ConnectVerdict = { ok: true } | { ok: false; reason: string; clause: string; answer: ConnectAnswer }

/** Longer client ids are refused ([MQTT-3.1.3-5] a server MAY): they are session keys on disk. */
export const MAX_CLIENT_ID_BYTES = 256

const OK: ConnectVerdict = { ok: true }
const refuse = (reason: string, clause: string, answer: ConnectAnswer): ConnectVerdict => ({ ok: false, reason, clause, answer })

export function checkConnect(p: ConnectFields): ConnectVerdict {
  // [MQTT-3.1.2-2] level 4 is MQTT 3.1.1 (name "MQTT"); level 3, MQTT 3.1 (name "MQIsdp"), which
  // Aedes also speaks. Bit 7 of the level (a Mosquitto bridge extension) is no level we support.
  const level = p.protocolVersion
  if (p.bridgeMode === true || !((p.protocolId === 'MQTT' && level === 4) || (p.protocolId === 'MQIsdp' && level === 3))) {
    return refuse('unsupported protocol level', 'MQTT-3.1.2-2', 1)
  }
  if (!checkString(p.clientId).ok) return refuse('malformed client id', 'MQTT-1.5.3-2', 'close')
  if (p.clientId.length === 0 && p.clean !== true) return refuse('empty client id without clean session', 'MQTT-3.1.3-8', 2)
  if (Buffer.byteLength(p.clientId) > MAX_CLIENT_ID_BYTES) return refuse('client id too long', 'MQTT-3.1.3-5', 2)
  const will = p.will
  if (will) {
    if (!(will.qos === 0 || will.qos === 1 || will.qos === 2)) return refuse('will QoS 3', 'MQTT-3.1.2-14', 'close')
    const topic = checkTopicName(will.topic)
    if (!topic.ok) return refuse(`will topic: ${topic.reason}`, 'MQTT-3.1.3-10', 'close')
  }
  // [MQTT-3.1.2-22] no password without a username
  if (p.password !== undefined && p.username === undefined) return refuse('password without username', 'MQTT-3.1.2-22', 'close')
  if (p.username !== undefined && !checkString(p.username).ok) return refuse('malformed username', 'MQTT-3.1.3-11', 'close')
  return OK
}
