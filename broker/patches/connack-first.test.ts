import { Aedes, type Client } from 'aedes'
import { describe, expect, it } from 'vitest'
import { CONNACK, PUBLISH, type Wire, attach, clientOf, closedAfterEach, connect, fitsInstalled, subscribe } from '../../test/helpers/aedes-wire.js'
import { waitFor } from '../../test/helpers/wait-for.js'
import { connackFirst } from './connack-first.js'

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

const opened = closedAfterEach()

/**
 * Aedes with the patch wired as hooks.ts does, and a persistent session `dev` on `cmd` that is
 * offline. `duringResume` runs when Aedes, resuming that session, has restored its subscriptions
 * but not yet written the CONNACK (it deletes the old Will there, an await on the store).
 */
async function resumableSession(duringResume: (b: Aedes) => Promise<void>) {
  const b = opened(await Aedes.createBroker())
  const releases = new WeakMap<Client, () => void>()
  b.preConnect = (client, _packet, done) => {
    releases.set(client, connackFirst.install(client))
    done(null, true)
  }
  b.on('connackSent', (_packet, client) => releases.get(client)?.())
  const first = await connect(b, 'dev', { clean: false })
  await subscribe(first, ['cmd'])
  first.destroy()
  await waitFor(() => !clientOf(b, 'dev'), { message: 'the first connection gone' })
  const persistence = (b as unknown as { persistence: { delWill(client: Client): Promise<unknown> } }).persistence
  const delWill = persistence.delWill.bind(persistence)
  let resuming = true
  persistence.delWill = async (client) => {
    if (client.id === 'dev' && resuming) {
      resuming = false
      await duringResume(b)
    }
    return delWill(client)
  }
  return b
}

const command = { topic: 'cmd', payload: Buffer.from('{"id":"c1","cmd":"stop"}'), qos: 1 as const, retain: false, dup: false, cmd: 'publish' as const }
const resume = (wire: Wire) => wire.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'dev', clean: false, keepalive: 30 })
/** Aedes writes a delivery one turn after routing it (deliverQoS): three turns are past that. */
const pastTheWrite = async () => {
  for (let i = 0; i < 3; i++) await turn()
}

describe('connack-first on real Aedes [MQTT-3.2.0-1]', () => {
  it('fits the installed aedes', () => {
    expect(fitsInstalled(connackFirst)).toEqual({ ok: true })
  })

  it('a message routed to a resuming session before its CONNACK is written after it', async () => {
    const b = await resumableSession(async (b) => {
      b.publish(command, () => undefined)
      await pastTheWrite()
    })
    const back = attach(b)
    resume(back)
    await back.waitFor(PUBLISH)
    expect(back.packets.map((p) => p.type).slice(0, 2)).toEqual([CONNACK, PUBLISH])
    expect(back.packets[1]?.payload?.toString()).toBe(command.payload.toString())
  })

  it('a connection that closes before its CONNACK releases what was held for it: the publish completes', async () => {
    const back: { wire?: Wire } = {}
    let published = false
    const b = await resumableSession(async (b) => {
      b.publish(command, () => (published = true))
      await pastTheWrite()
      back.wire?.destroy()
      await waitFor(() => back.wire?.client.closed, { message: 'Aedes closing the connection' })
    })
    back.wire = attach(b)
    resume(back.wire)
    await waitFor(() => published, { timeoutMs: 5_000, message: 'the publish to a session that went away to complete' })
  })
})
