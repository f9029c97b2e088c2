/**
 * The process's one HTTP server (HTTP_PORT): health and metrics from the start; services add
 * their routes (webhooks, API, pages). node:http only: the routes are few and fixed.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from './logger.js'

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>

export interface HttpRoutes {
  /** Exact path, or a prefix when `path` ends with `/*`. */
  add(method: string, path: string, handler: Handler): void
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Reads a request body up to `limitBytes`; larger bodies are refused with 413. */
export async function readBody(req: IncomingMessage, limitBytes = 256 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limitBytes) throw new HttpError(413, `body over ${limitBytes} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

export interface HttpServer extends HttpRoutes {
  server: Server
  listen(port: number, host: string): Promise<number>
  close(): Promise<void>
}

export function createHttpServer(log: Logger): HttpServer {
  const exact = new Map<string, Handler>()
  const prefixes: Array<{ method: string; prefix: string; handler: Handler }> = []

  const find = (method: string, path: string): Handler | undefined => {
    const hit = exact.get(`${method} ${path}`)
    if (hit) return hit
    return prefixes.find((p) => p.method === method && path.startsWith(p.prefix))?.handler
  }

  const server = createServer((req, res) => {
    // An absolute-form target that is no URL (`GET http://[ HTTP/1.1`) would throw here, outside
    // any handler, and take the process down (issue 13): the client's mistake, 400.
    if (!URL.canParse(req.url ?? '/', 'http://localhost')) {
      sendJson(res, 400, { error: 'request target is not a URL' })
      return
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')
    const handler = find(method, url.pathname)
    if (!handler) {
      sendJson(res, 404, { error: 'not found' })
      return
    }
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500
        if (status >= 500) log.error({ err, path: url.pathname }, 'http handler failed')
        if (!res.headersSent) sendJson(res, status, { error: status >= 500 ? 'internal error' : (err as Error).message })
        else res.destroy()
      })
  })
  server.keepAliveTimeout = 5_000

  return {
    server,
    add(method, path, handler) {
      if (path.endsWith('/*')) prefixes.push({ method, prefix: path.slice(0, -1), handler })
      else exact.set(`${method} ${path}`, handler)
    },
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve((server.address() as AddressInfo).port)
        })
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
