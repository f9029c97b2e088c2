/**
 * Composition root: the only file that knows every service. Validates the configuration of all
 * the selected services before starting any, starts them in order (broker first, so the others
 * reach it at its bound port), and closes them in reverse.
 */
import { mkdir } from 'node:fs/promises'
import type { z } from 'zod'
import { checkOverrides } from '../alerts/rules.js'
import { openAccountStore } from '../registry/accounts-source.js'
import { RegistryEnv } from '../registry/config.js'
import { type Registry, openRegistry } from '../registry/index.js'
import type { AccountStore } from '../runtime/accounts.js'
import { AuthEnv, Authenticator } from '../runtime/auth.js'
import { CommonEnv, type Env, loadAll } from '../runtime/config.js'
import { HealthRegistry, diskCheck } from '../runtime/health.js'
import { createHttpServer, sendJson } from '../runtime/http.js'
import { ReadingHub } from '../runtime/hub.js'
import type { Logger } from '../runtime/logger.js'
import { Metrics } from '../runtime/metrics.js'
import { SERVICE_NAMES, type Service, type ServiceContext, type ServiceModule, type ServiceName } from '../runtime/service.js'
import { type DashboardKeeper, DashboardsEnv, keepDashboards } from './dashboards.js'
import { importOnFirstStart } from './import.js'

const LOADERS: Record<ServiceName, () => Promise<ServiceModule>> = {
  broker: async () => (await import('../broker/index.js')).brokerService as unknown as ServiceModule,
  ingest: async () => (await import('../ingest/index.js')).ingestService as unknown as ServiceModule,
  alerts: async () => (await import('../alerts/index.js')).alertsService as unknown as ServiceModule,
  sim: async () => (await import('../firmware-sim/index.js')).simService as unknown as ServiceModule,
  console: async () => (await import('../console/index.js')).consoleService as unknown as ServiceModule,
}

export interface App {
  close(): Promise<void>
  httpPort: number
  info: Partial<Record<ServiceName, Record<string, unknown>>>
  metrics: Metrics
  hub: ReadingHub
  accounts: AccountStore
  /** The registry this process opened (once): SQLite in DATA_DIR, or DATABASE_URL. */
  registry: Registry
}

export interface AppOptions {
  env: Env
  log: Logger
  now?: () => number
}

export async function loadModules(names: readonly ServiceName[]): Promise<ServiceModule[]> {
  const ordered = SERVICE_NAMES.filter((n) => names.includes(n))
  return Promise.all(ordered.map((n) => LOADERS[n]()))
}

export async function startApp(names: readonly ServiceName[], opts: AppOptions): Promise<App> {
  const modules = await loadModules(names)
  // Every variable of every selected service is checked before anything starts.
  const [common, registryConfig, authConfig, dashboardsConfig, ...configs] = loadAll(
    [CommonEnv, RegistryEnv, AuthEnv, DashboardsEnv, ...modules.map((m) => m.env)] as readonly z.ZodType[],
    opts.env,
  ) as [z.output<typeof CommonEnv>, z.output<typeof RegistryEnv>, z.output<typeof AuthEnv>, z.output<typeof DashboardsEnv>, ...unknown[]]
  const now = opts.now ?? Date.now
  const metrics = new Metrics()
  const hub = new ReadingHub(opts.log)
  await mkdir(common.DATA_DIR, { recursive: true })
  const registry = await openRegistry({
    dataDir: common.DATA_DIR,
    databaseUrl: registryConfig.DATABASE_URL,
    checkOverrides,
    onIdleError: (err) => opts.log.warn({ err }, 'an idle registry connection failed'),
  })
  let accounts: AccountStore
  let dashboards: DashboardKeeper | undefined
  try {
    await importOnFirstStart(registry, common.DATA_DIR, opts.env, opts.log)
    accounts = await openAccountStore(registry, { dataDir: common.DATA_DIR })
    // The Grafana dashboards per cooperative, rewritten when the registry changes (DASHBOARDS_DIR).
    if (dashboardsConfig.DASHBOARDS_DIR !== undefined) {
      const log = opts.log.child({ svc: 'dashboards' })
      dashboards = await keepDashboards(registry, dashboardsConfig.DASHBOARDS_DIR, {
        wrote: (r) => log.info({ dir: dashboardsConfig.DASHBOARDS_DIR, folders: r.folders.length, written: r.written.length, removed: r.removed.length }, 'dashboards written'),
        failed: (err) => log.error({ err }, 'dashboards not written'),
      })
    }
  } catch (err) {
    await registry.close()
    throw err
  }
  opts.log.info({ registry: `${registry.dialect}: ${registry.location}`, schemaVersion: registry.schemaVersion }, 'registry open')
  const http = createHttpServer(opts.log.child({ svc: 'http' }))
  const auth = new Authenticator({ registry, config: authConfig, log: opts.log.child({ svc: 'auth' }), metrics, now })
  try {
    await auth.start()
  } catch (err) {
    await registry.close()
    throw err
  }
  auth.routes(http)
  const running: Array<{ name: ServiceName; svc: Service }> = []
  const info: App['info'] = {}
  const started = Date.now()

  const health = new HealthRegistry()
  health.check('disk', diskCheck(common.DATA_DIR, common.HEALTH_DISK_MIN_FREE_MB * 1024 * 1024))
  // 503 with the reasons when degraded: a load balancer or Docker sees it without parsing JSON.
  http.add('GET', '/healthz', async (_req, res) => {
    const v = await health.health()
    const services = running.map((r) => r.name)
    sendJson(res, v.ok ? 200 : 503, { status: v.ok ? 'ok' : 'degraded', reasons: v.reasons, services, uptimeS: Math.round((Date.now() - started) / 1000) })
  })
  http.add('GET', '/readyz', async (_req, res) => {
    const v = await health.readyNow(modules.map((m) => m.name).filter((n) => !running.some((r) => r.name === n)))
    sendJson(res, v.ok ? 200 : 503, { status: v.ok ? 'ready' : 'not ready', reasons: v.reasons })
  })
  http.add('GET', '/metrics', (_req, res) => {
    const body = metrics.render()
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body)
  })
  const httpPort = await http.listen(common.HTTP_PORT, common.HOST)

  let mqttUrl = common.MQTT_URL ?? `mqtt://127.0.0.1:${common.MQTT_PORT}`
  let wsPort: number | undefined
  const closeAll = async () => {
    for (const { name, svc } of running.reverse()) {
      const t0 = Date.now()
      await svc.close().catch((err: unknown) => opts.log.error({ err, svc: name }, 'close failed'))
      opts.log.debug({ svc: name, ms: Date.now() - t0 }, 'service closed')
    }
    running.length = 0
    await http.close()
    auth.close()
    await dashboards?.close()
    await registry.close()
  }
  try {
    for (const [i, mod] of modules.entries()) {
      const ctx: ServiceContext = {
        log: opts.log.child({ svc: mod.name }),
        common,
        metrics,
        http,
        hub,
        accounts,
        registry,
        auth,
        health,
        mqttUrl: () => mqttUrl,
        wsPort: () => wsPort,
        running: modules.map((m) => m.name),
        now,
      }
      const svc = await mod.start(configs[i] as never, ctx)
      running.push({ name: mod.name, svc })
      info[mod.name] = svc.info ?? {}
      if (mod.name === 'broker' && typeof svc.info?.mqttUrl === 'string') mqttUrl = svc.info.mqttUrl
      if (mod.name === 'broker') wsPort = (svc.info?.ports as { ws?: number } | undefined)?.ws
    }
  } catch (err) {
    await closeAll()
    throw err
  }
  opts.log.info({ services: running.map((r) => r.name), httpPort, mqttUrl }, 'started')
  return { close: closeAll, httpPort, info, metrics, hub, accounts, registry }
}
