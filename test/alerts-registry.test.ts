/**
 * Alerts read who serves a farm from the registry (issue 14), on SQLite and on a real
 * PostgreSQL: a farm marked training there reaches only its trainers, even when a message to its
 * farmer is forged into the outbox (the last-step check refuses it), and a person removed by the
 * CLI in another process stops receiving in the running service within a second.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { farmsFileJson, LINE_IDS } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { lineEvents, LineStub, signLineBody } from '../alerts/testing/line-stub.js'
import { FARM, pump } from '../alerts/testing/readings.js'
import { checkOverrides } from '../alerts/rules.js'
import { importOnFirstStart } from '../cli/import.js'
import { silentLogger } from '../runtime/logger.js'
import { runCli, startTestApp } from './helpers/app.js'
import { DIALECTS, registryStores, type StoreLocation } from './helpers/registry.js'
import { waitFor } from './helpers/wait-for.js'

const TOKEN = 'registry-line-token'
const ADMIN = { who: 'test', how: 'cli' } as const
const stores = registryStores()
let line: LineStub | undefined
let h: AlertsHarness | undefined

afterEach(async () => {
  await h?.close()
  await line?.close()
  h = undefined
})
afterAll(() => stores.close())

/** A farm with a farmer, a technician and a trainer, all on LINE; no quiet hours, no offline rule. */
async function start(at: StoreLocation): Promise<AlertsHarness> {
  line = await new LineStub(TOKEN).start()
  return AlertsHarness.start({
    dataDir: at.dataDir,
    ...(at.databaseUrl !== undefined && { databaseUrl: at.databaseUrl }),
    farms: farmsFileJson({ quietHours: { start: '00:00', end: '00:00' }, rules: { offline: { enabled: false } } }),
    env: { LINE_CHANNEL_ACCESS_TOKEN: TOKEN, LINE_CHANNEL_SECRET: 'secret', LINE_API_BASE_URL: line.url, ALERTS_API_TOKEN: 'api-token', ALERTS_SWEEP_CRON: '* * * * * *' },
  })
}

const dryRun = (harness: AlertsHarness, device = 'pump-1') =>
  harness.hub.publish({ ...pump(harness.now(), { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0, motor_a: 1.1 }, device), receivedMs: harness.now() })

/** Every outbox item of the service, once none is waiting any more. */
async function settledOutbox(harness: AlertsHarness): Promise<Array<{ contactId: string; status: string; result?: { refused?: string } }>> {
  return waitFor(async () => {
    const { json } = await harness.api('GET', 'outbox')
    const items = json.items as Array<{ contactId: string; status: string }>
    return items.length > 0 && items.every((i) => i.status !== 'queued' && i.status !== 'in_flight') ? items : undefined
  }, { message: 'the outbox settled' })
}

/** Resolves once the running service has read the registry's latest change. */
async function seesLatestChange(harness: AlertsHarness): Promise<void> {
  const latest = await harness.registry.audit.latestId()
  const seen = harness.metrics.gauge('suanyang_alert_registry_change', '')
  await waitFor(() => seen.get() >= latest, { message: `the alert service at registry change ${latest}` })
}

describe.each(DIALECTS)('alert routing from the registry on %s', (dialect) => {
  it('a fault injected on a farm marked training in the registry reaches only its trainers', async () => {
    h = await start(await stores.fresh(dialect))
    // The flag is set in the registry alone, as `suanyang farm edit --training` does.
    expect((await h.registry.farms.update(FARM, { training: true }, ADMIN)).ok).toBe(true)
    await seesLatestChange(h)
    dryRun(h)
    await line?.pushed(1)
    const outbox = await settledOutbox(h)
    await h.sweeps(2) // an escalation would be due now if the ladder went on: it must not
    expect(line?.pushes.map((p) => p.to)).toEqual([LINE_IDS.trainer])
    expect(outbox.map((i) => i.contactId)).toEqual(['kru-ann'])
  })

  it('a trainee is told about their training farm and may acknowledge it by LINE (audited with their id); no real farm reaches them', async () => {
    h = await start(await stores.fresh(dialect))
    const r = h.registry
    expect((await r.farms.add({ id: 'workshop-01', training: true }, ADMIN)).ok).toBe(true)
    expect((await r.people.add({ id: 'nong-nok', name: 'น้องนก', lineUserId: LINE_IDS.stranger }, ADMIN)).ok).toBe(true)
    for (const farmId of ['workshop-01', FARM]) expect((await r.memberships.add({ personId: 'nong-nok', role: 'trainee', farmId }, ADMIN)).ok).toBe(true)
    expect((await r.memberships.add({ personId: 'kru-ann', role: 'trainer', farmId: 'workshop-01' }, ADMIN)).ok).toBe(true)
    await seesLatestChange(h)
    dryRun(h)
    h.hub.publish({ ...pump(h.now(), { state: 'fault', fault: 'DRY_RUN', flow_lpm: 0, motor_a: 1.1 }, 'pump-9', 'workshop-01'), receivedMs: h.now() })
    await line?.pushed(3)
    await settledOutbox(h)
    const told = (farm: string) => (line?.pushes ?? []).filter((p) => JSON.stringify(p.messages).includes(farm === FARM ? 'สวนลุงสมชาย' : 'workshop-01')).map((p) => p.to).sort()
    expect(told(FARM)).toEqual([LINE_IDS.farmer])
    expect(told('workshop-01')).toEqual([LINE_IDS.trainer, LINE_IDS.stranger].sort())

    const alerts = (await h.api('GET', 'alerts')).json.alerts as Array<{ id: string; farm: string }>
    const idOf = (farm: string) => alerts.find((a) => a.farm === farm)?.id ?? ''
    const ack = async (id: string) => {
      const body = JSON.stringify({ destination: 'Ubot', events: [lineEvents.postback(LINE_IDS.stranger, `a=ack&id=${id}`)] })
      const res = await fetch(`${h?.baseUrl ?? ''}/line/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-line-signature': signLineBody(body, 'secret') }, body })
      expect(res.status).toBe(200)
    }
    await ack(idOf(FARM))
    expect((await h.api('GET', `alerts/${idOf(FARM)}`)).json.alert).toMatchObject({ status: 'firing' })
    await ack(idOf('workshop-01'))
    expect((await h.api('GET', `alerts/${idOf('workshop-01')}`)).json.alert).toMatchObject({ status: 'acknowledged', ack: { via: 'line' } })
    const audit = await waitFor(async () => (await r.audit.list({ target: `alert:${idOf('workshop-01')}` })).find((e) => e.action === 'alert.ack'), { message: 'the LINE ack in the audit log' })
    expect(audit).toMatchObject({ who: 'nong-nok', how: 'line' })
  })

  it('a message forged into the outbox for the farmer of a training farm is refused at the last step, logged in the outbox, counted', async () => {
    const at = await stores.fresh(dialect)
    h = await start(at)
    expect((await h.registry.farms.update(FARM, { training: true }, ADMIN)).ok).toBe(true)
    await h.stopService()
    // Routing is bypassed: the item is written into the state file the service sends from.
    const path = join(at.dataDir, 'alerts', 'state.json')
    const state = JSON.parse(await readFile(path, 'utf8')) as { outbox: Record<string, unknown> }
    const forged = { key: 'forged/fire/somchai', farm: FARM, purpose: 'fire', contactId: 'somchai', channel: 'line', to: LINE_IDS.farmer, line: [{ type: 'text', text: 'pump fault' }], sms: 'pump fault', retryKey: '00000000-0000-4000-8000-000000000001', status: 'queued', attempts: 0, notBeforeMs: 0, createdMs: 0 }
    const disguised = { ...forged, key: 'forged/fire/kru-ann', contactId: 'kru-ann', retryKey: '00000000-0000-4000-8000-000000000002' } // a trainer's name, the farmer's address
    state.outbox = { [forged.key]: forged, [disguised.key]: disguised }
    await writeFile(path, JSON.stringify(state))
    await h.startService()
    const outbox = await settledOutbox(h)
    expect(Object.fromEntries(outbox.map((i) => [i.contactId, [i.status, i.result?.refused]]))).toEqual({
      somchai: ['refused', 'training_farm_not_trainer'],
      'kru-ann': ['refused', 'address_mismatch'],
    })
    expect(line?.pushes).toEqual([])
    const refused = h.metrics.counter('suanyang_alert_messages_refused_total', '')
    expect(refused.total()).toBe(2)
  })

  it('a person removed with `suanyang person remove` (another process) stops receiving in the running service within 1 s; one added is told', async () => {
    const at = await stores.fresh(dialect)
    h = await start(at)
    const removed = await runCli(['person', 'remove', '--id', 'somchai', '--by', 'test'], at.env)
    expect(removed.code, removed.stderr).toBe(0)
    // The service's snapshot no longer knows the farmer: asking a link code for them is a 404.
    const exitedMs = Date.now()
    await waitFor(async () => (await h?.api('POST', 'contacts/somchai/link-code'))?.status === 404, { timeoutMs: 1_000, message: 'the removal seen within 1 s' })
    console.log(`${dialect}: person removal seen by the running alert service ${Date.now() - exitedMs} ms after the CLI exited`)
    dryRun(h)
    await line?.pushed(1)
    await settledOutbox(h)
    // The farmer's step is gone: the ladder starts at the technician.
    expect(line?.pushes.map((p) => p.to)).toEqual([LINE_IDS.technician])
    // And a person added by the CLI is told about the next alert.
    const added = await runCli(['person', 'add', '--id', 'somying', '--name', 'สมหญิง', '--line', LINE_IDS.stranger, '--role', 'farmer', '--farm', FARM, '--by', 'test'], at.env)
    expect(added.code, added.stderr).toBe(0)
    await waitFor(async () => (await h?.api('POST', 'contacts/somying/link-code'))?.status === 201, { timeoutMs: 1_000, message: 'the new farmer seen within 1 s' })
    dryRun(h, 'pump-2')
    await line?.pushed(2)
    expect(line?.pushes.map((p) => p.to)).toEqual([LINE_IDS.technician, LINE_IDS.stranger])
  })
})

describe.each(DIALECTS)('an existing install on %s', (dialect) => {
  it('contacts.json comes into an empty registry on the first start, once; afterwards the file is not read', async () => {
    const at = await stores.fresh(dialect)
    await writeFile(join(at.dataDir, 'contacts.json'), JSON.stringify(farmsFileJson({ training: true })))
    const registry = await stores.open(at, { checkOverrides })
    const firstStart = () => importOnFirstStart(registry, at.dataDir, at.env, silentLogger)
    expect(await firstStart()).toMatchObject({ ok: true, changed: true })
    expect((await registry.farms.get(FARM))?.training).toBe(true)
    expect((await registry.people.forFarm(FARM)).map((c) => [c.person.id, c.roles])).toEqual([['kru-ann', ['trainer']], ['somchai', ['farmer']], ['somsak', ['technician']]])
    // A later edit of the file changes nothing: the registry is the source now.
    await writeFile(join(at.dataDir, 'contacts.json'), JSON.stringify(farmsFileJson({ training: false })))
    expect(await firstStart()).toBeUndefined()
    expect((await registry.farms.get(FARM))?.training).toBe(true)
  })

  it('several processes starting at once on one empty registry: one imports, none fails', async () => {
    const at = await stores.fresh(dialect)
    await writeFile(join(at.dataDir, 'contacts.json'), JSON.stringify(farmsFileJson()))
    const starters = await Promise.all([1, 2, 3].map(() => stores.open(at, { checkOverrides })))
    const outcomes = await Promise.all(starters.map((r) => importOnFirstStart(r, at.dataDir, at.env, silentLogger)))
    expect(outcomes.filter((o) => o?.ok && o.changed)).toHaveLength(1)
    expect(outcomes.every((o) => o === undefined || o.ok)).toBe(true)
    expect((await starters[0]?.people.forFarm(FARM))?.map((c) => c.person.id)).toEqual(['kru-ann', 'somchai', 'somsak'])
  })
})

describe.each(DIALECTS)('the console on %s', (dialect) => {
  it('shows the registry\'s training farms, with no simulator running, and follows an edit within 1 s', async () => {
    const at = await stores.fresh(dialect)
    const app = await startTestApp(['broker', 'console'], { ...at.env, ALERTS_API_TOKEN: 'console-token' }, at.dataDir)
    try {
      const training = async () => {
        const res = await fetch(`http://127.0.0.1:${app.httpPort}/console/api/sim`, { headers: { authorization: 'Bearer console-token' } })
        return ((await res.json()) as { training: string[] }).training
      }
      expect(await training()).toEqual([])
      expect((await app.registry.farms.add({ id: FARM, training: true }, ADMIN)).ok).toBe(true)
      await waitFor(async () => (await training()).includes(FARM), { timeoutMs: 1_000, message: 'the training farm on the console within 1 s' })
    } finally {
      await app.stop()
    }
  })
})
