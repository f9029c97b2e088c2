import { EventEmitter } from 'node:events'
import type { Client } from 'aedes'
import { describe, expect, it } from 'vitest'
import { holdUntilConnack } from './connack-first.js'

function fakeClient() {
  const written: string[] = []
  const client = {
    connackSent: false,
    closed: false,
    conn: new EventEmitter(),
    deliverQoS: (p: unknown, cb: () => void) => {
      written.push(`qos:${String(p)}`)
      cb()
    },
    deliver0: (p: unknown, cb: () => void) => {
      written.push(`0:${String(p)}`)
      cb()
    },
  }
  return { client, written, asClient: client as unknown as Client }
}

describe('CONNACK first ([MQTT-3.2.0-1])', () => {
  it('holds deliveries until released, then sends them in order; afterwards passes straight through', () => {
    const { client, written, asClient } = fakeClient()
    const release = holdUntilConnack(asClient)
    const acked: string[] = []
    client.deliverQoS('a', () => acked.push('a'))
    client.deliver0('b', () => acked.push('b'))
    expect(written).toEqual([])
    client.connackSent = true
    release()
    expect(written).toEqual(['qos:a', '0:b'])
    expect(acked).toEqual(['a', 'b'])
    client.deliverQoS('c', () => {})
    expect(written).toEqual(['qos:a', '0:b', 'qos:c'])
  })

  it('releases what it held when the connection closes before its CONNACK', () => {
    const { client, written, asClient } = fakeClient()
    holdUntilConnack(asClient)
    let called = false
    client.deliverQoS('x', () => (called = true))
    client.closed = true
    client.conn.emit('close')
    expect(called).toBe(true)
    expect(written).toEqual(['qos:x'])
  })
})
