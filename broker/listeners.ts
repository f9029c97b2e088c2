/**
 * Network listeners: MQTT over TCP, TLS and WebSocket. Every socket gets TCP_NODELAY (a QoS 1
 * round trip otherwise waits ~40 ms on delayed ACKs) and a frame guard that drops a client the
 * moment it starts an oversized packet.
 */
import { readFileSync } from 'node:fs'
import { type IncomingMessage, type Server as HttpServer, createServer as createHttpServer } from 'node:http'
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net'
import type { Duplex } from 'node:stream'
import { createServer as createTlsServer } from 'node:tls'
import type { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import type { DeadLetterStore } from '../runtime/deadletter.js'
import type { Logger } from '../runtime/logger.js'
import type { Counter } from '../runtime/metrics.js'
import { FrameGuard } from './frame-guard.js'

export interface GuardDeps {
  maxPacketBytes: number
  log: Logger
  limitHits: Counter
  deadLetters: DeadLetterStore
}

/**
 * Inspects bytes as they enter the stream's read buffer (`push` is the Readable implementer's
 * entry point for sockets, TLS sockets and ws duplexes alike), so nothing is copied.
 */
export function guardStream(stream: Duplex, deps: GuardDeps, remote: string): void {
  const guard = new FrameGuard(deps.maxPacketBytes)
  const push = stream.push.bind(stream)
  stream.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk instanceof Uint8Array) {
      const verdict = guard.push(chunk)
      if (!verdict.ok) {
        deps.limitHits.inc({ limit: 'packet_size' })
        const reason = `packet of ${verdict.remainingLength} bytes over the limit of ${deps.maxPacketBytes} from ${remote}: client disconnected`
        deps.log.warn({ remote, packetType: verdict.packetType, bytes: verdict.remainingLength, max: deps.maxPacketBytes }, 'oversized packet: client disconnected')
        deps.deadLetters.add({ stage: 'broker', code: 'too_large', reason })
        stream.destroy()
        return false
      }
    }
    return push(chunk, encoding)
  }
}

const listen = (server: Server | HttpServer, port: number, host: string) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })

export interface Listener {
  name: 'tcp' | 'tls' | 'ws'
  port: number
  close(): Promise<void>
}

function closer(server: Server | HttpServer, sockets: Set<Duplex>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve())
      for (const s of sockets) s.destroy()
    })
}

function track(sockets: Set<Duplex>, s: Duplex): void {
  sockets.add(s)
  s.once('close', () => sockets.delete(s))
}

export async function listenTcp(broker: Aedes, port: number, host: string, deps: GuardDeps): Promise<Listener> {
  const sockets = new Set<Duplex>()
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    track(sockets, socket)
    guardStream(socket, deps, `${socket.remoteAddress}:${socket.remotePort}`)
    broker.handle(socket)
  })
  return { name: 'tcp', port: await listen(server, port, host), close: closer(server, sockets) }
}

export async function listenTls(
  broker: Aedes,
  opts: { port: number; host: string; certPath: string; keyPath: string },
  deps: GuardDeps,
): Promise<Listener> {
  const sockets = new Set<Duplex>()
  const server = createTlsServer({ cert: readFileSync(opts.certPath), key: readFileSync(opts.keyPath) }, (socket) => {
    socket.setNoDelay(true)
    track(sockets, socket)
    guardStream(socket, deps, `${socket.remoteAddress}:${socket.remotePort}`)
    broker.handle(socket)
  })
  return { name: 'tls', port: await listen(server, opts.port, opts.host), close: closer(server as unknown as Server, sockets) }
}

export async function listenWs(broker: Aedes, port: number, host: string, deps: GuardDeps): Promise<Listener> {
  const sockets = new Set<Duplex>()
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with a WebSocket client\n')
  })
  const wss = new WebSocketServer({ server: http, maxPayload: deps.maxPacketBytes + 1024 })
  wss.on('connection', (ws, req: IncomingMessage) => {
    req.socket.setNoDelay(true)
    const stream = createWebSocketStream(ws)
    track(sockets, stream)
    guardStream(stream, deps, `${req.socket.remoteAddress}:${req.socket.remotePort}`)
    broker.handle(stream, req)
  })
  const bound = await listen(http, port, host)
  return {
    name: 'ws',
    port: bound,
    close: async () => {
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await closer(http, sockets)()
    },
  }
}
