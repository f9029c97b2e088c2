/**
 * Issue 14: the broker's accounts come from the registry, on SQLite and on a real PostgreSQL.
 * A device added with `suanyang device add` (a separate process) is accepted by the running
 * broker within a second; one removed is refused and its live connection closed within a
 * second. Two broker processes on one PostgreSQL (+ Redis) share the accounts: a device added
 * by another process logs in on both, and its removal closes its sessions on both. And an installation that still has accounts.json is imported on its first
 * start, after which the file is not read any more.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAs, publishOutcome } from '../bench/lib/mqttjs.js'
import { writeAccountsJson } from './helpers/accounts.js'
import { type TestApp, addDevice, makeDataDir, runCli, startTestApp } from './helpers/app.js'
import { type Daemon, freePort } from './helpers/daemon.js'
import { startRedis } from './helpers/redis.js'
import { DIALECTS, registryStores } from './helpers/registry.js'
import { type ServiceProcess, startServiceProcess } from './helpers/service-process.js'
import { waitFor } from './helpers/wait-for.js'

const stores = registryStores()
afterAll(() => stores.close())

const urlOf = (app: TestApp) => `mqtt://127.0.0.1:${app.mqttPort}`

/** Resolves when the socket closes; `closed()` says whether it has. */
function watchClose(client: MqttClient): { closed: () => boolean } {
  let closed = false
  client.once('close', () => (closed = true))
  return { closed: () => closed }
}

describe.each(DIALECTS)('accounts from the registry on %s', (dialect) => {
  let app: TestApp
  let env: Record<string, string>
  beforeAll(async () => {
    const at = await stores.fresh(dialect)
    env = at.env
    app = await startTestApp(['broker'], at.databaseUrl ? { DATABASE_URL: at.databaseUrl } : {}, at.dataDir)
    expect(app.logs.find('registry open').at(-1)).toMatchObject({ registry: expect.stringMatching(new RegExp(`^${dialect}: `)) as unknown })
  })
  afterAll(() => app?.stop())

  it('a device added by `suanyang device add` (another process) logs in within 1 s; removed, it is refused and its live connection closed within 1 s', async () => {
    const added = await addDevice(app.dataDir, 'reg-01', 'pump', 'reg-01-pump', env)
    await waitFor(() => app.accounts.getDevice('reg-01-pump') !== undefined, { timeoutMs: 1_000, message: 'the broker knows the added device within 1 s' })
    const client = await connectAs(urlOf(app), added)
    const live = watchClose(client)
    expect(await publishOutcome(client, 'farm/reg-01/pump/reg-01-pump/telemetry', '{"seq":1}')).toBe('acked')
    expect(await app.registry.audit.list({ target: 'device:reg-01-pump' })).toMatchObject([{ action: 'device.add', how: 'cli' }])

    const r = await runCli(['device', 'remove', '--id', 'reg-01-pump', '--by', 'somsak'], env)
    expect(r.code, r.stderr).toBe(0)
    await waitFor(live.closed, { timeoutMs: 1_000, message: 'the removed device disconnected within 1 s' })
    await expect(connectAs(urlOf(app), added)).rejects.toThrow(/bad username or password/i)
    expect((await app.registry.audit.list({ target: 'device:reg-01-pump' })).at(-1)).toMatchObject({ action: 'device.remove', who: 'somsak', how: 'cli' })
  })

  it('`device list --json` reads the registry; adding a device id taken by a service account is refused', async () => {
    await app.accounts.setUser('reg-watch', 'viewer', ['reg-02'])
    await addDevice(app.dataDir, 'reg-02', 'soil', 'reg-02-soil', env)
    const list = await runCli(['device', 'list', '--json'], env)
    expect(list.code, list.stderr).toBe(0)
    expect(JSON.parse(list.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ farm: 'reg-02', kind: 'soil', device: 'reg-02-soil' })]))
    const taken = await runCli(['device', 'add', '--farm', 'reg-02', '--kind', 'pump', '--id', 'reg-watch'], env)
    expect(taken.code).toBe(1)
    expect(taken.stderr).toMatch(/exists/)
  })
})

describe('two broker processes on one PostgreSQL and one Redis', () => {
  let redis: Daemon
  let redisDir: string
  const brokers: Array<{ process: ServiceProcess; url: string; dataDir: string }> = []
  let env: Record<string, string>
  beforeAll(async () => {
    redisDir = await mkdtemp(join(tmpdir(), 'suanyang-redis-'))
    const started = await startRedis(redisDir)
    redis = started.daemon
    const at = await stores.fresh('postgres')
    env = at.env
    for (const id of ['node-a', 'node-b']) {
      // Separate DATA_DIRs, as on two machines: only the database and Redis are shared.
      const port = await freePort()
      const dataDir = await makeDataDir()
      const process = await startServiceProcess(['broker'], { DATA_DIR: dataDir, MQTT_PORT: String(port), MQTT_WS_PORT: '0', DATABASE_URL: at.databaseUrl ?? '', REDIS_URL: `redis://127.0.0.1:${started.port}`, BROKER_ID: id }, id)
      brokers.push({ process, url: `mqtt://127.0.0.1:${port}`, dataDir })
    }
  })
  afterAll(async () => {
    for (const b of brokers) {
      await b.process.stop()
      await rm(b.dataDir, { recursive: true, force: true })
    }
    await redis?.stop()
    await rm(redisDir, { recursive: true, force: true })
  })

  it('a device added through one process logs in on both brokers within 1 s; removed, both close its sessions within 1 s', async () => {
    const pump = await addDevice(env.DATA_DIR ?? '', 'pg-01', 'pump', 'pg-01-pump', env)
    const clients: MqttClient[] = []
    for (const b of brokers) {
      const client = await waitFor(() => connectAs(b.url, pump).catch(() => undefined), { timeoutMs: 1_000, message: `${b.url} accepts the added device within 1 s` })
      clients.push(client)
    }
    const lives = clients.map(watchClose)
    for (const client of clients) expect(await publishOutcome(client, 'farm/pg-01/pump/pg-01-pump/telemetry', '{"seq":1}')).toBe('acked')
    const r = await runCli(['device', 'remove', '--id', 'pg-01-pump'], env)
    expect(r.code, r.stderr).toBe(0)
    await waitFor(() => lives.every((l) => l.closed()), { timeoutMs: 1_000, message: 'both brokers closed the removed device within 1 s' })
    for (const b of brokers) await expect(connectAs(b.url, pump)).rejects.toThrow(/bad username or password/i)
  })
})

describe('first start of an installation with accounts.json', () => {
  it('imports it once, logged; its devices log in; afterwards the file is not read', async () => {
    const dataDir = await makeDataDir()
    const passwords = await writeAccountsJson(dataDir, {
      devices: [{ device: 'old-01-pump', farm: 'old-01', kind: 'pump' }],
      users: [{ username: 'old-office', role: 'operator', farms: ['old-01'] }],
    })
    const app = await startTestApp(['broker'], {}, dataDir)
    try {
      expect(app.logs.find('imported the old account and contact files into the registry (first start)')).toHaveLength(1)
      const old = { username: 'old-01-pump', password: passwords.get('old-01-pump') ?? '' }
      const client = await connectAs(urlOf(app), old)
      expect(await publishOutcome(client, 'farm/old-01/pump/old-01-pump/telemetry', '{"seq":1}')).toBe('acked')
      await client.endAsync()
      const operator = await connectAs(urlOf(app), { username: 'old-office', password: passwords.get('old-office') ?? '' })
      await operator.endAsync()

      // The file changes: a new device in it, the old one given a new secret. Nothing happens.
      const changed = await writeAccountsJson(dataDir, { devices: [{ device: 'old-01-pump', farm: 'old-01', kind: 'pump' }, { device: 'old-01-soil', farm: 'old-01', kind: 'soil' }] })
      // A change in the registry after it: once the broker has it, it has read everything it reads.
      const marker = await addDevice(dataDir, 'old-01', 'waterbank', 'old-01-bank')
      await waitFor(() => app.accounts.getDevice('old-01-bank') !== undefined, { timeoutMs: 1_000, message: 'the registry change seen' })
      expect(app.accounts.getDevice('old-01-soil')).toBeUndefined()
      await expect(connectAs(urlOf(app), { username: 'old-01-soil', password: changed.get('old-01-soil') ?? '' })).rejects.toThrow(/bad username or password/i)
      const still = await connectAs(urlOf(app), old)
      await still.endAsync()
      await (await connectAs(urlOf(app), marker)).endAsync()
    } finally {
      await app.stop()
    }
    // A restart does not import again: the registry has recorded changes.
    const again = await startTestApp(['broker'], {}, dataDir)
    try {
      expect(again.logs.find('imported the old account and contact files into the registry (first start)')).toHaveLength(0)
      expect(again.accounts.getDevice('old-01-soil')).toBeUndefined()
    } finally {
      await again.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
