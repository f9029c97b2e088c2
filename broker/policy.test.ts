import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Identity } from '../runtime/accounts.js'
import { canReceive, canSubscribe } from './acl.js'
import { clientIdAllowed } from './client-id.js'
import { Metrics } from '../runtime/metrics.js'
import { LogLimiter } from './log-limit.js'
import { ChannelTally } from './metrics.js'

const pump: Identity = { role: 'device', username: 'pump-1', farm: 'ranong-01', kind: 'pump', device: 'pump-1' }
const ingest: Identity = { role: 'service', username: 'ingest' }
const viewerAll: Identity = { role: 'viewer', username: 'console', farms: '*' }
const viewer02: Identity = { role: 'viewer', username: 'trainer', farms: ['ranong-02'] }
const operator01: Identity = { role: 'operator', username: 'tech-a', farms: ['ranong-01'] }

describe('read policy on every delivery (canReceive)', () => {
  it.each<[string, Identity, string, boolean]>([
    ['device its own cmd', pump, 'farm/ranong-01/pump/pump-1/cmd', true],
    ['device another device cmd', pump, 'farm/ranong-01/pump/pump-2/cmd', false],
    ['device telemetry', pump, 'farm/ranong-01/pump/pump-1/telemetry', false],
    ['service anything', ingest, 'farm/x/pump/y/telemetry', true],
    ['service $SYS', ingest, '$SYS/broker/heartbeat', false],
    ['viewer of every farm', viewerAll, 'farm/ranong-09/soil/s/telemetry', true],
    ['viewer outside the farm tree', viewerAll, 'sim/control', false],
    ['limited viewer, its farm', viewer02, 'farm/ranong-02/pump/p/status', true],
    ['limited viewer, a farm whose name extends its own', viewer02, 'farm/ranong-020/pump/p/status', false],
    ['limited viewer, another farm', viewer02, 'farm/ranong-01/pump/p/status', false],
    ['operator cmd/ack of its farm', operator01, 'farm/ranong-01/pump/p/cmd/ack', true],
  ])('%s', (_name, who, topic, allowed) => {
    expect(canReceive(who, topic)).toBe(allowed)
  })

  // A filter matches a topic level by level; '+' one level, '#' the rest ([MQTT-4.7.1]).
  const matches = (filter: string, topic: string): boolean => {
    const f = filter.split('/')
    const t = topic.split('/')
    for (let i = 0; i < f.length; i++) {
      if (f[i] === '#') return true
      if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false
    }
    return f.length === t.length
  }

  it('lets through everything a granted subscription matches', () => {
    // Topics drawn level by level from small sets, so filters and topics often meet.
    const levels = [['farm', 'sim'], ['ranong-01', 'ranong-02', 'control'], ['pump', 'soil'], ['pump-1', 'p2'], ['cmd', 'telemetry'], ['ack']]
    const topicArb = fc.tuple(...levels.map((l) => fc.constantFrom(...l)), fc.integer({ min: 1, max: 6 })).map((t) => {
      const n = t[6] as number
      return (t.slice(0, n) as string[]).join('/')
    })
    const filterArb = fc
      .tuple(topicArb, fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }), fc.option(fc.integer({ min: 0, max: 5 })))
      .map(([topic, pluses, hashAt]) => {
        const f = topic.split('/')
        for (const i of pluses) if (i < f.length) f[i] = '+'
        return hashAt !== null && hashAt < f.length ? [...f.slice(0, hashAt), '#'].join('/') : f.join('/')
      })
    const who = fc.constantFrom(pump, ingest, viewerAll, viewer02, operator01)
    let granted = 0
    fc.assert(
      fc.property(who, filterArb, topicArb, (w, filter, topic) => {
        if (!canSubscribe(w, filter).ok || !matches(filter, topic)) return
        granted++
        expect(canReceive(w, topic), `${w.username} ${filter} ${topic}`).toBe(true)
      }),
      { seed: 42, numRuns: 20_000 },
    )
    expect(granted).toBeGreaterThan(500) // the property was exercised, not vacuous
  })
})

describe('client id ownership', () => {
  const accounts = new Set(['pump', 'pump-1', 'ingest', 'ingest-1-spare'])
  const isAccount = (name: string) => accounts.has(name)

  it.each<[string, string, boolean]>([
    ['pump-1', 'pump-1', true],
    ['pump-1_a', 'pump-1', true],
    ['pump-1-a', 'pump-1', true],
    ['ingest-1', 'ingest', true],
    ['ingest_x', 'ingest', true],
    ['pump-1', 'pump', false], // device pump-1's session
    ['pump-1-x', 'pump', false], // the longer account pump-1 owns it
    ['pump-2', 'pump', true],
    ['ingest-1-spare', 'ingest', false],
    ['other', 'pump', false],
    ['pumpx', 'pump', false],
  ])('%s as %s', (clientId, username, allowed) => {
    const d = clientIdAllowed(clientId, username, isAccount)
    expect(d.ok).toBe(allowed)
    if (!d.ok) expect(d.reason).toMatch(/client id/)
  })
})

describe('log limiter', () => {
  it('logs a key once per interval and reports what it held back', () => {
    const l = new LogLimiter(1_000, 2)
    expect(l.admit('a', 0)).toEqual({ log: true, suppressed: 0 })
    expect(l.admit('a', 10)).toEqual({ log: false })
    expect(l.admit('a', 999)).toEqual({ log: false })
    expect(l.admit('b', 999)).toEqual({ log: true, suppressed: 0 })
    expect(l.admit('a', 1_000)).toEqual({ log: true, suppressed: 2 })
  })

  it('bounds its memory by forgetting the key logged longest ago', () => {
    const l = new LogLimiter(1_000, 2)
    l.admit('a', 0)
    l.admit('b', 1)
    l.admit('c', 2) // forgets a
    expect(l.admit('a', 3)).toEqual({ log: true, suppressed: 0 })
    expect(l.admit('c', 4)).toEqual({ log: false })
  })
})

describe('channel tally', () => {
  it('counts messages and bytes by channel, into the registry only when flushed', () => {
    const registry = new Metrics()
    const messages = registry.counter('m', '')
    const bytes = registry.counter('b', '')
    const tally = new ChannelTally(messages, bytes)
    tally.add('farm/f/pump/p/telemetry', 100)
    tally.add('farm/f/pump/p/telemetry', 50)
    tally.add('farm/f/pump/p/cmd/ack', 10)
    tally.add('sim/control/x', 1)
    expect(messages.total()).toBe(0)
    tally.flush()
    tally.flush() // idempotent
    expect(messages.get({ channel: 'telemetry' })).toBe(2)
    expect(bytes.get({ channel: 'telemetry' })).toBe(150)
    expect(messages.get({ channel: 'cmd/ack' })).toBe(1)
    expect(messages.get({ channel: 'other' })).toBe(1)
  })
})
