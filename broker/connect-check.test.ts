import mqtt from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { type ConnectFields, MAX_CLIENT_ID_BYTES, checkConnect } from './connect-check.js'
import { fromAedes } from './patches/patch.js'
import { strictParse } from './patches/strict-parse.js'

const good: ConnectFields = { protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'pump-1', username: 'pump-1', password: Buffer.from('s') }
const will = { topic: 'farm/f/pump/pump-1/status', payload: Buffer.from('{}'), qos: 1, retain: true }
const answer = (p: Partial<ConnectFields>) => {
  const v = checkConnect({ ...good, ...p })
  return v.ok ? 'ok' : [v.reason, v.answer]
}

describe('checkConnect', () => {
  it('accepts what devices and services send', () => {
    expect(answer({})).toBe('ok')
    expect(answer({ will })).toBe('ok')
    expect(answer({ will: { ...will, qos: 0, retain: false } })).toBe('ok')
    expect(answer({ protocolId: 'MQIsdp', protocolVersion: 3 })).toBe('ok') // MQTT 3.1, which Aedes speaks
    expect(answer({ clientId: '', clean: true })).toBe('ok') // the account check refuses it later
    expect(answer({ username: undefined, password: undefined })).toBe('ok') // anonymous: refused by authenticate
  })

  it('refuses a Will of QoS 3 without a CONNACK [MQTT-3.1.2-14]', () => {
    expect(answer({ will: { ...will, qos: 3 } })).toEqual(['will QoS 3', 'close'])
  })

  it('refuses a Will topic that is no topic name', () => {
    expect(answer({ will: { ...will, topic: '' } })).toEqual(['will topic: empty topic', 'close'])
    expect(answer({ will: { ...will, topic: 'farm/+/pump/x/status' } })).toEqual(['will topic: wildcard in topic name', 'close'])
    expect(answer({ will: { ...will, topic: 'farm/#' } })).toEqual(['will topic: wildcard in topic name', 'close'])
    expect(answer({ will: { ...will, topic: 'farm/\u0000/status' } })).toEqual(['will topic: string holds U+0000', 'close'])
  })

  it('answers a protocol level it does not support with CONNACK 1 [MQTT-3.1.2-2]', () => {
    expect(answer({ protocolVersion: 3 })).toEqual(['unsupported protocol level', 1])
    expect(answer({ protocolId: 'MQIsdp', protocolVersion: 4 })).toEqual(['unsupported protocol level', 1])
    expect(answer({ protocolVersion: 5 })).toEqual(['unsupported protocol level', 1])
    expect(answer({ bridgeMode: true })).toEqual(['unsupported protocol level', 1])
  })

  it('client id: CONNACK 2 for an empty one on a kept session [MQTT-3.1.3-8] and an overlong one; closed on U+0000', () => {
    expect(answer({ clientId: '', clean: false })).toEqual(['empty client id without clean session', 2])
    expect(answer({ clientId: 'p'.repeat(MAX_CLIENT_ID_BYTES + 1) })).toEqual(['client id too long', 2])
    expect(answer({ clientId: 'p'.repeat(MAX_CLIENT_ID_BYTES) })).toBe('ok')
    expect(answer({ clientId: 'pump-1\u0000' })).toEqual(['malformed client id', 'close'])
  })

  it('username and password [MQTT-3.1.2-22]', () => {
    expect(answer({ username: undefined })).toEqual(['password without username', 'close'])
    expect(answer({ username: 'pump\u0000' })).toEqual(['malformed username', 'close'])
  })
})

/** The CONNECT bytes mqtt-packet writes for this packet, with the connect flags byte replaced. */
function connectBytes(flags?: number, packet: Partial<mqtt.IConnectPacket> = {}): Buffer {
  const buf = mqtt.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'pump-1', clean: true, keepalive: 30, ...packet })
  if (flags !== undefined) buf[9] = flags // 1 + 1 (length) + 6 ("MQTT") + 1 (level)
  return buf
}

/** What the parser Aedes loads (strict-parse.ts installed) makes of these bytes: a packet or an error. */
function parse(buf: Buffer): mqtt.Packet | string {
  strictParse.install()
  const Parser = fromAedes('mqtt-packet/parser') as { parser(): mqtt.Parser }
  const parser = Parser.parser()
  let out: mqtt.Packet | string = 'nothing'
  parser.on('packet', (p) => (out = p))
  parser.on('error', (e) => (out = `error: ${e.message}`))
  parser.parse(buf)
  return out
}

describe('what the parser refuses before checkConnect sees a packet', () => {
  it('the reserved flag bit [MQTT-3.1.2-3], Will QoS or Will Retain without the Will Flag [MQTT-3.1.2-11, -13, -15]', () => {
    expect(parse(connectBytes(0x02))).toMatchObject({ cmd: 'connect' }) // clean session only: fine
    expect(parse(connectBytes(0x03))).toMatch(/^error: .*bit 0/)
    expect(parse(connectBytes(0x02 | 0x08))).toMatch(/^error: Will QoS/)
    expect(parse(connectBytes(0x02 | 0x10))).toMatch(/^error: Will QoS/)
    expect(parse(connectBytes(0x02 | 0x20))).toMatch(/^error: Will Retain/)
    expect(parse(connectBytes(0x02 | 0x04 | 0x18, { will: { topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false } }))).toMatchObject({ will: { qos: 3 } }) // let through: checkConnect's
  })

  it('a protocol name other than MQTT or MQIsdp', () => {
    expect(parse(mqtt.generate({ cmd: 'connect', protocolId: 'MQTX' as 'MQTT', protocolVersion: 4, clientId: 'x', clean: true, keepalive: 30 }))).toMatch(/^error: Invalid protocolId/)
  })

  it('ill-formed UTF-8 and U+0000 in any string [MQTT-1.5.3-1, -2] (strict-parse.ts)', () => {
    const at = (buf: Buffer, find: string) => buf.indexOf(Buffer.from(find))
    for (const bad of [[0xc3], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0x00]]) {
      const id = connectBytes(undefined, { clientId: 'pump-x' })
      id.set(bad, at(id, 'pump-x') + 3)
      expect(parse(id)).toBe('error: malformed UTF-8 string [MQTT-1.5.3-1]')
      const topic = connectBytes(undefined, { will: { topic: 'farm/x', payload: Buffer.alloc(0), qos: 1, retain: false } })
      topic.set(bad, at(topic, 'farm/x') + 2)
      expect(parse(topic)).toBe('error: malformed UTF-8 string [MQTT-1.5.3-1]')
    }
    const ok = connectBytes(undefined, { clientId: 'pump-\uFFFD-ศ' })
    expect(parse(ok)).toMatchObject({ clientId: 'pump-\uFFFD-ศ' }) // U+FFFD well encoded is a character like any
  })

  it('packet identifier 0 [MQTT-2.3.1-1]', () => {
    expect(parse(Buffer.from([0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 0x61, 0x01]))).toBe('error: packet identifier 0 [MQTT-2.3.1-1]')
    expect(parse(Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x01]))).toMatchObject({ cmd: 'subscribe' })
  })
})
