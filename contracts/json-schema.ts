import { z } from 'zod'
import { Command, CommandAck, DeviceEvent, PumpTelemetry, SoilTelemetry, Status, WaterbankTelemetry } from './payloads.js'

/** Every payload of the contract as JSON Schema (draft 2020-12), keyed by file name. */
export function jsonSchemas(): Record<string, unknown> {
  const schemas = {
    'pump-telemetry': PumpTelemetry,
    'soil-telemetry': SoilTelemetry,
    'waterbank-telemetry': WaterbankTelemetry,
    status: Status,
    event: DeviceEvent,
    cmd: Command,
    'cmd-ack': CommandAck,
  }
  return Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [
      name,
      { $id: `https://suanyang.dev/schema/v1/${name}.schema.json`, title: name, ...z.toJSONSchema(schema, { io: 'input' }) },
    ]),
  )
}
