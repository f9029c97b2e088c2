import mqtt from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { type Frame, newFrame, readFrame } from './frames.js'

const TOPIC = 'farm/f1/pump/pump-1/status'
const publish = (qos: 0 | 1, messageId = 7) => mqtt.generate({ cmd: 'publish', topic: TOPIC, payload: Buffer.from('{"a":1}'), qos, messageId, retain: false, dup: false })

/** Every packet of the stream, as [kind, reason, messageId, topic]. */
function readAll(buf: Buffer): Array<[string, string, number, string]> {
  const out: Array<[string, string, number, string]> = []
  const f: Frame = newFrame()
  for (let i = 0; i < buf.length; ) {
    const kind = readFrame(buf, i, f)
    out.push([kind, f.reason, f.messageId, f.topic])
    if (kind === 'incomplete' || kind === 'unframeable') break
    i = f.end
  }
  return out
}

describe('readFrame', () => {
  it('a valid PUBLISH, and the control packets a subscriber is sent', () => {
    expect(readAll(Buffer.concat([publish(1), publish(0), mqtt.generate({ cmd: 'pingresp' }), mqtt.generate({ cmd: 'suback', messageId: 1, granted: [1] })]))).toEqual([
      ['publish', '', 7, TOPIC],
      ['publish', '', 0, TOPIC],
      ['control', '', 0, ''],
      ['control', '', 0, ''],
    ])
  })

  it('a malformed PUBLISH is reported with its reason, its packet id when it has one, and the stream goes on', () => {
    const qos3 = publish(1, 9)
    qos3[0] = 0x36 // the Will of QoS 3 that Aedes used to pass on
    const dup0 = publish(0)
    dup0[0] = 0x38
    const badUtf8 = publish(1, 11)
    badUtf8[6] = 0xc3 // a byte of the topic
    const truncated = Buffer.from([0x32, 0x04, 0x00, 0x09, 0x61, 0x62]) // topic longer than the packet
    const noId = Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61])
    const id0 = publish(1, 0)
    expect(readAll(Buffer.concat([qos3, dup0, badUtf8, truncated, noId, id0, publish(1, 12)]))).toEqual([
      ['malformed', 'QoS 3', 9, TOPIC],
      ['malformed', 'DUP on QoS 0', 0, TOPIC],
      ['malformed', 'topic not well-formed UTF-8', 11, expect.stringContaining('\uFFFD')],
      ['malformed', 'truncated topic', 0, ''],
      ['malformed', 'no packet id', 0, 'a'],
      ['malformed', 'packet id 0', 0, TOPIC],
      ['publish', '', 12, TOPIC],
    ])
  })

  it('packets a subscriber is never sent are reported, and skipped by their length', () => {
    const strays = [Buffer.from([0x00, 0x00]), Buffer.from([0xf0, 0x01, 0x00]), mqtt.generate({ cmd: 'pingreq' }), mqtt.generate({ cmd: 'puback', messageId: 3 })]
    expect(readAll(Buffer.concat([...strays, publish(1)])).map((r) => r.slice(0, 2))).toEqual([
      ['malformed', 'unexpected packet type 0'],
      ['malformed', 'unexpected packet type 15'],
      ['malformed', 'unexpected packet type 12'],
      ['malformed', 'unexpected packet type 4'],
      ['publish', ''],
    ])
  })

  it('waits for the rest of a packet cut by the chunk', () => {
    const p = publish(1)
    for (let cut = 1; cut < p.length; cut++) expect(readAll(p.subarray(0, cut))[0]?.[0]).toBe('incomplete')
  })

  it('a remaining length over four bytes loses the stream, but a PUBLISH keeps its packet id', () => {
    const body = publish(1, 300).subarray(2) // topic, id, payload
    const fiveBytes = Buffer.concat([Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x01]), body])
    expect(readAll(fiveBytes)).toEqual([['unframeable', 'remaining length over 4 bytes', 300, TOPIC]])
    expect(readAll(Buffer.from([0x90, 0x80, 0x80, 0x80, 0x80, 0x01]))).toEqual([['unframeable', 'remaining length over 4 bytes', 0, '']])
    expect(readAll(Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]))).toEqual([['unframeable', 'remaining length over 4 bytes', 0, '']]) // id not here yet
  })
})
