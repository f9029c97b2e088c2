import { describe, expect, it } from 'vitest'
import { readCustomValues } from './custom-variable.js'
import { expandQuery } from './interpolate.js'
import { renderAll } from './render.js'
import { dirName, planFolders, renderTenancy, type Tenancy, type TenantFarm } from './tenancy.js'
import { annotationsOf, collect, type DashboardJson, panelsOf, variablesOf } from './walk.js'

const farm = (id: string, cooperativeId: string | null, more: Partial<TenantFarm> = {}): TenantFarm => ({
  id,
  cooperativeId,
  nameTh: `สวน ${id}`,
  nameEn: null,
  training: false,
  latDeg: null,
  lonDeg: null,
  ...more,
})

const TWO: Tenancy = {
  cooperatives: [
    { id: 'coop-a', nameTh: 'สหกรณ์ยางบ้านนา', nameEn: 'Ban Na Rubber Cooperative' },
    { id: 'coop-b', nameTh: 'สหกรณ์กระบุรี', nameEn: null },
    { id: 'coop-empty', nameTh: 'สหกรณ์ว่าง', nameEn: 'Empty' },
  ],
  farms: [farm('a-01', 'coop-a', { latDeg: 9.9, lonDeg: 98.6 }), farm('a-02', 'coop-a'), farm('b-01', 'coop-b'), farm('lone-01', null), farm('class-01', 'coop-a', { training: true })],
}

function tree(t: Tenancy): Map<string, DashboardJson> {
  const r = renderTenancy(t)
  if (!r.ok) throw new Error(r.reason)
  return new Map([...r.files].map(([path, text]) => [path, JSON.parse(text) as DashboardJson]))
}

const inFolder = (files: Map<string, DashboardJson>, dir: string) => [...files].filter(([p]) => p.startsWith(`${dir}/`)).map(([, d]) => d)

/** The farms a dashboard's picker offers, as Grafana reads its custom variable. */
function offered(d: DashboardJson): string[] {
  const v = variablesOf(d).find((x) => x.name === 'farm')
  expect(v?.type).toBe('custom')
  return readCustomValues(v?.query ?? '').map((c) => c.value)
}

/** Every query text a dashboard sends: panels, annotations, the device picker. */
const queriesOf = (d: DashboardJson) => [
  ...panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => t.query)),
  ...annotationsOf(d).map((a) => a.target.query),
  ...variablesOf(d).filter((v) => v.type === 'query').map((v) => v.query),
]

const A = 'สหกรณ์ยางบ้านนา · Ban Na Rubber Cooperative'
const B = 'สหกรณ์กระบุรี'
const NONE = 'ฟาร์มที่ไม่สังกัดสหกรณ์ · Farms without a cooperative'
const WORKSHOP = 'ห้องเรียน แปลงฝึกอบรม · Workshop, training farms'

describe('dashboards per cooperative', () => {
  const files = tree(TWO)

  it('make one folder per cooperative with farms, one for farms without one, one for training farms', () => {
    expect([...new Set([...files.keys()].map((p) => p.split('/')[0]))].sort()).toEqual([A, B, NONE, WORKSHOP].sort())
    for (const dir of [A, B, NONE, WORKSHOP]) expect(inFolder(files, dir).map((d) => d.uid).length).toBe(5)
    const uids = [...files.values()].map((d) => d.uid)
    expect(new Set(uids).size).toBe(uids.length)
    for (const uid of uids) expect(uid.length).toBeLessThanOrEqual(40)
    expect(inFolder(files, A).map((d) => d.uid).sort()).toEqual(['sy-c-coop-a-al', 'sy-c-coop-a-fl', 'sy-c-coop-a-pu', 'sy-c-coop-a-wk', 'sy-c-coop-a-ws'])
  })

  it("offer in A's folder A's farms only, with their names, and none of B's", () => {
    for (const d of inFolder(files, A)) {
      expect(offered(d), d.title).toEqual(['a-01', 'a-02'])
      const v = variablesOf(d).find((x) => x.name === 'farm') as unknown as { options: Array<{ text: string; value: string }>; allowCustomValue: boolean; allValue?: string }
      expect(v.options.filter((o) => o.value !== '$__all')).toEqual([
        { text: 'สวน a-01 (a-01)', value: 'a-01', selected: expect.any(Boolean) as boolean },
        { text: 'สวน a-02 (a-02)', value: 'a-02', selected: expect.any(Boolean) as boolean },
      ])
      expect(v.allowCustomValue).toBe(false)
      expect(v.allValue, 'All must be the list, not a catch-all regex').toBeUndefined()
    }
    for (const d of inFolder(files, B)) expect(offered(d)).toEqual(['b-01'])
    expect(offered(inFolder(files, NONE)[0] as DashboardJson)).toEqual(['lone-01'])
  })

  it('filter every query by the picked farm, so All in A reads A and nothing of B', () => {
    for (const d of inFolder(files, A)) {
      for (const q of queriesOf(d)) expect(q, `${d.title}: ${q}`).toContain('"farm" =~ /^$farm$/')
      const fleetLike = variablesOf(d).find((v) => v.name === 'farm')?.multi === true
      // Grafana sends All of a custom variable as every option, regex-escaped: (a\-01|a\-02) or a-01 alone.
      const all = offered(d)
      const ctx = { fromMs: 0, toMs: 1, intervalMs: 60_000, variables: { farm: { multi: fleetLike, value: fleetLike ? all : (all[0] as string) }, device: { multi: true, value: ['p1'] } } }
      const expanded = expandQuery('"farm" =~ /^$farm$/', ctx)
      expect(expanded.ok).toBe(true)
      const regex = new RegExp((expanded.ok ? expanded.query : '').replace(/^"farm" =~ \/(.*)\/$/, '$1'))
      for (const id of fleetLike ? ['a-01', 'a-02'] : ['a-01']) expect(regex.test(id), id).toBe(true)
      for (const id of ['b-01', 'lone-01', 'class-01', 'a-011', 'xa-01']) expect(regex.test(id), `${d.title} must not read ${id}`).toBe(false)
    }
  })

  it("link only to their own folder's dashboards", () => {
    for (const d of inFolder(files, A)) {
      expect(d.tags).toEqual(['sy-c-coop-a'])
      expect(collect(d.links, 'tags')).toEqual([['sy-c-coop-a']])
      for (const url of collect(d, 'url') as string[]) expect(url).toMatch(/^\/d\/sy-c-coop-a-pu\?/)
    }
  })

  it('centre the fleet map on the farms that have coordinates', () => {
    const fleet = inFolder(files, A).find((d) => d.uid === 'sy-c-coop-a-fl') as DashboardJson
    expect(collect(fleet, 'view')).toContainEqual(expect.objectContaining({ lat: 9.9, lon: 98.6 }))
  })

  it('move a farm to its new cooperative on regeneration', () => {
    const moved = tree({ ...TWO, farms: TWO.farms.map((f) => (f.id === 'a-02' ? { ...f, cooperativeId: 'coop-b' } : f)) })
    for (const d of inFolder(moved, A)) expect(offered(d)).toEqual(['a-01'])
    for (const d of inFolder(moved, B)) expect(offered(d)).toEqual(['a-02', 'b-01'])
    // A cooperative's last farm leaving takes its folder away.
    const emptied = tree({ ...TWO, farms: TWO.farms.map((f) => (f.cooperativeId === 'coop-b' ? { ...f, cooperativeId: 'coop-a' } : f)) })
    expect(inFolder(emptied, B)).toEqual([])
  })

  it('put training farms in the Workshop folder only, marked in titles, tags and the picker', () => {
    for (const [path, d] of files) {
      if (path.startsWith(`${WORKSHOP}/`)) continue
      expect(offered(d), path).not.toContain('class-01')
      expect(d.title, path).not.toContain('training')
    }
    for (const d of inFolder(files, WORKSHOP)) {
      expect(d.title).toMatch(/ \[training · ฝึกอบรม\]$/)
      expect(d.tags).toEqual(['sy-training', 'training'])
      expect(readCustomValues(variablesOf(d).find((v) => v.name === 'farm')?.query ?? '')).toEqual([{ text: 'สวน class-01 (class-01) · ฝึกอบรม', value: 'class-01' }])
    }
  })

  it('refuse ids that are not ids (regex metacharacters never reach a regex or a uid)', () => {
    for (const bad of ['a.b', 'x|y', '.*', 'a$', '(a)', 'A-01', 'a/b', '']) {
      expect(planFolders({ cooperatives: [], farms: [farm(bad, null)] }), bad).toMatchObject({ ok: false })
      expect(planFolders({ cooperatives: [{ id: bad, nameTh: 'x', nameEn: null }], farms: [] }), bad).toMatchObject({ ok: false })
    }
  })

  it('carry any farm name into the picker without breaking its list: commas, " : ", $, backslashes, new lines', () => {
    const names = ['สวน 1, ใต้', 'a : b', '$farm ${device} [[x]]', 'back\\slash\\,', 'two\nlines', ' ', 'ranong-09']
    const farms = names.map((n, i) => farm(`f-0${String(i)}`, null, { nameTh: n }))
    const d = tree({ cooperatives: [], farms }).get(`${NONE}/pump.json`) as DashboardJson
    const read = readCustomValues(variablesOf(d).find((v) => v.name === 'farm')?.query ?? '')
    expect(read.map((c) => c.value)).toEqual(farms.map((f) => f.id))
    for (const c of read) {
      if (c.text !== c.value) expect(c.text).toMatch(new RegExp(`\\(${c.value}\\)$`))
      expect(c.text).not.toMatch(/[$\\\n]|\[\[/)
    }
    expect(read[0]?.text).toBe('สวน 1, ใต้ (f-00)')
    expect(read[1]?.text).toBe('a : b (f-01)')
    expect(read[2]?.text).toBe('farm {device} [x]] (f-02)')
    expect(read[5]?.text).toBe('f-05')
  })

  it('name folders so Grafana walks them: one segment, no leading dot, bounded; equal names get their ids', () => {
    expect(dirName('../ย/ง\u0000.x')).toBe('ย ง .x')
    expect(dirName('.hidden')).toBe('hidden')
    const long = dirName('ก'.repeat(80) + ' · ' + 'e'.repeat(80))
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200)
    const twins = planFolders({
      cooperatives: [
        { id: 'c-1', nameTh: 'สหกรณ์', nameEn: null },
        { id: 'c-2', nameTh: 'สหกรณ์', nameEn: null },
      ],
      farms: [farm('f-1', 'c-1'), farm('f-2', 'c-2')],
    })
    expect(twins.ok && twins.folders.map((f) => f.dir)).toEqual(['สหกรณ์ (c-1)', 'สหกรณ์ (c-2)'])
  })

  it('leave the committed set for every farm as it was: one query picker over InfluxDB', () => {
    const committed = [...renderAll()].filter(([p]) => p.endsWith('.json') && !p.includes('gazetteer'))
    expect(committed).toHaveLength(5)
    for (const [, text] of committed) {
      const d = JSON.parse(text) as DashboardJson
      expect(variablesOf(d).find((v) => v.name === 'farm')?.type).toBe('query')
      expect(d.uid).toMatch(/^suanyang-/)
    }
    expect(renderTenancy({ cooperatives: [], farms: [] })).toMatchObject({ ok: true, files: new Map() })
  })
})
