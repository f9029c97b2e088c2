/**
 * The console server's pure parts: the history buffer, the trainer action
 * schema, content negotiation, the asset table, and the generated technician token.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { TrainerAction } from './api.js'
import { History } from './history.js'
import { acceptsGzip, assetTable, loadAssets } from './static.js'
import { tokenPath, withApiToken } from '../runtime/api-token.js'

const T0 = 1_772_935_200_000
const at = (device: string, farm = 'f1', kind: 'pump' | 'soil' | 'waterbank' = 'pump') => ({ farm, kind, device })

describe('history', () => {
  it('keeps the newest reading and the chart points of every device, by farm', () => {
    const h = new History()
    h.add(at('p2', 'f2'), { ts: T0, pv_w: 1 }, 1)
    h.add(at('p1'), { ts: T0 + 20_000, pv_w: 3 }, 2)
    h.add(at('p1'), { ts: T0, pv_w: 2 }, 3) // replayed: charted, not the latest
    const [p1, p2] = h.snapshot()
    expect(p1).toMatchObject({ device: 'p1', latest: { pv_w: 3 }, receivedMs: 2, series: { t: [T0, T0 + 20_000], v: { pv_w: [2, 3], flow_lpm: [null, null] } } })
    expect(p2?.device).toBe('p2')
  })

  it('holds at most maxDevices devices, and starts afresh for a device that moved farm', () => {
    const h = new History(2)
    h.add(at('a'), { ts: T0 }, 0)
    h.add(at('b'), { ts: T0 }, 0)
    h.add(at('c'), { ts: T0 }, 0)
    expect(h.snapshot().map((d) => d.device)).toEqual(['a', 'b'])
    h.add(at('a', 'f9', 'soil'), { ts: T0 + 1, vwc_pct: 20 }, 0)
    expect(h.snapshot().find((d) => d.device === 'a')).toMatchObject({ farm: 'f9', kind: 'soil', series: { v: { vwc_pct: [20] } } })
  })
})

describe('trainer endpoint', () => {
  it('takes the contract actions and sets its own request id', () => {
    expect(TrainerAction.parse({ action: 'inject', device: 'p-1', fault: 'dry_run', id: 'mine' })).toEqual({ action: 'inject', device: 'p-1', fault: 'dry_run' })
    expect(TrainerAction.safeParse({ action: 'inject', device: 'p-1', fault: 'gremlins' }).success).toBe(false)
    expect(TrainerAction.safeParse({ action: 'speed', speed: 0 }).success).toBe(false)
    expect(TrainerAction.safeParse({ action: 'reboot-everything' }).success).toBe(false)
  })
})

describe('static files', () => {
  it('negotiates gzip', () => {
    expect(acceptsGzip('gzip, deflate, br')).toBe(true)
    expect(acceptsGzip('br;q=1, gzip;q=0')).toBe(false)
    expect(acceptsGzip('*')).toBe(true)
    expect(acceptsGzip(undefined)).toBe(false)
    expect(acceptsGzip('identity')).toBe(false)
  })

  it('serves every module the page imports, and the libraries from node_modules', async () => {
    const routes = assetTable().map((a) => a.route)
    const assets = await loadAssets()
    for (const a of assets.values()) expect(gunzipSync(a.gzip).equals(a.body)).toBe(true)
    // Every relative import in the page's modules has a route: a forgotten one is a 404 in the browser.
    for (const a of assetTable().filter((x) => x.type.startsWith('text/javascript') && !x.route.includes('/vendor/'))) {
      const source = await readFile(a.file, 'utf8')
      for (const m of source.matchAll(/from '\.\/([^']+)'/g)) expect(routes).toContain(`/console/${m[1]}`)
    }
    expect(routes).toEqual(expect.arrayContaining(['/console/', '/console/vendor/mqtt.js', '/console/vendor/uplot.js', '/console/vendor/uplot.css']))
    const html = await readFile(assetTable()[0]?.file ?? '', 'utf8')
    for (const m of html.matchAll(/(?:href|src)="([^"#:]+)"/g)) expect(routes).toContain(`/console/${m[1]}`)
  })
})

describe('technician token of the one-process default', () => {
  it('is generated once into DATA_DIR (0600) and reused; a configured one wins', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'console-token-'))
    try {
      const first = await withApiToken({ OTHER: 'x' }, dir)
      expect(first.generated).toBe(true)
      expect(first.token.length).toBeGreaterThanOrEqual(24)
      expect(first.env).toMatchObject({ OTHER: 'x', ALERTS_API_TOKEN: first.token })
      expect((await stat(tokenPath(dir))).mode & 0o777).toBe(0o600)
      const again = await withApiToken({}, dir)
      expect(again.token).toBe(first.token)
      const given = await withApiToken({ ALERTS_API_TOKEN: 'set-by-operator' }, dir)
      expect(given).toMatchObject({ token: 'set-by-operator', generated: false })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
