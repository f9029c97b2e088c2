/**
 * Runs the alert service the way the CLI does, in-process, on port 0 and a temporary DATA_DIR,
 * with a clock the test can move forward and a ReadingHub to publish readings into. Stopping and
 * starting again on the same DATA_DIR is a restart. Used by test/alerts-*.test.ts and the bench.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openAccountStore } from '../../registry/accounts-source.js'
import type { AccountStore } from '../../runtime/accounts.js'
import { AuthEnv, Authenticator } from '../../runtime/auth.js'
import { CommonEnv } from '../../runtime/config.js'
import { createHttpServer, type HttpServer } from '../../runtime/http.js'
import { ReadingHub } from '../../runtime/hub.js'
import { silentLogger } from '../../runtime/logger.js'
import { Metrics } from '../../runtime/metrics.js'
import { HealthRegistry } from '../../runtime/health.js'
import type { Service, ServiceContext, ServiceName } from '../../runtime/service.js'
import { openRegistry, type Registry } from '../../registry/index.js'
import { AlertsEnv } from '../config.js'
import { checkOverrides } from '../rules.js'
import { alertsService } from '../service.js'
import { seedRegistry } from './seed.js'

export interface HarnessOptions {
  env?: Record<string, string>
  /** Farms, people and roles in the old contacts.json shape, written into the registry (omit for none). */
  farms?: unknown
  /** PostgreSQL instead of DATA_DIR/registry.sqlite (test/helpers/postgres.ts). */
  databaseUrl?: string
  dataDir?: string
  /** Default ['ingest', 'alerts']: readings come from the hub. */
  running?: ServiceName[]
  mqttUrl?: string
}

export class AlertsHarness {
  readonly hub = new ReadingHub(silentLogger)
  readonly metrics = new Metrics()
  /** Added to the wall clock: tests jump ahead (escalation after 15 minutes) without waiting. */
  offsetMs = 0
  baseUrl = ''
  private http: HttpServer | undefined
  private auth: Authenticator | undefined
  private service: Service | undefined
  private accounts: AccountStore | undefined

  private constructor(
    readonly dataDir: string,
    /** The registry the service reads; a test edits it to change who is told. */
    readonly registry: Registry,
    private readonly opts: HarnessOptions,
    private readonly ownDir: boolean,
  ) {}

  static async start(opts: HarnessOptions = {}): Promise<AlertsHarness> {
    const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'suanyang-alerts-')))
    const registry = await openRegistry({ dataDir, databaseUrl: opts.databaseUrl, checkOverrides })
    if (opts.farms !== undefined && (await registry.audit.latestId()) === 0) await seedRegistry(registry, opts.farms)
    const h = new AlertsHarness(dataDir, registry, opts, opts.dataDir === undefined)
    await h.startService()
    return h
  }

  now = (): number => Date.now() + this.offsetMs

  /** Starts the service (again), with a fresh HTTP server on a new port. */
  async startService(): Promise<void> {
    // Scheduled notices only when a test asks for them: a digest at 18:00 must not slip into a
    // test that counts messages. Work orders by themselves likewise (their assignee is told).
    const env = { DATA_DIR: this.dataDir, ALERTS_DIGEST_CRON: 'off', ALERTS_REMINDER_CRON: 'off', ALERTS_WORK_ORDERS: 'off', ...this.opts.env }
    const common = CommonEnv.parse(env)
    const config = AlertsEnv.parse(env)
    this.http = createHttpServer(silentLogger)
    this.auth?.close()
    this.auth = new Authenticator({ registry: this.registry, config: AuthEnv.parse(env), log: silentLogger, metrics: this.metrics, now: this.now })
    await this.auth.start()
    this.auth.routes(this.http)
    const ctx: ServiceContext = {
      log: silentLogger,
      common,
      metrics: this.metrics,
      http: this.http,
      hub: this.hub,
      accounts: (this.accounts ??= await openAccountStore(this.registry, { dataDir: this.dataDir })),
      registry: this.registry,
      auth: this.auth,
      health: new HealthRegistry(),
      mqttUrl: () => this.opts.mqttUrl ?? '',
      wsPort: () => undefined,
      running: this.opts.running ?? ['ingest', 'alerts'],
      now: this.now,
    }
    this.service = await alertsService.start(config, ctx)
    const port = await this.http.listen(0, '127.0.0.1')
    this.baseUrl = `http://127.0.0.1:${port}`
  }

  async stopService(): Promise<void> {
    await this.service?.close()
    await this.http?.close()
    this.auth?.close()
    this.service = undefined
  }

  async restart(): Promise<void> {
    await this.stopService()
    await this.startService()
  }

  async close(): Promise<void> {
    await this.stopService()
    await this.accounts?.close()
    await this.registry.close()
    if (this.ownDir) await rm(this.dataDir, { recursive: true, force: true })
  }

  /** Resolves once `count` more sweep ticks have completed (to assert that nothing else happens). */
  async sweeps(count: number, timeoutMs = 10_000): Promise<void> {
    const counter = this.metrics.counter('suanyang_alert_sweeps_total', '')
    const target = counter.total() + count
    const deadline = Date.now() + timeoutMs
    while (counter.total() < target) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} alert sweeps`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** Calls the technician API with the token from the env. */
  async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.baseUrl}/alerts/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${this.opts.env?.ALERTS_API_TOKEN ?? ''}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: res.status, json: (await res.json()) as Record<string, unknown> }
  }
}
