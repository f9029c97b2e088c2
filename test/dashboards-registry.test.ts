/**
 * `suanyang dashboards` on a real registry, both databases, run as a user runs it: the tree it
 * writes (a folder per cooperative, its farms only), its refusal of a directory that is not its
 * own, and --watch: a farm added, a farm moved, a cooperative emptied reach the files within a
 * few seconds, and SIGTERM ends it cleanly; `suanyang start` with DASHBOARDS_DIR does the same.
 */
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readCustomValues } from '../dashboards/custom-variable.js'
import type { DashboardJson } from '../dashboards/walk.js'
import type { Registry } from '../registry/index.js'
import { ROOT, runCli, startTestApp } from './helpers/app.js'
import { spawnDaemon } from './helpers/daemon.js'
import { DIALECTS, registryStores } from './helpers/registry.js'
import { waitFor } from './helpers/wait-for.js'

const stores = registryStores()
afterAll(() => stores.close())

const by = { who: 'test', how: 'cli' } as const
const A = 'สหกรณ์ยางบ้านนา · Ban Na Rubber Cooperative'
const B = 'สหกรณ์กระบุรี · Kra Buri Cooperative'
const WORKSHOP = 'ห้องเรียน แปลงฝึกอบรม · Workshop, training farms'

async function seed(r: Registry): Promise<void> {
  for (const c of [
    { id: 'coop-a', nameTh: 'สหกรณ์ยางบ้านนา', nameEn: 'Ban Na Rubber Cooperative' },
    { id: 'coop-b', nameTh: 'สหกรณ์กระบุรี', nameEn: 'Kra Buri Cooperative' },
  ]) {
    expect((await r.cooperatives.add(c, by)).ok).toBe(true)
  }
  for (const f of [
    { id: 'a-01', cooperativeId: 'coop-a', nameTh: 'สวนลุงสมชาย' },
    { id: 'b-01', cooperativeId: 'coop-b', nameTh: 'สวนป้าแดง' },
    { id: 'class-01', cooperativeId: 'coop-a', nameTh: 'แปลงสาธิต', training: true },
  ]) {
    expect((await r.farms.add(f, by)).ok).toBe(true)
  }
}

/** The farms a written dashboard offers; undefined when the file is not there. */
async function offered(out: string, dir: string, file = 'fleet.json'): Promise<string[] | undefined> {
  const text = await readFile(join(out, dir, file), 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  const farm = (JSON.parse(text) as DashboardJson).templating.list.find((v) => v.name === 'farm')
  return readCustomValues(farm?.query ?? '').map((c) => c.value)
}

const folders = async (out: string) => (await readdir(out)).filter((n) => !n.startsWith('.')).sort()

describe.each(DIALECTS)('suanyang dashboards on %s', (dialect) => {
  it('writes a folder per cooperative with its farms only, and refuses a directory that is not its own', async () => {
    const at = await stores.fresh(dialect)
    await seed(await stores.open(at))
    const out = join(at.dataDir, 'grafana')
    const run = await runCli(['dashboards', '--out', out, '--json'], at.env)
    expect(run, run.stderr).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(run.stdout)).toMatchObject({ removed: [], folders: [A, B, WORKSHOP].sort() })
    expect(await folders(out)).toEqual([A, B, WORKSHOP].sort())
    for (const file of ['fleet.json', 'pump.json', 'water-soil.json', 'workshop.json', 'alerts.json']) {
      expect(await offered(out, A, file), file).toEqual(['a-01'])
      expect(await offered(out, B, file), file).toEqual(['b-01'])
      expect(await offered(out, WORKSHOP, file), file).toEqual(['class-01'])
      // Grafana runs as its own user: the files must be readable by others.
      expect((await stat(join(out, A, file))).mode & 0o777).toBe(0o644)
    }
    expect((await readdir(join(out, A))).filter((n) => !n.endsWith('.json'))).toEqual([])
    // Again with nothing changed: nothing is rewritten (Grafana re-reads only on a change).
    const again = await runCli(['dashboards', '--out', out, '--json'], at.env)
    expect(JSON.parse(again.stdout)).toMatchObject({ written: [], removed: [] })

    const foreign = await mkdtemp(join(tmpdir(), 'suanyang-not-ours-'))
    await writeFile(join(foreign, 'notes.txt'), 'keep me')
    const refused = await runCli(['dashboards', '--out', foreign], at.env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('not empty')
    expect(await readdir(foreign)).toEqual(['notes.txt'])
    expect((await runCli(['dashboards'], at.env)).code).toBe(2)
  })

  it('--watch: a farm added, a farm moved, a cooperative emptied reach the tree within seconds', async () => {
    const at = await stores.fresh(dialect)
    const r = await stores.open(at)
    await seed(r)
    const out = join(at.dataDir, 'grafana-live')
    const daemon = spawnDaemon(process.execPath, [join(ROOT, 'bin/suanyang.js'), 'dashboards', '--out', out, '--watch'], {
      label: `dashboards --watch (${dialect})`,
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...at.env },
    })
    const soon = (what: string) => ({ timeoutMs: 10_000, intervalMs: 50, message: () => `${what}:\n${daemon.outputTail()}` })
    try {
      await waitFor(async () => (await offered(out, A))?.join() === 'a-01', soon('the first tree'))

      expect((await r.farms.add({ id: 'a-02', cooperativeId: 'coop-a', nameTh: 'สวนใหม่' }, by)).ok).toBe(true)
      let t0 = Date.now()
      await waitFor(async () => (await offered(out, A))?.join() === 'a-01,a-02', soon('a-02 in the cooperative A folder'))
      expect(Date.now() - t0).toBeLessThan(5_000)
      expect(await offered(out, B)).toEqual(['b-01'])

      // b-01 moves to A: B's folder has no farm left and goes; A offers all three.
      expect((await r.farms.update('b-01', { cooperativeId: 'coop-a' }, by)).ok).toBe(true)
      t0 = Date.now()
      await waitFor(async () => (await offered(out, A))?.join() === 'a-01,a-02,b-01' && !(await folders(out)).includes(B), soon('b-01 moved to A'))
      expect(Date.now() - t0).toBeLessThan(5_000)
      expect(await folders(out)).toEqual([A, WORKSHOP].sort())

      // A renamed: the folder follows its new name, the old one goes.
      expect((await r.cooperatives.update('coop-a', { nameEn: 'Ban Na Rubber Co-op' }, by)).ok).toBe(true)
      const renamed = 'สหกรณ์ยางบ้านนา · Ban Na Rubber Co-op'
      await waitFor(async () => (await folders(out)).join() === [renamed, WORKSHOP].sort().join(), soon('the renamed folder'))
      expect(await offered(out, renamed, 'pump.json')).toEqual(['a-01', 'a-02', 'b-01'])
    } finally {
      const exit = await daemon.stop({ graceMs: 5_000 })
      expect(exit, daemon.outputTail()).toEqual({ code: 0, signal: null })
    }
  })

  it('suanyang start with DASHBOARDS_DIR keeps the tree next to its services, on the registry it opened', async () => {
    const at = await stores.fresh(dialect)
    const r = await stores.open(at)
    await seed(r)
    const out = join(at.dataDir, 'grafana-app')
    const app = await startTestApp(['broker'], { ...at.env, DASHBOARDS_DIR: out }, at.dataDir)
    try {
      // Written before start returns.
      expect(await offered(out, A)).toEqual(['a-01'])
      expect(app.logs.lines.some((l) => l.msg === 'dashboards written')).toBe(true)
      expect((await r.farms.add({ id: 'b-02', cooperativeId: 'coop-b', nameTh: 'สวนใหม่' }, by)).ok).toBe(true)
      await waitFor(async () => (await offered(out, B))?.join() === 'b-01,b-02', { timeoutMs: 5_000, message: 'b-02 in the cooperative B folder' })
    } finally {
      await app.stop()
    }
    // A directory that is not its own stops the start, with the reason.
    const foreign = await mkdtemp(join(tmpdir(), 'suanyang-not-ours-'))
    await writeFile(join(foreign, 'notes.txt'), 'keep me')
    await expect(startTestApp([], { ...at.env, DASHBOARDS_DIR: foreign }, at.dataDir)).rejects.toThrow(/not empty/)
    expect(await readdir(foreign)).toEqual(['notes.txt'])
  })
})
