/**
 * A broker that accepts the connection but never answers the SUBSCRIBE (aedes on Redis did, for
 * ingest's three filters in one packet, issue 14): ingest is connected and receives nothing,
 * while devices get their PUBACKs. The subscriber must say so and connect again, not sit there.
 */
import { type Socket, createServer } from 'node:net'
import { Writable } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../runtime/logger.js'
import { AckingSubscriber } from './subscriber.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** Answers CONNECT; answers SUBSCRIBE only from connection `answerFrom` on. */
async function silentBroker(answerFrom: number) {
  const server = createServer()
  const sockets: Socket[] = []
  let connections = 0
  server.on('connection', (socket) => {
    const n = ++connections
    sockets.push(socket)
    socket.on('error', () => {})
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (p) => {
      if (p.cmd === 'connect') socket.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }))
      else if (p.cmd === 'subscribe' && n >= answerFrom) socket.write(mqttPacket.generate({ cmd: 'suback', messageId: p.messageId as number, granted: p.subscriptions.map(() => 1) }))
    })
    socket.on('data', (chunk: Buffer) => parser.parse(chunk))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(resolve))))
  return { url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, connections: () => connections }
}

function subscriberOn(url: string) {
  const lines: Array<{ msg?: string }> = []
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString()) as { msg?: string }), done()) })
  const sub = new AckingSubscriber({ url, clientId: 'ingest-x', username: 'ingest', password: 'x', filters: ['farm/+/+/+/telemetry', 'farm/+/+/+/status'], reconnectMinMs: 20, reconnectMaxMs: 50, subackTimeoutMs: 150, log: createLogger('info', sink) })
  cleanups.push(() => sub.close())
  return { sub, errors: () => lines.filter((l) => l.msg?.startsWith('no SUBACK')) }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('AckingSubscriber and an unanswered SUBSCRIBE', () => {
  it('logs it and connects again, until a connection is subscribed; then stays', async () => {
    const broker = await silentBroker(3)
    const { sub, errors } = subscriberOn(broker.url)
    sub.start()
    for (let i = 0; i < 40 && broker.connections() < 3; i++) await sleep(50)
    expect(broker.connections()).toBe(3)
    expect(errors()).toHaveLength(2)
    await sleep(500) // three timeouts' worth: subscribed, nothing more happens
    expect(broker.connections()).toBe(3)
    expect(errors()).toHaveLength(2)
    expect(sub.connected).toBe(true)
  })

  it('a broker that answers at once: one connection, no error', async () => {
    const broker = await silentBroker(1)
    const { sub, errors } = subscriberOn(broker.url)
    sub.start()
    await sleep(500)
    expect([broker.connections(), errors().length]).toEqual([1, 0])
  })
})
