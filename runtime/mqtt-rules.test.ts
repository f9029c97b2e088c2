import { describe, expect, it } from 'vitest'
import { checkTopicFilter, checkTopicName, topicMatches, wellFormedUtf8 } from './mqtt-rules.js'

describe('MQTT topic names, filters and strings', () => {
  it('names', () => {
    expect(checkTopicName('farm/f/pump/p/telemetry')).toEqual({ ok: true })
    for (const t of ['', 'a/+', 'a/#', '#', 'a\u0000']) expect(checkTopicName(t).ok, t).toBe(false)
  })
  it('filters [MQTT-4.7.1-2, -3]', () => {
    for (const f of ['#', '+', 'farm/+/+/+/status', 'farm/#', '/+/', 'a//b', '+/+']) expect(checkTopicFilter(f).ok, f).toBe(true)
    for (const f of ['', 'a+', '+a', 'a/+b', 'a/#/b', 'a#', '#/', 'a/b#', 'a\u0000']) expect(checkTopicFilter(f).ok, f).toBe(false)
  })
  it('strings: well-formed UTF-8 without U+0000 [MQTT-1.5.3-1, -2]', () => {
    const check = (bytes: number[]) => wellFormedUtf8(Buffer.from(bytes).toString('utf8'), Buffer.from(bytes))
    expect(check([0x61, 0xe0, 0xb8, 0xa8])).toBe(true) // a, ศ
    expect(check([0xef, 0xbf, 0xbd])).toBe(true) // U+FFFD itself, well encoded
    for (const bad of [[0xc3], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x61, 0x00]]) expect(check(bad), String(bad)).toBe(false)
  })
  it('matching [MQTT-4.7.1, 4.7.2-1]', () => {
    const yes = [['#', 'a'], ['a/#', 'a'], ['a/#', 'a/b/c'], ['+/+', 'a/b'], ['farm/+/+/+/status', 'farm/f/pump/p/status'], ['+', ''], ['a/+', 'a/'], ['$SYS/#', '$SYS/x']]
    const no = [['#', '$SYS/x'], ['+/x', '$SYS/x'], ['a/+', 'a'], ['a/+', 'a/b/c'], ['a/b', 'a'], ['farm/+/+/+/status', 'farm/f/pump/p/telemetry']]
    for (const [f, t] of yes) expect(topicMatches(f as string, t as string), `${f} ${t}`).toBe(true)
    for (const [f, t] of no) expect(topicMatches(f as string, t as string), `${f} ${t}`).toBe(false)
  })
})
