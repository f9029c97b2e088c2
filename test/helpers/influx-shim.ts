/**
 * HTTP shim in front of a real influxd 1.6, which lacks `/api/v2/write`. It does what InfluxDB
 * 1.8's compatibility layer does: `/api/v2/write?bucket=db/rp&precision=ns|us|ms|s` becomes
 * `/write?db=&rp=&precision=n|u|ms|s` with the body (gzip included: influxd 1.6 reads
 * `Content-Encoding: gzip` itself) passed through, and influxd's status and body passed back.
 * Everything else is proxied unchanged. Tests can simulate outages with `setMode`.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * ok: proxy. down: 503. 500: 500. 429: 429. hang: accept and never answer (until close).
 * reset: destroy the connection without answering (like a crashed server). 401, 403: InfluxDB
 * 2.x's answers to a bad token. 404: `404 page not found` on writes, with no version header (as
 * InfluxDB 1.6/1.7, which have no /api/v2/write, answer behind a proxy); /ping still proxied.
 */
export type ShimMode = 'ok' | 'down' | '500' | '429' | 'hang' | 'reset' | '401' | '403' | '404'

export interface ShimModeOptions {
  /** Retry-After header (seconds) on 429 and 503 answers; none by default. */
  retryAfterS?: number
  /** Retry-After as an HTTP-date instead (RFC 9110 10.2.3), `retryAfterS` from now. */
  retryAfterAsDate?: boolean
  /** Answer this many more writes as before, then switch (to catch a client between two writes). */
  afterWrites?: number
}

export interface ShimRequest {
  method: string
  /** Path and query as the client sent them. */
  url: string
  isWrite: boolean
  /** The request's Content-Encoding (the client gzips bodies over its gzipThreshold). */
  contentEncoding: string | undefined
  /** Sent with Transfer-Encoding: chunked. */
  chunked: boolean
  /** Answer status; 0 when the connection was reset or the request is still hanging. */
  status: number
  mode: ShimMode
  atMs: number
}

export interface InfluxShim {
  /** Base URL for `new InfluxDB({ url })`. */
  readonly url: string
  readonly mode: ShimMode
  setMode(mode: ShimMode, options?: ShimModeOptions): void
  /** Requests received since start or the last resetCounters(), whatever their outcome. */
  readonly requests: number
  /** `/api/v2/write` requests received, whatever their outcome. */
  readonly writes: number
  /** The last 1000 requests, oldest first. */
  readonly log: readonly ShimRequest[]
  resetCounters(): void
  close(): Promise<void>
}

export type V2WriteMapping = { ok: true; path: string } | { ok: false; status: number; reason: string }

// v2 precision names; 1.x spells nanoseconds and microseconds n and u.
const PRECISION_V2_TO_V1: Record<string, string> = { ns: 'n', us: 'u', ms: 'ms', s: 's' }

/** Pure: the 1.x `/write` path for a v2 write query string (1.8's compatibility rules). */
export function mapV2Write(search: URLSearchParams): V2WriteMapping {
  const bucket = search.get('bucket') ?? ''
  if (bucket === '') return { ok: false, status: 400, reason: 'bucket is required' }
  const slash = bucket.indexOf('/')
  const db = slash === -1 ? bucket : bucket.slice(0, slash)
  const rp = slash === -1 ? '' : bucket.slice(slash + 1)
  const precisionV2 = search.get('precision') ?? 'ns'
  const precision = PRECISION_V2_TO_V1[precisionV2]
  if (precision === undefined) return { ok: false, status: 400, reason: `invalid precision "${precisionV2}"` }
  const params = new URLSearchParams({ db })
  if (rp !== '') params.set('rp', rp)
  params.set('precision', precision)
  const consistency = search.get('consistency')
  if (consistency !== null) params.set('consistency', consistency)
  return { ok: true, path: `/write?${params.toString()}` }
}

const LOG_LIMIT = 1000
// Hop-by-hop and credentials: influxd runs with auth off, so the v2 token goes nowhere.
const DROPPED_REQUEST_HEADERS = new Set(['host', 'authorization', 'connection', 'keep-alive'])
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive'])

const SIMULATED: Partial<Record<ShimMode, number>> = { down: 503, '500': 500, '429': 429, '401': 401, '403': 403 }
// InfluxDB 2.x's bodies for these; the others say who made them up
const BODIES: Partial<Record<ShimMode, object>> = {
  '401': { code: 'unauthorized', message: 'unauthorized access' },
  '403': { code: 'forbidden', message: 'insufficient permissions for write' },
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

function retryAfterHeader(options: ShimModeOptions): Record<string, string> {
  const s = options.retryAfterS
  if (s === undefined) return {}
  return { 'retry-after': options.retryAfterAsDate === true ? new Date(Date.now() + s * 1000).toUTCString() : String(s) }
}

export async function startInfluxShim(upstream: { host: string; port: number }): Promise<InfluxShim> {
  let mode: ShimMode = 'ok'
  let modeOptions: ShimModeOptions = {}
  let next: { mode: ShimMode; options: ShimModeOptions; afterWrites: number } | undefined
  let requests = 0
  let writes = 0
  let log: ShimRequest[] = []

  const record = (req: IncomingMessage, isWrite: boolean): ShimRequest => {
    const entry: ShimRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      isWrite,
      contentEncoding: req.headers['content-encoding'],
      chunked: /chunked/i.test(req.headers['transfer-encoding'] ?? ''),
      status: 0,
      mode,
      atMs: Date.now(),
    }
    log.push(entry)
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT)
    return entry
  }

  const proxy = (req: IncomingMessage, res: ServerResponse, path: string, entry: ShimRequest) => {
    const headers: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !DROPPED_REQUEST_HEADERS.has(name)) headers[name] = value
    }
    headers.host = `${upstream.host}:${upstream.port}`
    // agent: false, a fresh connection each time: a pooled socket would be stale after an influxd restart.
    const upstreamReq = request(
      { host: upstream.host, port: upstream.port, method: req.method, path, headers, agent: false },
      (upstreamRes) => {
        const responseHeaders: Record<string, string | string[]> = {}
        for (const [name, value] of Object.entries(upstreamRes.headers)) {
          if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) responseHeaders[name] = value
        }
        entry.status = upstreamRes.statusCode ?? 502
        res.writeHead(entry.status, responseHeaders)
        upstreamRes.pipe(res)
      },
    )
    // influxd stopped: the client sees a dropped connection, as it would from a dead server.
    upstreamReq.on('error', () => {
      entry.status = 0
      req.socket.destroy()
    })
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy()
    })
    req.pipe(upstreamReq)
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://shim')
    const isWrite = url.pathname === '/api/v2/write'
    requests++
    if (isWrite) writes++
    if (isWrite && next && next.afterWrites-- <= 0) {
      mode = next.mode
      modeOptions = next.options
      next = undefined
    }
    const entry = record(req, isWrite)
    if (mode === 'hang') return
    if (mode === 'reset') {
      req.socket.destroy()
      return
    }
    const simulated = SIMULATED[mode]
    if (simulated !== undefined) {
      entry.status = simulated
      const retryAfter = simulated === 503 || simulated === 429 ? retryAfterHeader(modeOptions) : {}
      req.resume()
      sendJson(res, simulated, BODIES[mode] ?? { error: `simulated by the test shim (mode ${mode})` }, retryAfter)
      return
    }
    if (mode === '404' && isWrite) {
      entry.status = 404
      req.resume()
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('404 page not found\n')
      return
    }
    if (!isWrite) {
      proxy(req, res, req.url ?? '/', entry)
      return
    }
    const mapped = mapV2Write(url.searchParams)
    if (!mapped.ok) {
      entry.status = mapped.status
      req.resume()
      sendJson(res, mapped.status, { error: mapped.reason })
      return
    }
    proxy(req, res, mapped.path, entry)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode
    },
    setMode(to, options = {}) {
      if (options.afterWrites !== undefined && options.afterWrites > 0) next = { mode: to, options, afterWrites: options.afterWrites }
      else {
        mode = to
        modeOptions = options
        next = undefined
      }
    },
    get requests() {
      return requests
    },
    get writes() {
      return writes
    },
    get log() {
      return log
    },
    resetCounters() {
      requests = 0
      writes = 0
      log = []
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Hanging requests and keep-alive sockets would hold close() open forever.
        server.closeAllConnections()
      }),
  }
}
