/**
 * What a service is: a name, the environment variables it reads (a zod schema), and
 * `start(config, ctx)` that returns `{ close() }` (build separated from listen, fastify style).
 * Services never import each other; they share the contracts and this runtime.
 */
import type { z } from 'zod'
import type { AccountStore } from './accounts.js'
import type { Authenticator } from './auth.js'
import type { CommonConfig } from './config.js'
import type { Health } from './health.js'
import type { HttpRoutes } from './http.js'
import type { ReadingHub } from './hub.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'
import type { Registry } from '../registry/index.js'

export const SERVICE_NAMES = ['broker', 'ingest', 'alerts', 'sim', 'console'] as const
export type ServiceName = (typeof SERVICE_NAMES)[number]

export interface ServiceContext {
  log: Logger
  common: CommonConfig
  metrics: Metrics
  http: HttpRoutes
  /** Accepted readings, in process: ingest publishes, alerts subscribe. */
  hub: ReadingHub
  accounts: AccountStore
  /** The registry (issue 14), opened once per process by the composition root. */
  registry: Registry
  /** Who is asking, on every HTTP call (sessions per person, the installation token): runtime/auth.ts. */
  auth: Authenticator
  /** Where the service reports its health (/healthz) and readiness (/readyz). */
  health: Health
  /** The broker's address: the in-process broker's bound port, else MQTT_URL. */
  mqttUrl(): string
  /** The in-process broker's MQTT-over-WebSocket port, if one runs here. */
  wsPort(): number | undefined
  /** Names of the services started in this process. */
  running: readonly ServiceName[]
  /** Injectable clock, epoch ms. */
  now(): number
}

export interface Service {
  close(): Promise<void>
  /** Facts for the start-up log and for tests (bound ports, URLs). */
  info?: Record<string, unknown>
}

export interface ServiceModule<S extends z.ZodType = z.ZodType> {
  name: ServiceName
  env: S
  start(config: Readonly<z.output<S>>, ctx: ServiceContext): Promise<Service>
}

export const defineService = <S extends z.ZodType>(m: ServiceModule<S>): ServiceModule<S> => m
