/**
 * The field console (issue 8): a page on HTTP_PORT that shows the farms live over MQTT-over-
 * WebSocket once someone signed in (issue 13; per person since issue 14: each session gets a
 * viewer account limited to that person's farms), and acts through signed-in HTTP (the alerts
 * API for alerts and pump commands, this service's trainer endpoint for the simulator).
 */
import { networkInterfaces } from 'node:os'
import type { Handler } from '../runtime/http.js'
import { defineService } from '../runtime/service.js'
import { RegistryWatch } from '../registry/watch.js'
import { ADMIN_BASE, adminRoutes } from './admin.js'
import { consoleRoutes } from './api.js'
import { ConsoleEnv } from './config.js'
import { History } from './history.js'
import { ConsoleLink } from './link.js'
import { BASE, loadAssets, sendAsset } from './static.js'
import { readSavedToken } from '../runtime/api-token.js'

export { ConsoleEnv } from './config.js'

/** The addresses a phone on the farm LAN can use to reach this machine. */
function lanHosts(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host]
  const v4 = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
    .map((i) => i?.address ?? '')
  return ['127.0.0.1', ...v4]
}

export const consoleService = defineService({
  name: 'console',
  env: ConsoleEnv,
  async start(config, ctx) {
    const { log } = ctx
    const assets = await loadAssets()
    const history = new History()
    const link = new ConsoleLink({
      url: ctx.mqttUrl(),
      credentials: await ctx.accounts.serviceCredentials('console', 'service'),
      history,
      timeoutMs: config.CONSOLE_SIM_TIMEOUT_MS,
      now: ctx.now,
      log,
    })
    // The page's read-only account: made (or read) once here, not on every page load.
    const viewer = await ctx.accounts.serviceCredentials('console-viewer', 'viewer')
    // The in-process broker's bound port wins (MQTT_WS_PORT=0 picks a free one).
    const wsPort = ctx.wsPort() ?? config.MQTT_WS_PORT
    // Training farms from the registry, followed live (the simulator's state follows the same flag).
    let training: readonly string[] = []
    const trainingWatch = new RegistryWatch(ctx.registry, {
      read: async (r) => (await r.farms.list({ training: true })).map((f) => f.id),
      onChange: (ids) => (training = ids),
      onError: (err) => log.warn({ err }, 'registry read failed: training farms kept'),
    })
    await trainingWatch.start()
    // The live views' broker accounts follow their people's roles (issue 14).
    ctx.auth.follow()
    const routes = consoleRoutes({
      auth: ctx.auth,
      ws: config.CONSOLE_MQTT_WS_URL ? { url: config.CONSOLE_MQTT_WS_URL } : wsPort > 0 ? { port: wsPort } : {},
      viewer: () => viewer,
      devices: async () => {
        await ctx.accounts.reload(false)
        return ctx.accounts.listDevices()
      },
      alertsApi: config.CONSOLE_ALERTS_API_URL,
      history,
      sim: () => link.simState,
      trainingFarms: () => training,
      control: (action) => link.control(action),
    })

    for (const [route, asset] of assets) ctx.http.add('GET', route, (req, res) => sendAsset(req, res, asset))
    const toPage: Handler = (_req, res) => {
      res.writeHead(302, { location: BASE }).end()
    }
    ctx.http.add('GET', '/console', toPage)
    ctx.http.add('GET', '/', toPage)
    ctx.http.add('GET', `${BASE}config`, routes.config)
    ctx.http.add('GET', `${BASE}api/live`, routes.live)
    ctx.http.add('GET', `${BASE}api/history`, routes.history)
    ctx.http.add('GET', `${BASE}api/session`, routes.session)
    ctx.http.add('GET', `${BASE}api/sim`, routes.simState)
    ctx.http.add('POST', `${BASE}api/sim`, routes.simControl)
    // Administration (issue 14): farms, devices, people and their roles, for admins and leads.
    const admin = adminRoutes({ auth: ctx.auth, registry: ctx.registry, accounts: ctx.accounts, linkTtlMs: config.SIGN_IN_LINK_TTL_HOURS * 3_600_000 })
    for (const method of ['GET', 'POST', 'PATCH', 'PUT', 'DELETE']) ctx.http.add(method, `${ADMIN_BASE}*`, admin)

    if (wsPort === 0 && !config.CONSOLE_MQTT_WS_URL) {
      log.warn('MQTT_WS_PORT=0: the page cannot know the WebSocket port; set MQTT_WS_PORT or CONSOLE_MQTT_WS_URL for live data')
    }
    const port = ctx.common.HTTP_PORT
    const urls = lanHosts(ctx.common.HOST).map((h) => `http://${h}:${port}${BASE}`)
    // A token generated into DATA_DIR on this box goes in the start log as a sign-in link: it rides
    // in the URL fragment, which browsers never send (no access log, no proxy sees it). A token
    // the operator set is never logged.
    const saved = await readSavedToken(ctx.common.DATA_DIR)
    const signIn = saved !== undefined && saved === config.ALERTS_API_TOKEN ? `${urls.at(-1) ?? ''}#token=${saved}` : undefined
    log.info({ urls, actions: config.ALERTS_API_TOKEN !== undefined, ...(signIn ? { signIn } : {}) }, 'field console')

    return {
      info: { path: BASE, urls },
      async close() {
        trainingWatch.close()
        await link.close()
      },
    }
  },
})
