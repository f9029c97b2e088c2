import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { FARMS } from './farms.js'
import { DATASOURCE_UID } from './grafana-influx.js'
import { variablesIn } from './interpolate.js'
import { DASHBOARD_DIR, renderAll } from './render.js'
import { annotationsOf, collect, type DashboardJson, panelsOf, refIdsReferenced, variablesOf } from './walk.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const rendered = renderAll()
const dashboards: Array<[string, DashboardJson]> = [...rendered]
  .filter(([path]) => path.startsWith(DASHBOARD_DIR))
  .map(([path, text]) => [path, JSON.parse(text) as DashboardJson])

const THAI = /[\u0E00-\u0E7F]/
/** Alias patterns of the InfluxDB datasource ($tag_device, $col, $m): not template variables. */
const ALIAS_PATTERN = /^(tag_\w+|col|m|measurement)$/

describe('generated dashboards', () => {
  it('match the committed files (run `npm run dashboards` after changing dashboards/)', () => {
    for (const [path, content] of rendered) {
      const committed = readFileSync(join(root, path), 'utf8')
      expect(committed, `${path} is stale: run npm run dashboards`).toBe(content)
    }
    const onDisk = readdirSync(join(root, DASHBOARD_DIR)).filter((f) => f.endsWith('.json'))
    expect(onDisk.map((f) => `${DASHBOARD_DIR}/${f}`).sort()).toEqual(dashboards.map(([p]) => p).sort())
  })

  it('are five, with unique uids and titles', () => {
    expect(dashboards).toHaveLength(5)
    expect(new Set(dashboards.map(([, d]) => d.uid)).size).toBe(5)
    expect(new Set(dashboards.map(([, d]) => d.title)).size).toBe(5)
  })

  it('refer to the provisioned datasource only', () => {
    for (const [path, d] of dashboards) {
      const refs = collect(d, 'datasource') as Array<{ type?: string; uid?: string }>
      expect(refs.length, path).toBeGreaterThan(0)
      for (const ref of refs) expect(ref, path).toEqual({ type: 'influxdb', uid: DATASOURCE_UID })
    }
  })

  it('use only variables they define', () => {
    for (const [path, d] of dashboards) {
      const defined = new Set(variablesOf(d).map((v) => v.name))
      const texts = [
        ...panelsOf(d).flatMap((p) => [p.title, ...(p.targets ?? []).map((t) => t.query)]),
        ...variablesOf(d).map((v) => v.query),
        ...annotationsOf(d).map((a) => a.target.query),
        ...(collect(d, 'url') as string[]),
      ]
      const aliases = panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => t.alias ?? ''))
      const used = [...texts.flatMap(variablesIn), ...aliases.flatMap(variablesIn).filter((n) => !ALIAS_PATTERN.test(n))]
      for (const name of used) expect(defined.has(name), `${path}: $${name} is not defined`).toBe(true)
      expect([...defined].sort(), path).toEqual(['device', 'farm'])
    }
  })

  it('give every panel ids, bilingual titles, and queries with distinct refIds', () => {
    for (const [path, d] of dashboards) {
      expect(d.title, path).toMatch(THAI)
      const panels = panelsOf(d)
      expect(new Set(panels.map((p) => p.id)).size, path).toBe(panels.length)
      for (const p of panels) {
        expect(p.title, `${path}: ${p.title}`).toMatch(THAI)
        expect(p.title, `${path}: ${p.title}`).toMatch(/[A-Za-z]/)
        const refIds = (p.targets ?? []).map((t) => t.refId)
        expect(refIds.length, `${path}: ${p.title} has no query`).toBeGreaterThan(0)
        expect(new Set(refIds).size, `${path}: ${p.title}`).toBe(refIds.length)
        for (const ref of refIdsReferenced(p)) expect(refIds, `${path}: ${p.title} refers to query ${ref}`).toContain(ref)
        for (const t of p.targets ?? []) expect(t, `${path}: ${p.title}`).toMatchObject({ rawQuery: true })
      }
    }
  })

  it('put a unit on every axis and every value', () => {
    for (const [path, d] of dashboards) {
      for (const p of panelsOf(d)) {
        const fieldConfig = p.fieldConfig as {
          defaults: { unit?: string }
          overrides: Array<{ properties: Array<{ id: string; value: unknown }> }>
        }
        if (p.type === 'table') continue // columns, not axes: their units are per column
        expect(fieldConfig.defaults.unit, `${path}: ${p.title}`).toBeTruthy()
        for (const o of fieldConfig.overrides) {
          const ids = o.properties.map((prop) => prop.id)
          if (ids.includes('custom.axisPlacement')) expect(ids, `${path}: ${p.title} second axis`).toContain('unit')
        }
      }
    }
  })

  it('put every farm on the map', () => {
    const gazetteer = JSON.parse([...rendered].find(([p]) => p.endsWith('suanyang-farms.json'))?.[1] ?? '[]') as Array<{ key: string }>
    expect(gazetteer.map((g) => g.key)).toEqual(FARMS.map((f) => f.id))
  })
})
