import { Aedes } from 'aedes'
import { describe, expect, it } from 'vitest'
import { PUBACK, PUBLISH, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { openLevelStore } from '../../test/helpers/level-store.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { dedupe } from './dedupe.js'

const opened = closedAfterEach()

describe('dedupe on real Aedes and aedes-persistence-level [MQTT-4.5.0-1]', () => {
  it('fits the installed aedes', () => {
    expect(fitsInstalled(dedupe)).toEqual({ ok: true })
  })

  it('a persistent session gets every QoS 1 message, though their store writes finish out of order', async () => {
    const store = opened(await openLevelStore())
    const b = opened(await Aedes.createBroker({ persistence: store.persistence as never }))
    b.preConnect = (client, _packet, done) => {
      dedupe.install(client) // as hooks.ts: before the session's subscriptions are restored
      done(null, true)
    }
    let routed = 0
    b.published = (_packet, client, done) => {
      if (client) routed++ // called once every delivery of the message was written (or skipped)
      done(null)
    }
    const ingest = await connect(b, 'ingest', { clean: false })
    await subscribe(ingest, ['farm/+/status', 'farm/+/telemetry'])
    const device = await connect(b, 'pump-1')
    // A retained status is stored (a LevelDB put) before it is routed; the telemetry after it is
    // not, so it overtakes it: Aedes alone then skipped the status as a duplicate.
    const PAIRS = 30
    for (let i = 0; i < PAIRS; i++) {
      device.send(
        { cmd: 'publish', topic: 'farm/f1/status', payload: Buffer.from(`status ${i}`), qos: 1, messageId: 2 * i + 1, retain: true, dup: false },
        { cmd: 'publish', topic: 'farm/f1/telemetry', payload: Buffer.from(`reading ${i}`), qos: 1, messageId: 2 * i + 2, retain: false, dup: false },
      )
    }
    await device.waitFor(PUBACK, 2 * PAIRS)
    await waitFor(() => routed === 2 * PAIRS, { message: () => `${2 * PAIRS} messages routed (have ${routed})` })
    const got = new Set(ingest.packets.filter((p) => p.type === PUBLISH).map((p) => p.payload?.toString()))
    expect(got.size).toBe(2 * PAIRS)
  })
})
