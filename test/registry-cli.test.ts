/**
 * `suanyang farm|person add|edit|list|remove` on both databases (issue 14 "administration
 * without JSON"). The real command runs as a child process where the process matters (exit
 * codes, LANG, stderr free of Node's SQLite warning, several starters at once on an empty
 * registry); the rest runs the same dispatch in process.
 */
import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import type { Farm } from '../registry/index.js'
import { ROOT, runCli, runCliInProcess } from './helpers/app.js'
import { DIALECTS, registryStores } from './helpers/registry.js'

const stores = registryStores()
afterAll(() => stores.close())

describe.each(DIALECTS)('registry commands on %s', (dialect) => {
  it('adds and lists a farm as a user would; bad input is refused per option, in the reader\'s language, and nothing is saved', async () => {
    const at = await stores.fresh(dialect)
    // Several first starts at once on an empty registry: each migrates or waits, none fails.
    const starts = await Promise.all([1, 2, 3].map(() => runCli(['farm', 'list'], at.env)))
    expect(starts.map((s) => [s.code, s.stderr])).toEqual([1, 2, 3].map(() => [0, '']))

    const added = await runCli(['farm', 'add', '--id', 'ranong-01', '--name-th', 'สวนลุงสมชาย', '--pv-wp', '600', '--quiet', '20:00-06:30', '--json', '--by', 'somsak'], at.env)
    expect(added, added.stderr).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(added.stdout)).toMatchObject({ id: 'ranong-01', nameTh: 'สวนลุงสมชาย', quietHours: { start: '20:00', end: '06:30' }, equipment: { pvArrayWp: 600 } })

    const bad = ['farm', 'add', '--id', 'ranong-02', '--pv-wp=-600', '--soil-fc-pct', '20', '--soil-wp-pct', '25', '--quiet', '9pm-6am', '--lat', 'north']
    const th = await runCli(bad, { ...at.env, LANG: 'th_TH.UTF-8' })
    expect(th.code).toBe(2)
    expect(th.stdout).toBe('')
    expect(th.stderr.split('\n')).toEqual([
      'ข้อมูลไม่ถูกต้อง ไม่ได้บันทึกอะไร:',
      '  --lat (ละติจูด): ต้องเป็นตัวเลข',
      '  --quiet (เวลาเริ่มงดแจ้งเตือน): ใช้รูปแบบ ชช:นน แบบ 24 ชั่วโมง เช่น 21:00',
      '  --quiet (เวลาสิ้นสุดงดแจ้งเตือน): ใช้รูปแบบ ชช:นน แบบ 24 ชั่วโมง เช่น 21:00',
      '  --pv-wp (กำลังแผงโซลาร์ (วัตต์)): ต้องมากกว่า 0',
      '  --soil-wp-pct (ความชื้นดินที่จุดเหี่ยวถาวร (%)): ต้องน้อยกว่าความชื้นดินที่ความจุสนาม',
      '',
    ])
    const en = await runCli([...bad, '--json'], { ...at.env, LANG: 'th_TH.UTF-8', LC_ALL: 'C.UTF-8' })
    expect(en.code).toBe(2)
    const refused = JSON.parse(en.stderr) as { reason: string; issues: Array<{ option: string; message: string }> }
    expect(refused.reason).toBe('invalid')
    expect(refused.issues.find((i) => i.option === '--pv-wp')?.message).toBe('must be greater than 0')

    const listed = await runCliInProcess(['farm', 'list', '--json'], at.env)
    expect((JSON.parse(listed.stdout) as Farm[]).map((f) => f.id)).toEqual(['ranong-01'])
    const r = await stores.open(at)
    expect((await r.audit.list()).map((e) => [e.action, e.who, e.how])).toEqual([['farm.add', 'somsak', 'cli']])
  })

  it('edits, clears and removes farms; a farm with devices stays', async () => {
    const at = await stores.fresh(dialect)
    const cli = (...args: string[]) => runCliInProcess(args, { ...at.env, LANG: 'en_US.UTF-8' })
    expect((await cli('farm', 'add', '--id', 'ranong-03', '--name-en', 'Pilot 3', '--pv-wp', '600', '--bank-depth-cm', '200')).code).toBe(0)
    expect(await cli('farm', 'edit', '--id', 'ranong-03', '--name-th', 'แปลงนำร่อง 3', '--name-en', '', '--training', '--level-sensor-cm', '232')).toMatchObject({ code: 0, stdout: 'updated farm "ranong-03"\n' })
    expect(await cli('farm', 'edit', '--id', 'ranong-03', '--training')).toMatchObject({ code: 0, stdout: 'farm "ranong-03": nothing changed\n' })
    expect(await cli('farm', 'edit', '--id', 'ranong-03', '--level-sensor-cm', '150')).toMatchObject({ code: 2, stderr: expect.stringContaining('--level-sensor-cm') })
    const r = await stores.open(at)
    expect(await r.farms.get('ranong-03')).toMatchObject({ nameTh: 'แปลงนำร่อง 3', nameEn: null, training: true, equipment: { pvArrayWp: 600, bankDepthCm: 200, levelSensorCm: 232 } })
    expect((await cli('farm', 'list', '--training')).stdout).toBe('ranong-03\tแปลงนำร่อง 3\t-\ttraining\t600 Wp\n')
    expect(await cli('farm', 'edit', '--id', 'ranong-99', '--training')).toMatchObject({ code: 1, stderr: 'not found, nothing was saved:\n  --id (id): no farm "ranong-99"\n' })

    await r.devices.add({ id: 'ranong-03-pump', farmId: 'ranong-03', kind: 'pump' }, { who: 'test', how: 'system' })
    expect(await cli('farm', 'remove', '--id', 'ranong-03', '--lang', 'th')).toMatchObject({ code: 1, stderr: expect.stringContaining('ยังมีอุปกรณ์อยู่ 1 รายการ') })
    await r.devices.remove('ranong-03-pump', { who: 'test', how: 'system' })
    expect(await cli('farm', 'remove', '--id', 'ranong-03')).toMatchObject({ code: 0, stdout: 'removed farm "ranong-03"\n' })
    expect(await cli('farm', 'list')).toMatchObject({ code: 0, stdout: 'no farms in the registry\n' })
    expect(await cli('farm', 'add', '--id', 'x', '--colour', 'red')).toMatchObject({ code: 2, stderr: 'suanyang farm: unknown option --colour; run "suanyang farm --help" for its options\n' })
  })

  it('adds people with their roles together or not at all, grants and revokes roles, lists who serves a farm', async () => {
    const at = await stores.fresh(dialect)
    const cli = (...args: string[]) => runCliInProcess(args, { ...at.env, LANG: 'en_US.UTF-8' })
    for (const id of ['ranong-01', 'ranong-02']) expect((await cli('farm', 'add', '--id', id)).code).toBe(0)

    // A farm that does not exist: the person is not saved either.
    const refused = await cli('person', 'add', '--id', 'somchai', '--name', 'สมชาย', '--role', 'farmer', '--farm', 'ranong-01', '--farm', 'ranong-09')
    expect(refused).toMatchObject({ code: 2, stderr: 'invalid input, nothing was saved:\n  --farm (farm): no farm "ranong-09"\n' })
    expect(await cli('person', 'list')).toMatchObject({ stdout: 'nobody in the registry\n' })
    expect(await cli('person', 'add', '--id', 'somchai', '--name', 'สมชาย', '--role', 'farmer')).toMatchObject({ code: 2, stderr: expect.stringContaining('give one of --farm, --cooperative or --all-farms') })
    expect(await cli('person', 'add', '--id', 'somchai', '--name', '', '--phone', '12', '--locale', 'lo')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--name \(name\): required\n {2}--locale \(language\): must be one of: th, en\n {2}--phone \(phone\): a Thai mobile number/) })

    expect((await cli('person', 'add', '--id', 'somchai', '--name', 'สมชาย', '--phone', '0812345678', '--role', 'farmer', '--farm', 'ranong-01', '--farm', 'ranong-02')).code).toBe(0)
    const tech = await cli('person', 'add', '--id', 'somsak', '--name', 'Somsak', '--locale', 'en', '--quiet', '22:00-05:30', '--role', 'technician', '--all-farms', '--json')
    expect(JSON.parse(tech.stdout)).toMatchObject({ id: 'somsak', locale: 'en', quietHours: { start: '22:00', end: '05:30' }, roles: [{ role: 'technician', farmId: null, cooperativeId: null }] })
    expect((await cli('person', 'edit', '--id', 'somchai', '--revoke', 'farmer', '--farm', 'ranong-02')).stdout).toBe('updated "somchai"\n')
    expect((await cli('person', 'edit', '--id', 'somchai', '--line', `U${'a'.repeat(32)}`, '--phone', '')).code).toBe(0)
    expect(await cli('person', 'edit', '--id', 'somchai', '--revoke', 'lead', '--all-farms')).toMatchObject({ code: 1, stderr: expect.stringContaining('--revoke (role): no role "lead *"') })

    expect((await cli('person', 'list', '--farm', 'ranong-02')).stdout).toBe('somsak\tSomsak\ttechnician@every farm\t-\t-\n')
    expect((await cli('person', 'list', '--farm', 'ranong-01')).stdout).toBe('somchai\tสมชาย\tfarmer@ranong-01\t-\tLINE\nsomsak\tSomsak\ttechnician@every farm\t-\t-\n')
    expect(await cli('person', 'remove', '--id', 'somsak', '--by', 'admin')).toMatchObject({ code: 0, stdout: 'removed "somsak"\n' })
    const r = await stores.open(at)
    expect((await r.audit.list({ target: 'person:somsak' })).map((e) => [e.action, e.who])).toEqual([['person.add', expect.any(String)], ['membership.add', expect.any(String)], ['person.remove', 'admin']])
  })

  it('cooperatives and rule overrides without JSON: a cooperative with farms stays; a misspelt rule or parameter is refused and nothing is saved', async () => {
    const at = await stores.fresh(dialect)
    const cli = (...args: string[]) => runCliInProcess([...args, '--lang', 'en'], at.env)
    expect(await cli('cooperative', 'add', '--id', 'coop-ranong', '--name-th', 'สหกรณ์ระนอง')).toMatchObject({ code: 0, stdout: 'added cooperative "coop-ranong"\n' })
    expect((await cli('cooperative', 'add', '--id', 'coop-ranong')).code).toBe(1)
    expect((await cli('farm', 'add', '--id', 'ranong-01', '--cooperative', 'coop-ranong')).code).toBe(0)
    expect(await cli('cooperative', 'list')).toMatchObject({ code: 0, stdout: 'coop-ranong\tสหกรณ์ระนอง\t-\t1 farm(s)\n' })
    expect(await cli('cooperative', 'remove', '--id', 'coop-ranong')).toMatchObject({ code: 1, stderr: expect.stringContaining('1 farms') })

    const before = (await (await stores.open(at)).audit.list()).length
    expect(await cli('override', 'set', '--farm', 'ranong-01', '--rule', 'pv_lowe')).toMatchObject({ code: 2, stderr: expect.stringContaining('pv_lowe') })
    expect(await cli('override', 'set', '--farm', 'ranong-01', '--rule', 'pv_low', '--param', 'arrayWatts=900')).toMatchObject({ code: 2, stderr: expect.stringContaining('arrayWatts') })
    expect(await cli('override', 'set', '--farm', 'ranong-01', '--rule', 'pv_low', '--param', 'arrayWp')).toMatchObject({ code: 2, stderr: expect.stringContaining('NAME=VALUE') })
    expect(await cli('override', 'set', '--farm', 'ranong-02', '--rule', 'pv_low')).toMatchObject({ code: 2, stderr: expect.stringContaining('ranong-02') })
    expect((await (await stores.open(at)).audit.list()).length).toBe(before)

    const set = await cli('override', 'set', '--farm', 'ranong-01', '--rule', 'pv_low', '--param', 'arrayWp=1100', '--severity', 'warning', '--json')
    expect(set.code, set.stderr).toBe(0)
    expect(JSON.parse(set.stdout)).toMatchObject({ farmId: 'ranong-01', deviceId: null, rule: 'pv_low', severity: 'warning', params: { arrayWp: 1100 } })
    expect((await cli('override', 'list', '--farm', 'ranong-01')).stdout).toBe('ranong-01\t*\tpv_low\t-\twarning\t{"arrayWp":1100}\n')
    expect(await cli('override', 'remove', '--farm', 'ranong-01', '--rule', 'pv_low')).toMatchObject({ code: 0, stdout: 'removed the override of rule "pv_low"\n' })
    expect((await cli('override', 'list')).stdout).toBe('no rule overrides\n')
  })
})

describe('registry commands without a registry', () => {
  it('say in one line what is wrong with DATABASE_URL or the server, with the password hidden', async () => {
    const at = await stores.fresh('sqlite')
    expect(await runCliInProcess(['farm', 'list'], { ...at.env, DATABASE_URL: 'mysql://db/suanyang' })).toMatchObject({
      code: 1,
      stderr: 'invalid configuration: DATABASE_URL="mysql://db/suanyang": expected postgres://user:password@host:5432/database\n',
    })
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const refused = await runCliInProcess(['person', 'list'], { ...at.env, DATABASE_URL: 'postgres://suanyang:s3cret@127.0.0.1:1/suanyang' })
    expect(refused).toMatchObject({ code: 1, stderr: 'cannot open the registry (postgres://suanyang:***@127.0.0.1:1/suanyang): connect ECONNREFUSED 127.0.0.1:1\n' })
  })
})

describe('node:sqlite on this Node', () => {
  // Node 22 warns that SQLite is experimental (CI runs this on 22 and 24): that warning alone is
  // dropped, while node:sqlite loads; any other warning still reaches stderr.
  it('loads without its ExperimentalWarning and keeps every other warning', () => {
    const probe = `const m = await import('./registry/sqlite.ts')
await m.openSqlite({ path: ':memory:' }).close()
process.emitWarning('another experiment', 'ExperimentalWarning')
await new Promise((r) => setTimeout(r, 50))`
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stderr).toContain('ExperimentalWarning: another experiment')
    expect(run.stderr).not.toContain('SQLite is an experimental feature')
  })
})
