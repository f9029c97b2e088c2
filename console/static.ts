/**
 * The page's files, served by the console itself: its own modules from console/public and the two
 * libraries from node_modules (no CDN, nothing fetched from the internet: issue 8). A fixed table,
 * read once at start, gzipped once, revalidated by ETag.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'

const PUBLIC_DIR = join(import.meta.dirname, 'public')
const packageDir = (name: string) => dirname(createRequire(import.meta.url).resolve(`${name}/package.json`))

export const BASE = '/console/'

const JS = 'text/javascript; charset=utf-8'
const PAGE_FILES = ['app.js', 'admin.js', 'alerts.js', 'api.js', 'charts.js', 'commands.js', 'dom.js', 'forms.js', 'i18n.js', 'model.js', 'series.js', 'trainer.js', 'view.js', 'work-orders.js']

/** Route under /console/ -> file and content type. */
export function assetTable(): Array<{ route: string; file: string; type: string }> {
  return [
    { route: BASE, file: join(PUBLIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
    { route: `${BASE}admin.html`, file: join(PUBLIC_DIR, 'admin.html'), type: 'text/html; charset=utf-8' },
    { route: `${BASE}style.css`, file: join(PUBLIC_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
    ...PAGE_FILES.map((f) => ({ route: `${BASE}${f}`, file: join(PUBLIC_DIR, f), type: JS })),
    { route: `${BASE}vendor/mqtt.js`, file: join(packageDir('mqtt'), 'dist/mqtt.esm.js'), type: JS },
    { route: `${BASE}vendor/uplot.js`, file: join(packageDir('uplot'), 'dist/uPlot.esm.js'), type: JS },
    { route: `${BASE}vendor/uplot.css`, file: join(packageDir('uplot'), 'dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
  ]
}

export interface Asset {
  type: string
  body: Buffer
  gzip: Buffer
  etag: string
}

export async function loadAssets(): Promise<Map<string, Asset>> {
  const out = new Map<string, Asset>()
  for (const a of assetTable()) {
    const body = await readFile(a.file)
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    out.set(a.route, { type: a.type, body, gzip: gzipSync(body, { level: 9 }), etag })
  }
  return out
}

/**
 * What the page may load and connect to: its own origin, and MQTT over WebSocket (on the broker's
 * port, which is another origin). Inline scripts and styles are not needed, so not allowed. MQTT.js
 * runs its keepalive timer in a worker made from a blob (background tabs throttle plain timers).
 */
export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

/** Whether the client takes gzip (`Accept-Encoding`, q=0 refuses). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().split(';').map((s) => s.trim())
    if (name !== 'gzip' && name !== '*') return false
    const q = params.find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

export function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers: Record<string, string | number> = {
    'content-type': asset.type,
    etag: asset.etag,
    // Revalidate every time: a changed file shows at the next load, an unchanged one costs a 304.
    'cache-control': 'no-cache',
    vary: 'accept-encoding',
    ...SECURITY_HEADERS,
  }
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers).end()
    return
  }
  const gzip = acceptsGzip(req.headers['accept-encoding'])
  const body = gzip ? asset.gzip : asset.body
  if (gzip) headers['content-encoding'] = 'gzip'
  headers['content-length'] = body.length
  res.writeHead(200, headers)
  res.end(req.method === 'HEAD' ? undefined : body)
}
