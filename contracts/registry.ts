/**
 * One registry of every channel of the contract, keyed by channel (zigbee2mqtt style): the
 * schema, QoS, retain flag and who may publish. Broker ACL, ingest, simulator and alerts read it.
 */
import type { z } from 'zod'
import type { Channel, Kind } from './names.js'
import { Command, CommandAck, DeviceEvent, Status, TELEMETRY } from './payloads.js'

/** Who publishes on a channel: the device itself, or an operator/service sending it commands. */
export type Publisher = 'device' | 'operator'

export interface ChannelSpec {
  qos: 0 | 1
  retain: boolean
  publisher: Publisher
  schemaFor(kind: Kind): z.ZodType
}

export const CHANNEL_SPECS: Readonly<Record<Channel, ChannelSpec>> = {
  telemetry: { qos: 1, retain: false, publisher: 'device', schemaFor: (kind) => TELEMETRY[kind] },
  status: { qos: 1, retain: true, publisher: 'device', schemaFor: () => Status },
  event: { qos: 1, retain: false, publisher: 'device', schemaFor: () => DeviceEvent },
  cmd: { qos: 1, retain: false, publisher: 'operator', schemaFor: () => Command },
  'cmd/ack': { qos: 1, retain: false, publisher: 'device', schemaFor: () => CommandAck },
}
