/**
 * `suanyang farm add|edit|list|remove`: the registry's farms without editing JSON (issue 14).
 * Every option sets one field; an empty value clears a field that may be empty. Bad input is
 * refused field by field in the reader's language (exit 2) and nothing is saved.
 */
import type { Farm, Locale } from '../registry/index.js'
import type { CommandIo } from './io.js'
import { actorOf, fieldsFrom, openCliRegistry, type OptionSpec, optionNames, parseCommand, printFailure, stringOptions } from './registry-io.js'

export const FARM_OPTIONS: Record<string, OptionSpec> = {
  'name-th': { field: 'nameTh', type: 'text' },
  'name-en': { field: 'nameEn', type: 'text' },
  cooperative: { field: 'cooperativeId', type: 'text' },
  lat: { field: 'latDeg', type: 'number' },
  lon: { field: 'lonDeg', type: 'number' },
  'time-zone': { field: 'timeZone', type: 'text' },
  'escalate-min': { field: 'escalateAfterMin', type: 'number' },
  quiet: { field: 'quietHours', type: 'quiet' },
  'panel-cleaning-days': { field: 'maintenance.panelCleaningDays', type: 'number' },
  'filter-run-hours': { field: 'maintenance.filterRunHours', type: 'number' },
  'pv-wp': { field: 'equipment.pvArrayWp', type: 'number' },
  'pump-model': { field: 'equipment.pumpModel', type: 'text' },
  'pump-head-m': { field: 'equipment.pumpHeadM', type: 'number' },
  'tank-l': { field: 'equipment.tankCapacityL', type: 'number' },
  'bank-area-m2': { field: 'equipment.bankAreaM2', type: 'number' },
  'bank-depth-cm': { field: 'equipment.bankDepthCm', type: 'number' },
  'level-sensor-cm': { field: 'equipment.levelSensorCm', type: 'number' },
  'soil-fc-pct': { field: 'equipment.soilFieldCapacityPct', type: 'number' },
  'soil-wp-pct': { field: 'equipment.soilWiltingPointPct', type: 'number' },
}

const USAGE = `Usage:
  suanyang farm add --id F [options] [--json]
  suanyang farm edit --id F [options] [--json]      (an empty value clears: --name-en '')
  suanyang farm list [--training] [--cooperative C] [--json]
  suanyang farm remove --id F [--json]
Options:
  --name-th T --name-en T --cooperative C --lat DEG --lon DEG --time-zone Asia/Bangkok
  --training | --no-training (alerts of a training farm reach its trainers only)
  --escalate-min N --quiet HH:MM-HH:MM --panel-cleaning-days N --filter-run-hours N
  --pv-wp W --pump-model M --pump-head-m M --tank-l L --bank-area-m2 M2 --bank-depth-cm CM
  --level-sensor-cm CM (above the bank floor) --soil-fc-pct P --soil-wp-pct P
Common: --by NAME (for the audit log; default: your login) --lang th|en (default: from LANG)
`

const TEXT = {
  th: { added: 'เพิ่มสวน "{id}" แล้ว', updated: 'แก้ไขสวน "{id}" แล้ว', same: 'สวน "{id}" ไม่มีอะไรเปลี่ยน', removed: 'ลบสวน "{id}" แล้ว', none: 'ยังไม่มีสวนในทะเบียน', training: 'ฝึกอบรม' },
  en: { added: 'added farm "{id}"', updated: 'updated farm "{id}"', same: 'farm "{id}": nothing changed', removed: 'removed farm "{id}"', none: 'no farms in the registry', training: 'training' },
} as const

const say = (locale: Locale, key: keyof (typeof TEXT)['en'], id = '') => TEXT[locale][key].replace('{id}', id)

function line(f: Farm, locale: Locale): string {
  const name = (locale === 'th' ? (f.nameTh ?? f.nameEn) : (f.nameEn ?? f.nameTh)) ?? ''
  return [f.id, name, f.cooperativeId ?? '-', f.training ? TEXT[locale].training : '-', f.equipment.pvArrayWp === null ? '-' : `${f.equipment.pvArrayWp} Wp`].join('\t')
}

export async function farmCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand('farm', args, io, USAGE, { ...stringOptions(FARM_OPTIONS), training: { type: 'boolean' } })
  if (typeof parsed === 'number') return parsed
  const { action, values, locale, id } = parsed
  const fields: Record<string, unknown> = { ...fieldsFrom(values, FARM_OPTIONS), ...(values.training !== undefined && { training: values.training }) }
  const options = optionNames(FARM_OPTIONS, { id: '--id', training: '--training' })
  const actor = actorOf(values.by)
  const out = (text: string, record: unknown) => io.stdout.write(values.json ? `${JSON.stringify(record)}\n` : `${text}\n`)

  const registry = await openCliRegistry(io)
  if (!registry) return 1
  try {
    switch (action) {
      case 'add': {
        const r = await registry.farms.add({ ...fields, id }, actor)
        if (!r.ok) return printFailure(io, r, locale, values.json, options)
        out(say(locale, 'added', id), r.value)
        return 0
      }
      case 'edit': {
        const r = await registry.farms.update(id, fields, actor)
        if (!r.ok) return printFailure(io, r, locale, values.json, options)
        out(say(locale, r.changed ? 'updated' : 'same', id), r.value)
        return 0
      }
      case 'remove': {
        const r = await registry.farms.remove(id, actor)
        if (!r.ok) return printFailure(io, r, locale, values.json, options)
        out(say(locale, 'removed', id), r.value)
        return 0
      }
      default: {
        const farms = await registry.farms.list({
          ...(values.training !== undefined && { training: values.training }),
          ...(typeof fields.cooperativeId === 'string' && { cooperativeId: fields.cooperativeId }),
        })
        if (values.json) io.stdout.write(`${JSON.stringify(farms)}\n`)
        else io.stdout.write(farms.length === 0 ? `${say(locale, 'none')}\n` : `${farms.map((f) => line(f, locale)).join('\n')}\n`)
        return 0
      }
    }
  } finally {
    await registry.close()
  }
}
