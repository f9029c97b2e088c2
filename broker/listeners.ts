/**
 * Network listeners: MQTT over TCP, TLS and WebSocket. Every socket gets TCP_NODELAY (a QoS 1
 * round trip otherwise waits ~40 ms on delayed ACKs) and a frame guard that drops a client the
 * moment it starts an oversized packet. Each listener caps its open sockets, so a flood of
 * connections that never send CONNECT cannot exhaust file descriptors.
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
import type { Gauge } from '../runtime/metrics.js'
import { FrameGuard } from './frame-guard.js'
import type { LimitReporter } from './hooks.js'

export interface GuardDeps {
  maxPacketBytes: number
  /** Open sockets per listener, CONNECT or not; over it new sockets are dropped at accept. */
  maxSockets: number
  log: Logger
  limit: LimitReporter
  sockets: Gauge
  deadLetters: DeadLetterStore
}

/** A guarded stream's state: one small object a connection, no closures (10,000 idle devices). */
interface Guarded {
  readonly guard: FrameGuard
  readonly deps: GuardDeps
  readonly remote: string
  tripped: boolean
}
const guarded = new WeakMap<Duplex, Guarded>()

/** The `push` every guarded stream shares: the verdict on each chunk, then the stream's own push. */
function guardedPush(this: Duplex, chunk: unknown, encoding?: BufferEncoding): boolean {
  const own = Object.getPrototypeOf(this) as Duplex
  const g = guarded.get(this)
  if (g === undefined) return own.push.call(this, chunk, encoding)
  if (g.tripped) return false // bytes still in flight after the verdict: dropped unread
  if (chunk instanceof Uint8Array) {
    const verdict = g.guard.push(chunk)
    if (!verdict.ok) {
      const { deps, remote } = g
      const reason = `packet of ${verdict.remainingLength} bytes over the limit of ${deps.maxPacketBytes} from ${remote}: client disconnected`
      deps.limit('packet_size', { remote, packetType: verdict.packetType, bytes: verdict.remainingLength, max: deps.maxPacketBytes }, 'oversized packet: client disconnected')
      deps.deadLetters.add({ stage: 'broker', code: 'too_large', reason })
      g.tripped = true
      this.destroy()
      return false
    }
  }
  return own.push.call(this, chunk, encoding)
}

/**
 * Inspects bytes as they enter the stream's read buffer (`push` is the Readable implementer's
 * entry point for sockets, TLS sockets and ws duplexes alike), so nothing is copied. One shared
 * function and a WeakMap entry per stream (the stream's own `push` is its prototype's).
 */
export function guardStream(stream: Duplex, deps: GuardDeps, remote: string): void {
  if (Object.hasOwn(stream, 'push')) throw new Error('guardStream: the stream already has a push of its own')
  guarded.set(stream, { guard: new FrameGuard(deps.maxPacketBytes), deps, remote, tripped: false })
  stream.push = guardedPush
}

/** Sockets corked until the next turn of the event loop. */
const corked = new WeakSet<Socket>()

function uncorkSocket(socket: Socket): void {
  corked.delete(socket)
  socket.uncork()
}

/** The `write` every coalescing socket shares (its own is its prototype's). */
function coalescedWrite(this: Socket, ...args: unknown[]): boolean {
  if (!corked.has(this) && !this.destroyed) {
    corked.add(this)
    this.cork()
    setImmediate(uncorkSocket, this)
  }
  return (Object.getPrototypeOf(this) as { write: (...a: unknown[]) => boolean }).write.apply(this, args)
}

/**
 * Aedes writes each delivery from its own setImmediate callback, and mqtt-packet uncorks on the
 * next tick: one writev system call per message, the broker's largest cost for a subscriber that
 * receives the whole fleet (ingest). Holding the socket corked until the next turn of the event
 * loop sends all the packets written in this turn together. Backpressure is unchanged: write()
 * still reports a full buffer, and 'drain' follows the flush. No closures per socket.
 */
export function coalesceWrites(socket: Socket): void {
  if (Object.hasOwn(socket, 'write')) throw new Error('coalesceWrites: the socket already has a write of its own')
  socket.write = coalescedWrite as Socket['write']
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

function track(name: Listener['name'], sockets: Set<Duplex>, s: Duplex, deps: GuardDeps): void {
  sockets.add(s)
  deps.sockets.inc({ listener: name })
  s.once('close', () => {
    sockets.delete(s)
    deps.sockets.inc({ listener: name }, -1)
  })
}

/** Caps accepted sockets; Node drops the ones over the cap before we see them ('drop'). */
function capSockets(name: Listener['name'], server: Server | HttpServer, deps: GuardDeps): void {
  server.maxConnections = deps.maxSockets
  server.on('drop', (data?: { remoteAddress?: string }) =>
    deps.limit('max_sockets', { listener: name, remote: data?.remoteAddress, max: deps.maxSockets }, 'socket dropped: too many open sockets'),
  )
}

export async function listenTcp(broker: Aedes, port: number, host: string, deps: GuardDeps): Promise<Listener> {
  const sockets = new Set<Duplex>()
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    track('tcp', sockets, socket, deps)
    guardStream(socket, deps, `${socket.remoteAddress}:${socket.remotePort}`)
    coalesceWrites(socket)
    broker.handle(socket)
  })
  capSockets('tcp', server, deps)
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
    track('tls', sockets, socket, deps)
    guardStream(socket, deps, `${socket.remoteAddress}:${socket.remotePort}`)
    coalesceWrites(socket)
    broker.handle(socket)
  })
  // A failed handshake (wrong CA, plain MQTT on the TLS port) never reaches Aedes: log it here.
  server.on('tlsClientError', (err, socket) => deps.log.debug({ err: err.message, remote: socket.remoteAddress }, 'tls handshake failed'))
  capSockets('tls', server as unknown as Server, deps)
  return { name: 'tls', port: await listen(server, opts.port, opts.host), close: closer(server as unknown as Server, sockets) }
}

export async function listenWs(broker: Aedes, port: number, host: string, deps: GuardDeps): Promise<Listener> {
  const sockets = new Set<Duplex>()
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with a WebSocket client\n')
  })
  const wss = new WebSocketServer({ server: http, maxPayload: deps.maxPacketBytes + 1024 })
  // ws re-emits the HTTP server's errors here: unhandled, a port in use would end the process
  // instead of failing the start (listen() below rejects with it).
  wss.on('error', (err) => deps.log.debug({ err: err.message }, 'websocket listener error'))
  wss.on('connection', (ws, req: IncomingMessage) => {
    req.socket.setNoDelay(true)
    const stream = createWebSocketStream(ws)
    track('ws', sockets, stream, deps)
    guardStream(stream, deps, `${req.socket.remoteAddress}:${req.socket.remotePort}`)
    broker.handle(stream, req)
  })
  capSockets('ws', http, deps)
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
