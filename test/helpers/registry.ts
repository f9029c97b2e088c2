/**
 * Fresh registries on both databases for one test file: SQLite in a temp DATA_DIR, and an empty
 * database on one real PostgreSQL server (./postgres.ts), started on first use and shared by the
 * file's tests. `close()` in afterAll stops it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Registry, type RegistryOptions, openRegistry } from '../../registry/index.js'
import { type PostgresHandle, startPostgres } from './postgres.js'

export const DIALECTS = ['sqlite', 'postgres'] as const
export type TestDialect = (typeof DIALECTS)[number]

/** Where one test's registry lives: pass it as DATA_DIR (and DATABASE_URL) to a CLI. */
export interface StoreLocation {
  dataDir: string
  databaseUrl: string | undefined
  env: Record<string, string>
}

export interface RegistryStores {
  fresh(dialect: TestDialect): Promise<StoreLocation>
  open(at: StoreLocation, options?: Partial<RegistryOptions>): Promise<Registry>
  /** A fresh store, opened; closed with the others at `close()`. */
  registry(dialect: TestDialect, options?: Partial<RegistryOptions>): Promise<Registry>
  close(): Promise<void>
}

export function registryStores(): RegistryStores {
  let server: Promise<PostgresHandle> | undefined
  const dirs: string[] = []
  const open: Registry[] = []
  const stores: RegistryStores = {
    async fresh(dialect) {
      const dataDir = await mkdtemp(join(tmpdir(), 'suanyang-registry-'))
      dirs.push(dataDir)
      if (dialect === 'sqlite') {
        const env: Record<string, string> = { DATA_DIR: dataDir }
        return { dataDir, databaseUrl: undefined, env }
      }
      server ??= startPostgres()
      const databaseUrl = await (await server).createDatabase()
      return { dataDir, databaseUrl, env: { DATA_DIR: dataDir, DATABASE_URL: databaseUrl } }
    },
    async open(at, options = {}) {
      const registry = await openRegistry({ dataDir: at.dataDir, databaseUrl: at.databaseUrl, ...options })
      open.push(registry)
      return registry
    },
    async registry(dialect, options) {
      return stores.open(await stores.fresh(dialect), options)
    },
    async close() {
      await Promise.all(open.splice(0).map((r) => r.close().catch(() => undefined)))
      if (server) await (await server).close()
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
    },
  }
  return stores
}
