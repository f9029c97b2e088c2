import { describe, expect, it } from 'vitest'
import type { Identity } from '../runtime/accounts.js'
import { canPublish, canSubscribe } from './acl.js'

const pump: Identity = { role: 'device', username: 'pump-1', farm: 'ranong-01', kind: 'pump', device: 'pump-1' }
const soil: Identity = { role: 'device', username: 'soil-1', farm: 'ranong-01', kind: 'soil', device: 'soil-1' }
const ingest: Identity = { role: 'service', username: 'ingest' }
const viewerAll: Identity = { role: 'viewer', username: 'console', farms: '*' }
const viewer02: Identity = { role: 'viewer', username: 'trainer', farms: ['ranong-02'] }
const operator01: Identity = { role: 'operator', username: 'tech-a', farms: ['ranong-01'] }

const own = 'farm/ranong-01/pump/pump-1'

// [who, topic, retain, allowed]
const publishTable: Array<[string, Identity, string, boolean, boolean]> = [
  ['device telemetry on its own topic', pump, `${own}/telemetry`, false, true],
  ['device retained status (birth/will)', pump, `${own}/status`, true, true],
  ['device event', pump, `${own}/event`, false, true],
  ['device command ack', pump, `${own}/cmd/ack`, false, true],
  ['device as another device', pump, 'farm/ranong-01/pump/pump-2/telemetry', false, false],
  ['device on another farm', pump, 'farm/ranong-02/pump/pump-1/telemetry', false, false],
  ['device under another kind', pump, 'farm/ranong-01/soil/pump-1/telemetry', false, false],
  ['device forging a status for another device', soil, `${own}/status`, true, false],
  ['device sending itself a command', pump, `${own}/cmd`, false, false],
  ['device retained telemetry', pump, `${own}/telemetry`, true, false],
  ['device wildcard publish', pump, 'farm/ranong-01/pump/+/telemetry', false, false],
  ['device $SYS', pump, '$SYS/broker/heartbeat', false, false],
  ['device unknown channel', pump, `${own}/debug`, false, false],
  ['device outside the farm tree', pump, 'hello/world', false, false],
  ['device simulator control', pump, 'sim/control', false, false],
  ['service command', ingest, `${own}/cmd`, false, true],
  ['service forging telemetry', ingest, `${own}/telemetry`, false, false],
  ['operator command on its farm', operator01, `${own}/cmd`, false, true],
  ['operator command on another farm', operator01, 'farm/ranong-02/pump/pump-9/cmd', false, false],
  ['operator forging telemetry', operator01, `${own}/telemetry`, false, false],
  ['operator simulator control', operator01, 'sim/control', false, true],
  ['operator forging a simulator ack', operator01, 'sim/control/ack', false, false],
  ['operator forging the simulator state', operator01, 'sim/control/state', true, false],
  ['service (the simulator) answering', ingest, 'sim/control/ack', false, true],
  ['viewer command', viewerAll, `${own}/cmd`, false, false],
  ['viewer anything', viewer02, 'farm/ranong-02/pump/p/telemetry', false, false],
]

const subscribeTable: Array<[string, Identity, string, boolean]> = [
  ['device its own cmd', pump, `${own}/cmd`, true],
  ['device another cmd', pump, 'farm/ranong-01/pump/pump-2/cmd', false],
  ['device wildcard cmd', pump, 'farm/ranong-01/pump/+/cmd', false],
  ['device telemetry of others', pump, 'farm/+/+/+/telemetry', false],
  ['device everything', pump, '#', false],
  ['service every farm', ingest, 'farm/+/+/+/telemetry', true],
  ['service one farm', ingest, 'farm/ranong-01/+/+/status', true],
  ['service simulator control', ingest, 'sim/control/#', true],
  ['service $SYS', ingest, '$SYS/#', false],
  ['viewer of every farm, wildcard', viewerAll, 'farm/+/+/+/telemetry', true],
  ['viewer of every farm, #', viewerAll, 'farm/#', true],
  ['limited viewer, its farm', viewer02, 'farm/ranong-02/#', true],
  ['limited viewer, wildcard farm', viewer02, 'farm/+/pump/+/telemetry', false],
  ['limited viewer, other farm', viewer02, 'farm/ranong-01/#', false],
  ['limited viewer, #', viewer02, '#', false],
  ['operator acks on its farm', operator01, 'farm/ranong-01/pump/+/cmd/ack', true],
  ['operator other farm', operator01, 'farm/ranong-03/pump/+/cmd/ack', false],
  ['viewer simulator control', viewerAll, 'sim/control', false],
  ['viewer simulator state', viewerAll, 'sim/control/state', true],
  ['operator simulator acks', operator01, 'sim/control/ack', true],
  ['viewer simulator acks', viewerAll, 'sim/control/ack', false],
  ['device simulator state', pump, 'sim/control/state', false],
  ['viewer shared subscription', viewerAll, '$share/g/farm/#', false],
]

describe('publish ACL', () => {
  it.each(publishTable)('%s', (_name, who, topic, retain, allowed) => {
    const d = canPublish(who, topic, retain)
    expect(d.ok).toBe(allowed)
    if (!d.ok) expect(d.reason).toBeTruthy()
  })
})

describe('subscribe ACL', () => {
  it.each(subscribeTable)('%s', (_name, who, filter, allowed) => {
    expect(canSubscribe(who, filter).ok).toBe(allowed)
  })
})
