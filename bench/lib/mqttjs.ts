/**
 * mqtt.js (the client ingest and the field console use) in the shape the broker tests need:
 * connect as an account over tcp, tls or ws, and learn whether a publish was acknowledged or
 * cost the connection (MQTT 3.1.1 has no negative PUBACK: a refused publish closes it).
 */
import { randomBytes } from 'node:crypto'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { ISubackPacket } from 'mqtt-packet'

export interface Account {
  username: string
  password: string
}

/** A client id this account owns: its name, `_`, a random suffix (see broker/client-id.ts). */
export const ownClientId = (username: string) => `${username}_${randomBytes(4).toString('hex')}`

export function connectAs(url: string, who: Account, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    username: who.username,
    password: who.password,
    clientId: ownClientId(who.username),
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...opts,
  })
}

export type PublishOutcome = 'acked' | 'closed'

/** QoS 1 publish: 'acked' on PUBACK, 'closed' when the broker drops the connection instead. */
export function publishOutcome(client: MqttClient, topic: string, payload: string | Buffer, retain = false): Promise<PublishOutcome> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve('closed')
    const onClose = () => resolve('closed')
    client.once('close', onClose)
    client.publish(topic, payload, { qos: 1, retain }, (err) => {
      if (err) return // the close handler answers
      client.off('close', onClose)
      resolve('acked')
    })
  })
}

/** One SUBSCRIBE with every filter at QoS 1; resolves with the SUBACK return codes (128 = refused). */
export function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }])), (err, _granted, packet) => {
      const suback = packet as ISubackPacket | undefined
      if (suback?.granted) resolve(suback.granted as number[])
      else reject(err ?? new Error('no SUBACK'))
    })
  })
}

/** Every message a client receives, with a wait for one that matches. */
export function collect(client: MqttClient): {
  messages: Array<{ topic: string; payload: string; retain: boolean }>
  waitFor(match: (m: { topic: string; payload: string; retain: boolean }) => boolean, timeoutMs?: number): Promise<{ topic: string; payload: string; retain: boolean }>
} {
  const messages: Array<{ topic: string; payload: string; retain: boolean }> = []
  const waiters: Array<() => void> = []
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain })
    for (const w of waiters.splice(0)) w()
  })
  return {
    messages,
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms (have ${messages.length})`)), timeoutMs)
        const check = () => {
          const hit = messages.find(match)
          if (hit) {
            clearTimeout(timer)
            resolve(hit)
          } else waiters.push(check)
        }
        check()
      })
    },
  }
}

/**
 * Connects with the message listener already attached: a resumed session's queued messages can
 * arrive in the same read as the CONNACK, before a listener added after `connectAsync` exists.
 * `reconnect`: retry as ingest does (a CONNACK that does not come, a refused connection).
 */
export async function connectCollecting(url: string, who: Account, opts: IClientOptions & { reconnect?: boolean } = {}): Promise<{ client: MqttClient; inbox: ReturnType<typeof collect> }> {
  const { reconnect = false, ...rest } = opts
  const client = mqtt.connect(url, {
    username: who.username,
    password: who.password,
    clientId: ownClientId(who.username),
    protocolVersion: 4,
    reconnectPeriod: reconnect ? 1_000 : 0,
    connectTimeout: 10_000,
    ...rest,
  })
  const inbox = collect(client)
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    if (!reconnect) client.once('error', reject)
    else client.on('error', () => {}) // retried; the caller's own wait bounds it
  })
  return { client, inbox }
}

export const closeAll = async (clients: Array<MqttClient | undefined>): Promise<void> => {
  await Promise.all(clients.map((c) => (c ? c.endAsync(true) : Promise.resolve())))
}
