import { Aedes } from 'aedes'
import { describe, expect, it } from 'vitest'
import { PUBACK, PUBLISH, attach, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { encodePublishRaw } from '../../test/helpers/mqtt-wire.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { fastParse } from './fast-parse.js'
import { strictParse } from './strict-parse.js'

const opened = closedAfterEach()

/** Aedes with both parser patches, as the broker runs, and the errors that closed connections. */
async function strictBroker() {
  fastParse.install()
  strictParse.install()
  const b = opened(await Aedes.createBroker())
  const errors: string[] = []
  b.on('clientError', (_client, err) => errors.push(err.message))
  b.on('connectionError', (_client, err) => errors.push(err.message))
  const ingest = await connect(b, 'ingest')
  await subscribe(ingest, ['#'])
  return { b, errors, ingest }
}

describe('strict-parse on real Aedes', () => {
  it('fits the installed mqtt-packet', () => {
    expect(fitsInstalled(strictParse)).toEqual({ ok: true })
  })

  it('a PUBLISH with packet id 0 [MQTT-2.3.1-1] or an ill-formed UTF-8 topic [MQTT-1.5.3-1] closes the connection, and nothing is passed on', async () => {
    const { b, errors, ingest } = await strictBroker()
    for (const bad of [encodePublishRaw(0x32, 'farm/f1/pump/p1/telemetry', 0, Buffer.from('{}')), encodePublishRaw(0x32, Buffer.from([0x66, 0xc3]), 7, Buffer.from('{}'))]) {
      const device = await connect(b, 'pump-1')
      device.send(bad)
      await device.closed
      expect(device.packets.filter((p) => p.type === PUBACK)).toEqual([])
    }
    expect(errors).toEqual(['packet identifier 0 [MQTT-2.3.1-1]', 'malformed UTF-8 string [MQTT-1.5.3-1]'])
    // A good one still goes through, after them.
    const device = await connect(b, 'pump-1')
    device.send(encodePublishRaw(0x32, 'farm/f1/pump/p1/telemetry', 9, Buffer.from('ok')))
    await device.waitFor(PUBACK)
    const delivered = await ingest.waitFor(PUBLISH)
    expect(delivered.map((p) => p.payload?.toString())).toEqual(['ok'])
  })

  it('a CONNECT whose client id holds U+0000 [MQTT-1.5.3-2] gets no CONNACK', async () => {
    const { b, errors } = await strictBroker()
    const device = attach(b)
    device.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'pump\u00001', clean: true, keepalive: 30 })
    await device.closed
    expect(device.packets).toEqual([])
    await waitFor(() => errors.length > 0)
    expect(errors).toEqual(['malformed UTF-8 string [MQTT-1.5.3-1]'])
  })
})
