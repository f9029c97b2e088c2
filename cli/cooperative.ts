/**
 * `suanyang cooperative add|edit|list|remove`: the cooperatives farms belong to (issue 14). A
 * lead's or technician's role over a cooperative reaches its farms (registry/access.ts). A
 * cooperative that still has farms is not removed; its roles go with it.
 */
import type { Cooperative, Locale } from '../registry/index.js'
import type { CommandIo } from './io.js'
import { actorOf, fieldsFrom, openCliRegistry, type OptionSpec, optionNames, parseCommand, printFailure, stringOptions } from './registry-io.js'

export const COOPERATIVE_OPTIONS: Record<string, OptionSpec> = {
  'name-th': { field: 'nameTh', type: 'text' },
  'name-en': { field: 'nameEn', type: 'text' },
}

const USAGE = `Usage:
  suanyang cooperative add --id C [--name-th T] [--name-en T] [--json]
  suanyang cooperative edit --id C [--name-th T] [--name-en T] [--json]
  suanyang cooperative list [--json]
  suanyang cooperative remove --id C [--json]   (refused while farms belong to it)
Give its farms with: suanyang farm edit --id F --cooperative C
Common: --by NAME (for the audit log; default: your login) --lang th|en (default: from LANG)
`

const TEXT = {
  th: { added: 'เพิ่มสหกรณ์ "{id}" แล้ว', updated: 'แก้ไขสหกรณ์ "{id}" แล้ว', same: 'สหกรณ์ "{id}" ไม่มีอะไรเปลี่ยน', removed: 'ลบสหกรณ์ "{id}" แล้ว', none: 'ยังไม่มีสหกรณ์ในทะเบียน' },
  en: { added: 'added cooperative "{id}"', updated: 'updated cooperative "{id}"', same: 'cooperative "{id}": nothing changed', removed: 'removed cooperative "{id}"', none: 'no cooperatives in the registry' },
} as const
const say = (locale: Locale, key: keyof (typeof TEXT)['en'], id = '') => TEXT[locale][key].replace('{id}', id)

const line = (c: Cooperative, farms: number) => [c.id, c.nameTh ?? '-', c.nameEn ?? '-', `${farms} farm(s)`].join('\t')

export async function cooperativeCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand('cooperative', args, io, USAGE, stringOptions(COOPERATIVE_OPTIONS))
  if (typeof parsed === 'number') return parsed
  const { action, values, locale, id } = parsed
  const fields = fieldsFrom(values, COOPERATIVE_OPTIONS)
  const options = optionNames(COOPERATIVE_OPTIONS, { id: '--id' })
  const actor = actorOf(values.by)
  const out = (text: string, record: unknown) => io.stdout.write(values.json ? `${JSON.stringify(record)}\n` : `${text}\n`)

  const registry = await openCliRegistry(io)
  if (!registry) return 1
  try {
    if (action === 'list') {
      const [coops, farms] = await Promise.all([registry.cooperatives.list(), registry.farms.list()])
      const count = (c: Cooperative) => farms.filter((f) => f.cooperativeId === c.id).length
      if (values.json) io.stdout.write(`${JSON.stringify(coops.map((c) => ({ ...c, farms: farms.filter((f) => f.cooperativeId === c.id).map((f) => f.id) })))}\n`)
      else io.stdout.write(coops.length === 0 ? `${say(locale, 'none')}\n` : `${coops.map((c) => line(c, count(c))).join('\n')}\n`)
      return 0
    }
    const r =
      action === 'add'
        ? await registry.cooperatives.add({ ...fields, id }, actor)
        : action === 'edit'
          ? await registry.cooperatives.update(id, fields, actor)
          : await registry.cooperatives.remove(id, actor)
    if (!r.ok) return printFailure(io, r, locale, values.json, options)
    out(say(locale, action === 'add' ? 'added' : action === 'remove' ? 'removed' : r.changed ? 'updated' : 'same', id), r.value)
    return 0
  } finally {
    await registry.close()
  }
}
