/**
 * Dashboards per cooperative (issue 14, "tenancy in dashboards"): from the registry's
 * cooperatives and farms, one Grafana folder per cooperative with the five dashboards, whose
 * farm picker offers that cooperative's farms and nothing else; farms without a cooperative in
 * a folder of their own; training farms in a Workshop folder, their dashboards marked, so a
 * class's pumps are never taken for a farmer's. Pure: the registry's rows come in as plain
 * data (cli/dashboards.ts reads them), files go out as text.
 *
 * Grafana maps folders from the file tree (provisioning `foldersFromFilesStructure`): each
 * folder is a directory named with its title, so a new cooperative shows up without
 * restarting Grafana. Dashboard uids derive from the cooperative id (stable across renames).
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { ID_PATTERN } from '../contracts/names.js'
import { safeText } from './custom-variable.js'
import { DASHBOARDS, numberPanels } from './render.js'
import type { DashboardKey, FarmChoice, Scope } from './scope.js'

export interface TenantCooperative {
  id: string
  nameTh: string | null
  nameEn: string | null
}

export interface TenantFarm {
  id: string
  cooperativeId: string | null
  nameTh: string | null
  nameEn: string | null
  training: boolean
  latDeg: number | null
  lonDeg: number | null
}

export interface Tenancy {
  cooperatives: readonly TenantCooperative[]
  farms: readonly TenantFarm[]
}

export type FolderKind = 'cooperative' | 'unassigned' | 'training'

export interface Folder {
  kind: FolderKind
  /** The directory under the output root, which is also the folder's title in Grafana. */
  dir: string
  cooperativeId: string | null
  farms: readonly TenantFarm[]
  scope: Scope
}

export type Plan = { ok: true; folders: Folder[] } | { ok: false; reason: string }

/** Short names of the five dashboards in uids (a uid is at most 40 characters; an id is up to 32). */
const CODES: Record<DashboardKey, string> = { fleet: 'fl', pump: 'pu', waterSoil: 'ws', workshop: 'wk', alerts: 'al' }

/** File name of each dashboard in a folder (render.ts DASHBOARDS keys) and its key in the scope. */
const FILES: Record<string, DashboardKey> = { fleet: 'fleet', pump: 'pump', 'water-soil': 'waterSoil', workshop: 'workshop', alerts: 'alerts' }

const FIXED: Record<Exclude<FolderKind, 'cooperative'>, { title: string; prefix: string; tag: string; suffix: string; tags: string[] }> = {
  unassigned: { title: 'ฟาร์มที่ไม่สังกัดสหกรณ์ · Farms without a cooperative', prefix: 'sy-none', tag: 'sy-none', suffix: '', tags: [] },
  training: {
    title: 'ห้องเรียน แปลงฝึกอบรม · Workshop, training farms',
    prefix: 'sy-training',
    tag: 'sy-training',
    suffix: ' [training · ฝึกอบรม]',
    tags: ['training'],
  },
}

/** A directory name Grafana walks (no leading dot), one path segment, under 255 bytes. */
export function dirName(title: string): string {
  let name = title.replace(/[/\p{Cc}]+/gu, ' ').replace(/\s+/g, ' ').trim().replace(/^\.+/, '').trim()
  while (Buffer.byteLength(name) > 200) name = [...name].slice(0, -1).join('')
  return name.trim() || 'farms'
}

const bilingual = (th: string | null, en: string | null, fallback: string): string =>
  th !== null && en !== null ? `${th} · ${en}` : (th ?? en ?? fallback)

/** What the farm picker shows: the Thai name (else English) and the id, e.g. `สวนลุงสมชาย (ranong-01)`. */
export function farmText(farm: TenantFarm): string {
  const name = safeText(farm.nameTh ?? farm.nameEn ?? '')
  const text = name === '' || name === farm.id ? farm.id : `${name} (${farm.id})`
  return farm.training ? `${text} · ฝึกอบรม` : text
}

function centre(farms: readonly TenantFarm[]): Scope['centre'] {
  const placed = farms.filter((f) => f.latDeg !== null && f.lonDeg !== null)
  if (placed.length === 0) return undefined
  const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1000) / 1000
  return { lat: mean(placed.map((f) => f.latDeg as number)), lon: mean(placed.map((f) => f.lonDeg as number)) }
}

function scopeFor(prefix: string, tag: string, suffix: string, extraTags: string[], farms: readonly TenantFarm[]): Scope {
  const uids = Object.fromEntries(Object.entries(CODES).map(([key, code]) => [key, `${prefix}-${code}`])) as Record<DashboardKey, string>
  const choices: FarmChoice[] = farms.map((f) => ({ id: f.id, text: farmText(f) }))
  return { uids, tags: [tag, ...extraTags], linkTags: [tag], titleSuffix: suffix, farms: choices, centre: centre(farms) }
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * The folders: a cooperative with farms gets one (a cooperative without farms none: its picker
 * would be empty); farms without a cooperative, and training farms wherever they belong, get
 * the fixed ones. Refused when an id is not an id (the registry never stores one; the check
 * keeps uids, tags and the picker's list well formed whatever the caller passes).
 */
export function planFolders(tenancy: Tenancy): Plan {
  for (const x of [...tenancy.cooperatives, ...tenancy.farms]) {
    if (!ID_PATTERN.test(x.id)) return { ok: false, reason: `not an id: ${JSON.stringify(x.id)}` }
  }
  const known = new Set(tenancy.cooperatives.map((c) => c.id))
  const farms = [...tenancy.farms].sort(byId)
  const training = farms.filter((f) => f.training)
  const real = farms.filter((f) => !f.training)
  const folders: Folder[] = []
  for (const c of [...tenancy.cooperatives].sort(byId)) {
    const own = real.filter((f) => f.cooperativeId === c.id)
    if (own.length === 0) continue
    const prefix = `sy-c-${c.id}`
    folders.push({ kind: 'cooperative', dir: dirName(bilingual(c.nameTh, c.nameEn, c.id)), cooperativeId: c.id, farms: own, scope: scopeFor(prefix, prefix, '', [], own) })
  }
  const fixed = (kind: Exclude<FolderKind, 'cooperative'>, own: TenantFarm[]) => {
    if (own.length === 0) return
    const f = FIXED[kind]
    folders.push({ kind, dir: f.title, cooperativeId: null, farms: own, scope: scopeFor(f.prefix, f.tag, f.suffix, f.tags, own) })
  }
  fixed(
    'unassigned',
    real.filter((f) => f.cooperativeId === null || !known.has(f.cooperativeId)),
  )
  fixed('training', training)
  return { ok: true, folders: uniqueDirs(folders) }
}

/** Two cooperatives of the same name (or one named like a fixed folder): each such one takes its id too. */
function uniqueDirs(folders: Folder[]): Folder[] {
  const count = new Map<string, number>()
  for (const f of folders) count.set(f.dir.toLowerCase(), (count.get(f.dir.toLowerCase()) ?? 0) + 1)
  return folders.map((f) => ((count.get(f.dir.toLowerCase()) ?? 0) > 1 && f.kind === 'cooperative' ? { ...f, dir: dirName(`${f.dir} (${f.cooperativeId ?? ''})`) } : f))
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`

export type Tree = { ok: true; folders: Folder[]; files: Map<string, string> } | { ok: false; reason: string }

/** Path (relative to the output root: `<folder>/<dashboard>.json`) to content. */
export function renderTenancy(tenancy: Tenancy): Tree {
  const plan = planFolders(tenancy)
  if (!plan.ok) return plan
  const files = new Map<string, string>()
  for (const folder of plan.folders) {
    for (const [file, build] of Object.entries(DASHBOARDS)) {
      const key = FILES[file] as DashboardKey
      const dashboard: Dashboard = build(folder.scope)
      if (dashboard.uid !== folder.scope.uids[key]) return { ok: false, reason: `${file}: uid ${String(dashboard.uid)}` }
      files.set(`${folder.dir}/${file}.json`, json(numberPanels(dashboard)))
    }
  }
  return { ok: true, folders: plan.folders, files }
}
