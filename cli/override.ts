/**
 * `suanyang override set|list|remove`: an alert rule's settings for one farm or one of its devices
 * (issue 14: rule overrides in the registry, not in contacts.json). `set` replaces the whole
 * override of that rule there; the alert rules check names and parameters first (alerts/rules.ts
 * checkOverrides), so a misspelt rule or parameter is refused and nothing is saved.
 */
import { parseArgs } from 'node:util'
import type { Locale, RuleOverride } from '../registry/index.js'
import { usageLine } from './args.js'
import { type CommandIo, fail } from './io.js'
import { actorOf, localeOf, openCliRegistry, printFailure } from './registry-io.js'

const USAGE = `Usage:
  suanyang override set --farm F [--device D] --rule R [--enabled | --no-enabled] [--severity S]
                        [--pending-min N] [--clear-min N] [--param NAME=VALUE ...] [--json]
  suanyang override list [--farm F] [--device D] [--json]
  suanyang override remove --farm F [--device D] --rule R [--json]
A device's override follows the device when it moves farm. Common: --by NAME --lang th|en
`

const TEXT = {
  th: { set: 'ตั้งค่ากฎ "{id}" แล้ว', same: 'กฎ "{id}" ไม่มีอะไรเปลี่ยน', removed: 'ลบการตั้งค่ากฎ "{id}" แล้ว', none: 'ยังไม่มีการปรับกฎ' },
  en: { set: 'set rule "{id}"', same: 'rule "{id}": nothing changed', removed: 'removed the override of rule "{id}"', none: 'no rule overrides' },
} as const
const say = (locale: Locale, key: keyof (typeof TEXT)['en'], id = '') => TEXT[locale][key].replace('{id}', id)

const OPTIONS = { farm: '--farm', deviceId: '--device', rule: '--rule', enabled: '--enabled', severity: '--severity', pendingMin: '--pending-min', clearMin: '--clear-min', params: '--param', farmId: '--farm' }

/** `NAME=VALUE` pairs to numbers (an empty value or `null`: the rule's default). */
function paramsOf(pairs: readonly string[]): Record<string, number | null> | string {
  const out: Record<string, number | null> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) return `--param ${pair}: use NAME=VALUE`
    const value = pair.slice(eq + 1).trim()
    const n = value === '' || value === 'null' ? null : Number(value)
    if (n !== null && !Number.isFinite(n)) return `--param ${pair}: the value is a number`
    out[pair.slice(0, eq)] = n
  }
  return out
}

const numberOr = (v: string | undefined): number | null | undefined => (v === undefined ? undefined : v === '' ? null : Number(v))

const line = (o: RuleOverride) =>
  [o.farmId, o.deviceId ?? '*', o.rule, o.enabled === null ? '-' : o.enabled ? 'on' : 'off', o.severity ?? '-', JSON.stringify(o.params)].join('\t')

export async function overrideCommand(args: string[], io: CommandIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      allowNegative: true,
      options: {
        farm: { type: 'string' },
        device: { type: 'string' },
        rule: { type: 'string' },
        enabled: { type: 'boolean' },
        severity: { type: 'string' },
        'pending-min': { type: 'string' },
        'clear-min': { type: 'string' },
        param: { type: 'string', multiple: true },
        by: { type: 'string' },
        json: { type: 'boolean', default: false },
        lang: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    return fail(io, usageLine('override', err) ?? `${(err as Error).message}\n${USAGE}`)
  }
  const { positionals, values } = parsed
  const [action] = positionals
  if (values.help || !action) {
    io.stdout.write(USAGE)
    return values.help ? 0 : 2
  }
  const locale = localeOf(values.lang, io.env)
  if (!locale) return fail(io, '--lang must be th or en')
  if (!['set', 'list', 'remove'].includes(action)) return fail(io, `unknown override action "${action}"\n${USAGE}`)
  if (action !== 'list' && (!values.farm || !values.rule)) return fail(io, `override ${action} needs --farm and --rule\n${USAGE}`)
  const params = paramsOf(values.param ?? [])
  if (typeof params === 'string') return fail(io, params)
  const actor = actorOf(values.by)
  const out = (text: string, record: unknown) => io.stdout.write(values.json ? `${JSON.stringify(record)}\n` : `${text}\n`)

  const registry = await openCliRegistry(io)
  if (!registry) return 1
  try {
    if (action === 'list') {
      const list = await registry.overrides.list({ ...(values.farm && { farmId: values.farm }), ...(values.device && { deviceId: values.device }) })
      if (values.json) io.stdout.write(`${JSON.stringify(list)}\n`)
      else io.stdout.write(list.length === 0 ? `${say(locale, 'none')}\n` : `${list.map(line).join('\n')}\n`)
      return 0
    }
    const at = { farmId: values.farm ?? '', deviceId: values.device ?? null, rule: values.rule ?? '' }
    if (action === 'remove') {
      const r = await registry.overrides.remove(at, actor)
      if (!r.ok) return printFailure(io, r, locale, values.json, OPTIONS)
      out(say(locale, 'removed', at.rule), r.value)
      return 0
    }
    const r = await registry.overrides.set(
      {
        ...at,
        enabled: values.enabled ?? null,
        severity: values.severity === undefined || values.severity === '' ? null : values.severity,
        pendingMin: numberOr(values['pending-min']) ?? null,
        clearMin: numberOr(values['clear-min']) ?? null,
        params,
      },
      actor,
    )
    if (!r.ok) return printFailure(io, r, locale, values.json, OPTIONS)
    out(say(locale, r.changed ? 'set' : 'same', at.rule), r.value)
    return 0
  } finally {
    await registry.close()
  }
}
