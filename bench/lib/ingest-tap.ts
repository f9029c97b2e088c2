/**
 * A measuring proxy in front of the real influxd: the moment influxd answers 2xx to a write, the
 * lines in it are stored (in its WAL, and queryable). For each line, stored time minus the time
 * the reading was published (its `ts`, set by the load generator from the wall clock) is the
 * end-to-end latency; every reading is measured, not a sample of probes.
 * It also does the shim's job (test/helpers/influx-shim.ts): `/api/v2/write?bucket=db/rp` for
 * ingest becomes influxd 1.6's `/write?db=&rp=`. `/write` (Node-RED's 1.x node) passes through.
 * Upstream connections are kept alive with no limit, so a client's concurrency reaches influxd
 * as it is (Node-RED's one-write-per-message included).
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import { mapV2Write } from '../../test/helpers/influx-shim.js'
import { LatencyHistogram, sentMsOfLine } from './ingest-latency.js'

const gunzipAsync = promisify(gunzip)

export interface TapDbStats {
  /** Write requests by answer status (0: influxd unreachable). */
  statuses: Record<string, number>
  linesStored: number
  linesRefused: number
  /** Stored lines that carried no sent time (should stay 0). */
  linesUntimed: number
  bytesIn: number
  inFlight: number
  maxInFlight: number
  firstStoredMs: number | undefined
  lastStoredMs: number | undefined
  /** Latency of lines published at or after `measureFromMs`. */
  latency: LatencyHistogram
  /** influxd's own time per write request (forwarded to answered). */
  writeMs: LatencyHistogram
  measureFromMs: number
  /** Stored lines per second of wall clock (index = second since the first). */
  perSecond: number[]
}

export interface InfluxTap {
  readonly url: string
  stats(db: string): TapDbStats
  /** Latency is kept only for readings published at or after this time (skips the warm-up). */
  measureFrom(db: string, ms: number): void
  close(): Promise<void>
}

const DROPPED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'authorization'])

function forwardHeaders(h: IncomingHttpHeaders, bodyLength: number, upstream: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !DROPPED.has(k)) out[k] = v
  out.host = upstream
  out['content-length'] = String(bodyLength)
  return out
}

function newStats(): TapDbStats {
  return {
    statuses: {},
    linesStored: 0,
    linesRefused: 0,
    linesUntimed: 0,
    bytesIn: 0,
    inFlight: 0,
    maxInFlight: 0,
    firstStoredMs: undefined,
    lastStoredMs: undefined,
    latency: new LatencyHistogram(),
    writeMs: new LatencyHistogram(),
    measureFromMs: 0,
    perSecond: [],
  }
}

export async function startInfluxTap(upstream: { host: string; port: number }): Promise<InfluxTap> {
  const byDb = new Map<string, TapDbStats>()
  const stats = (db: string): TapDbStats => {
    let s = byDb.get(db)
    if (!s) byDb.set(db, (s = newStats()))
    return s
  }
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity })
  const upstreamHost = `${upstream.host}:${upstream.port}`

  const record = async (s: TapDbStats, body: Buffer, gzipped: boolean, where: 'timestamp' | 'field', storedMs: number) => {
    const text = (gzipped ? await gunzipAsync(body) : body).toString('utf8')
    s.firstStoredMs ??= storedMs
    s.lastStoredMs = Math.max(s.lastStoredMs ?? 0, storedMs)
    const second = Math.floor((storedMs - s.firstStoredMs) / 1000)
    let n = 0
    for (const line of text.split('\n')) {
      if (line.length === 0 || line.startsWith('#')) continue
      n++
      const sent = sentMsOfLine(line, where)
      if (sent === undefined) s.linesUntimed++
      else if (sent >= s.measureFromMs) s.latency.add(storedMs - sent)
    }
    s.linesStored += n
    s.perSecond[second] = (s.perSecond[second] ?? 0) + n
  }

  const countLines = async (s: TapDbStats, body: Buffer, gzipped: boolean) => {
    const text = (gzipped ? await gunzipAsync(body) : body).toString('utf8')
    s.linesRefused += text.split('\n').filter((l) => l.length > 0).length
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://tap')
    let path = req.url ?? '/'
    let db: string | undefined
    let where: 'timestamp' | 'field' = 'field'
    if (url.pathname === '/api/v2/write') {
      const mapped = mapV2Write(url.searchParams)
      if (!mapped.ok) {
        req.resume()
        res.writeHead(mapped.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: mapped.reason }))
        return
      }
      path = mapped.path
      db = new URLSearchParams(mapped.path.slice(mapped.path.indexOf('?') + 1)).get('db') ?? ''
      // ingest writes precision=ms with the device's ts as the point's time
      where = url.searchParams.get('precision') === 'ms' ? 'timestamp' : 'field'
    } else if (url.pathname === '/write') {
      db = url.searchParams.get('db') ?? ''
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('error', () => res.destroy())
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const s = db === undefined ? undefined : stats(db)
      if (s) {
        s.bytesIn += body.length
        s.inFlight++
        s.maxInFlight = Math.max(s.maxInFlight, s.inFlight)
      }
      const gzipped = /gzip/i.test(String(req.headers['content-encoding'] ?? ''))
      const forwardedMs = performance.now()
      const up = request(
        { host: upstream.host, port: upstream.port, method: req.method, path, headers: forwardHeaders(req.headers, body.length, upstreamHost), agent },
        (upRes) => {
          const status = upRes.statusCode ?? 502
          const storedMs = Date.now()
          s?.writeMs.add(performance.now() - forwardedMs)
          const answer: Buffer[] = []
          upRes.on('data', (c: Buffer) => answer.push(c))
          upRes.on('end', () => {
            const headers: Record<string, string | string[]> = {}
            for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !DROPPED.has(k)) headers[k] = v
            const out = Buffer.concat(answer)
            headers['content-length'] = String(out.length)
            res.writeHead(status, headers).end(out)
            if (!s) return
            s.inFlight--
            s.statuses[status] = (s.statuses[status] ?? 0) + 1
            const work = status >= 200 && status < 300 ? record(s, body, gzipped, where, storedMs) : countLines(s, body, gzipped)
            work.catch(() => {})
          })
        },
      )
      up.on('error', () => {
        if (s) {
          s.inFlight--
          s.statuses['0'] = (s.statuses['0'] ?? 0) + 1
        }
        res.destroy()
      })
      up.end(body)
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    measureFrom(db, ms) {
      stats(db).measureFromMs = ms
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        agent.destroy()
      }),
  }
}
