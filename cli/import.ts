/**
 * `suanyang import`: today's accounts.json and contacts.json (and the LINE links made with
 * codes) into the registry, in one transaction with one audit row. Run again with the same
 * files it changes nothing and says so; run after the files changed, it brings in the
 * difference. It never deletes and never touches the files. The services run it themselves on
 * their first start (`importOnFirstStart`); after that only the registry is read.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { loadFarms } from '../alerts/contacts.js'
import { AlertsEnv } from '../alerts/config.js'
import { AccountsFile } from '../runtime/accounts.js'
import type { Actor, Failure, Registry, Repositories, Result } from '../registry/index.js'
import type { Env } from '../runtime/config.js'
import type { Logger } from '../runtime/logger.js'
import { type ImportPlan, type Planned, planImport } from './import-plan.js'
import { fail, type CommandIo } from './io.js'
import { actorOf, configFor, localeOf, openCliRegistry, printFailure } from './registry-io.js'

const USAGE = `Usage: suanyang import [--accounts FILE] [--contacts FILE] [--by NAME] [--json] [--lang th|en]
Reads DATA_DIR/accounts.json, the alerts' contacts file (ALERTS_CONTACTS_FILE, default
DATA_DIR/contacts.json) and the LINE links in DATA_DIR/alerts/state.json into the registry.
`

const RECORDS = ['farms', 'people', 'memberships', 'devices', 'overrides', 'accounts'] as const
const RECORD_NAMES = {
  th: { farms: 'สวน', people: 'บุคคล', memberships: 'บทบาท', devices: 'อุปกรณ์', overrides: 'การปรับกฎแจ้งเตือน', accounts: 'บัญชีบริการ' },
  en: { farms: 'farms', people: 'people', memberships: 'roles', devices: 'devices', overrides: 'rule overrides', accounts: 'service accounts' },
} as const
type Counts = Record<(typeof RECORDS)[number], { added: number; updated: number; unchanged: number }>

const TEXT = {
  th: {
    done: 'นำเข้าทะเบียนแล้ว ({where}):',
    nothing: 'ไม่มีอะไรต้องนำเข้า: ทะเบียนมีข้อมูลทั้งหมดจากไฟล์เหล่านี้แล้ว ({where})',
    line: '  {kind}: เพิ่ม {added}, แก้ไข {updated}, เหมือนเดิม {unchanged}',
    conflict: 'ไฟล์ขัดแย้งกันเอง ไม่ได้นำเข้าอะไร:',
  },
  en: {
    done: 'imported into the registry ({where}):',
    nothing: 'nothing to import: the registry already holds everything in these files ({where})',
    line: '  {kind}: {added} added, {updated} updated, {unchanged} unchanged',
    conflict: 'the files disagree, nothing was imported:',
  },
} as const

const fill = (s: string, v: Record<string, string | number>) => s.replace(/\{(\w+)\}/g, (_, k: string) => String(v[k] ?? ''))

interface SourceFile {
  path: string
  sha256: string | null
}

async function readSource(path: string): Promise<{ file: SourceFile; text: string | undefined }> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  return { file: { path, sha256: text === undefined ? null : createHash('sha256').update(text).digest('hex') }, text }
}

const LinksFile = z.object({ links: z.record(z.string(), z.string()).default({}) })

/** Names the record a refusal is about: `farms.ranong-01.nameTh`. */
const within = (failure: Failure, kind: string, key: string): Failure => ({
  ...failure,
  issues: failure.issues.map((i) => ({ ...i, field: [kind, key, i.field].filter(Boolean).join('.') })),
})

/** Adds what is new, updates what the files state differently, leaves the rest. */
async function put(
  repo: { get(key: string): Promise<unknown>; add(input: unknown, actor: Actor, o?: { createdAt?: string }): Promise<Result<unknown>>; update(key: string, patch: Record<string, unknown>, actor: Actor): Promise<Result<unknown>> },
  keyField: string,
  item: Planned,
  actor: Actor,
): Promise<Result<'added' | 'updated' | 'unchanged'>> {
  const known = await repo.get(item.key)
  const result = known
    ? await repo.update(item.key, item.patch, actor)
    : await repo.add({ [keyField]: item.key, ...item.patch }, actor, item.createdAt === undefined ? {} : { createdAt: item.createdAt })
  if (!result.ok) return result
  return { ok: true, changed: result.changed, value: known ? (result.changed ? 'updated' : 'unchanged') : 'added' }
}

async function apply(r: Repositories, plan: ImportPlan, actor: Actor): Promise<Result<Counts>> {
  const counts = Object.fromEntries(RECORDS.map((k) => [k, { added: 0, updated: 0, unchanged: 0 }])) as Counts
  const tally = (kind: keyof Counts, outcome: 'added' | 'updated' | 'unchanged') => counts[kind][outcome]++
  const steps: Array<[keyof Counts, Planned[], Parameters<typeof put>[0], string]> = [
    ['farms', plan.farms, r.farms, 'id'],
    ['people', plan.people, r.people, 'id'],
  ]
  for (const [kind, items, repo, keyField] of steps) {
    for (const item of items) {
      const result = await put(repo, keyField, item, actor)
      if (!result.ok) return within(result, kind, item.key)
      tally(kind, result.value)
    }
  }
  for (const m of plan.memberships) {
    const result = await r.memberships.add(m, actor)
    if (!result.ok) return within(result, 'memberships', `${m.personId}`)
    tally('memberships', result.changed ? 'added' : 'unchanged')
  }
  for (const item of plan.devices) {
    const result = await put(r.devices, 'id', item, actor)
    if (!result.ok) return within(result, 'devices', item.key)
    tally('devices', result.value)
  }
  for (const o of plan.overrides) {
    const before = (await r.overrides.list({ farmId: String(o.farmId) })).some((x) => x.rule === o.rule && x.deviceId === o.deviceId)
    const result = await r.overrides.set(o, actor)
    if (!result.ok) return within(result, 'overrides', `${String(o.farmId)}.${String(o.deviceId ?? '')}.${String(o.rule)}`)
    tally('overrides', !result.changed ? 'unchanged' : before ? 'updated' : 'added')
  }
  for (const item of plan.accounts) {
    const result = await put(r.accounts, 'username', item, actor)
    if (!result.ok) return within(result, 'accounts', item.key)
    tally('accounts', result.value)
  }
  const changed = RECORDS.some((k) => counts[k].added + counts[k].updated > 0)
  return { ok: true, value: counts, changed }
}

export interface ImportPaths {
  dataDir: string
  /** Default DATA_DIR/accounts.json. */
  accounts?: string | undefined
  /** The alerts' contacts file, resolved against DATA_DIR. */
  contacts: string
}

export type ImportOutcome =
  | { ok: true; changed: boolean; counts: Counts; files: SourceFile[] }
  | { ok: false; reason: 'conflict'; issues: string[] }
  | { ok: false; reason: 'unreadable'; message: string }
  | Failure

/** Reads the files and brings what they hold into the registry: one transaction, one audit row. */
export async function importFiles(registry: Registry, paths: ImportPaths, actor: Actor): Promise<ImportOutcome> {
  const accountsSource = await readSource(resolve(paths.accounts ?? join(paths.dataDir, 'accounts.json')))
  const contactsPath = resolve(paths.dataDir, paths.contacts)
  const contactsSource = await readSource(contactsPath)
  const linksSource = await readSource(join(paths.dataDir, 'alerts', 'state.json'))

  let accounts: AccountsFile | undefined
  try {
    accounts = accountsSource.text === undefined ? undefined : AccountsFile.parse(JSON.parse(accountsSource.text))
  } catch (err) {
    return { ok: false, reason: 'unreadable', message: `${accountsSource.file.path}: ${(err as Error).message}` }
  }
  const farms = await loadFarms(contactsPath)
  if (!farms.ok) return { ok: false, reason: 'unreadable', message: farms.reason }
  const links = linksSource.text === undefined ? {} : LinksFile.parse(JSON.parse(linksSource.text)).links

  const planned = planImport({ accounts, contacts: farms.farms.fromFile ? farms.farms.file : undefined, lineLinks: links })
  if (!planned.ok) return { ok: false, reason: 'conflict', issues: planned.reasons }

  const files = [accountsSource.file, contactsSource.file, linksSource.file].filter((f) => f.sha256 !== null)
  const result = await registry.atomically(async (r) => {
    const applied = await apply(r, planned.plan, actor)
    if (applied.ok && applied.changed) await r.audit.record(actor, 'registry.import', 'registry', { files, counts: applied.value })
    return applied
  })
  return result.ok ? { ok: true, changed: result.changed, counts: result.value, files } : result
}

/**
 * The first start of an installation that still has accounts.json or contacts.json: a registry
 * that was never imported into gets them, once (logged), even if something (`suanyang sim`,
 * `farm add`) wrote to it before. A start with nothing to import leaves a `registry.first-start`
 * row, so the files are not looked at again: afterwards the registry is the only source.
 * Several processes starting at once on one PostgreSQL: one imports, the others collide on its
 * rows (refused as existing, or a constraint error) and find the import row afterwards, which is
 * all a first start needs. Returns what this process imported, undefined when it had nothing to do.
 */
export async function importOnFirstStart(registry: Registry, dataDir: string, env: Env, log: Logger): Promise<ImportOutcome | undefined> {
  // Both `registry.import` and `registry.first-start` rows have the target `registry`.
  const imported = async () => (await registry.audit.list({ target: 'registry', limit: 1 })).length > 0
  if (await imported()) return undefined
  const contacts = AlertsEnv.shape.ALERTS_CONTACTS_FILE.parse(env.ALERTS_CONTACTS_FILE || undefined)
  const actor = { who: 'first-start', how: 'system' } as const
  let outcome: ImportOutcome
  try {
    outcome = await importFiles(registry, { dataDir, contacts }, actor)
  } catch (err) {
    if (await imported()) return undefined
    throw err
  }
  if (outcome.ok) {
    if (!outcome.changed) await registry.audit.record(actor, 'registry.first-start', 'registry', { files: outcome.files })
    if (outcome.changed) log.info({ counts: outcome.counts, files: outcome.files.map((f) => f.path), registry: registry.location }, 'imported the old account and contact files into the registry (first start)')
    return outcome
  }
  if (await imported()) return undefined
  const detail = outcome.reason === 'conflict' ? outcome.issues : outcome.reason === 'unreadable' ? [outcome.message] : outcome.issues.map((i) => `${i.field}: ${i.en}`)
  // Nothing was imported: starting with an empty registry would lock every device out.
  throw new Error(`importing the old files into the registry failed (${outcome.reason}), fix them or run suanyang import: ${detail.join('; ')}`)
}

export async function importCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      accounts: { type: 'string' },
      contacts: { type: 'string' },
      by: { type: 'string' },
      json: { type: 'boolean', default: false },
      lang: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    io.stdout.write(USAGE)
    return 0
  }
  const locale = localeOf(values.lang, io.env)
  if (!locale) return fail(io, '--lang must be th or en')
  const { dataDir } = configFor(io.env)
  const contactsName = AlertsEnv.shape.ALERTS_CONTACTS_FILE.parse(io.env.ALERTS_CONTACTS_FILE || undefined)
  const registry = await openCliRegistry(io)
  if (!registry) return 1
  try {
    const result = await importFiles(registry, { dataDir, accounts: values.accounts, contacts: values.contacts ?? contactsName }, actorOf(values.by))
    if (!result.ok && result.reason === 'unreadable') return fail(io, result.message)
    if (!result.ok && result.reason === 'conflict') {
      if (values.json) io.stderr.write(`${JSON.stringify({ ok: false, reason: 'conflict', issues: result.issues })}\n`)
      else io.stderr.write(`${TEXT[locale].conflict}\n${result.issues.map((r) => `  ${r}`).join('\n')}\n`)
      return 2
    }
    if (!result.ok) return printFailure(io, result, locale, values.json)
    const where = `${registry.dialect}: ${registry.location}`
    if (values.json) io.stdout.write(`${JSON.stringify({ ok: true, changed: result.changed, counts: result.counts, files: result.files, registry: where })}\n`)
    else if (!result.changed) io.stdout.write(`${fill(TEXT[locale].nothing, { where })}\n`)
    else {
      const lines = RECORDS.map((kind) => fill(TEXT[locale].line, { kind: RECORD_NAMES[locale][kind], ...result.counts[kind] }))
      io.stdout.write(`${fill(TEXT[locale].done, { where })}\n${lines.join('\n')}\n`)
    }
    return 0
  } finally {
    await registry.close()
  }
}
