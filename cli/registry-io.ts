/**
 * What the registry commands (import, farm, person) share: the registry opened from DATA_DIR
 * and DATABASE_URL, the reader's language (--lang, else LC_ALL / LC_MESSAGES / LANG), who is
 * acting (--by, else the login name), and refusals printed field by field, with the option
 * that set each field. Exit codes: 0 done, 1 refused (not found, exists, in use), 2 bad input.
 */
import { userInfo } from 'node:os'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { checkOverrides } from '../alerts/rules.js'
import { CommonEnv, type Env, loadAll } from '../runtime/config.js'
import { RegistryEnv } from '../registry/config.js'
import { type Actor, type Failure, type Locale, type Registry, openRegistry, redactUrl, sqlitePath } from '../registry/index.js'
import { formatIssue, label } from '../registry/messages.js'
import { usageLine } from './args.js'
import { type CommandIo, fail } from './io.js'

export function configFor(env: Env) {
  const [common, registry] = loadAll([CommonEnv, RegistryEnv] as const, env)
  return { dataDir: common.DATA_DIR, databaseUrl: registry.DATABASE_URL }
}

/**
 * The registry, or undefined when it cannot be opened (a bad DATABASE_URL, a server that does
 * not answer, a schema newer than this code): said in one line on stderr, no stack trace.
 */
export async function openCliRegistry(io: CommandIo): Promise<Registry | undefined> {
  const config = configFor(io.env)
  const where = config.databaseUrl === undefined ? sqlitePath(config.dataDir) : redactUrl(config.databaseUrl)
  try {
    return await openRegistry({ ...config, checkOverrides })
  } catch (err) {
    io.stderr.write(`cannot open the registry (${where}): ${(err as Error).message}\n`)
    return undefined
  }
}

export function localeOf(lang: string | undefined, env: Env): Locale | undefined {
  if (lang !== undefined) return lang === 'th' || lang === 'en' ? lang : undefined
  const system = env.LC_ALL || env.LC_MESSAGES || env.LANG || ''
  return /^th/i.test(system) ? 'th' : 'en'
}

export function actorOf(by: string | undefined): Actor {
  if (by !== undefined) return { who: by, how: 'cli' }
  try {
    return { who: userInfo().username || 'cli', how: 'cli' }
  } catch {
    return { who: 'cli', how: 'cli' } // no passwd entry for this uid (some containers)
  }
}

const HEADINGS: Record<Failure['reason'], Record<Locale, string>> = {
  invalid: { th: 'ข้อมูลไม่ถูกต้อง ไม่ได้บันทึกอะไร:', en: 'invalid input, nothing was saved:' },
  not_found: { th: 'ไม่พบข้อมูล ไม่ได้บันทึกอะไร:', en: 'not found, nothing was saved:' },
  exists: { th: 'มีอยู่แล้ว ไม่ได้บันทึกอะไร:', en: 'already there, nothing was saved:' },
  in_use: { th: 'ยังใช้งานอยู่ ไม่ได้ลบ:', en: 'still in use, nothing was removed:' },
}

/**
 * Prints a refusal and returns the exit code. `options` maps a field path to the command-line
 * option that sets it (`equipment.pvArrayWp` -> `--pv-wp`), so each line names what to fix.
 */
export function printFailure(io: CommandIo, failure: Failure, locale: Locale, json: boolean, options: Record<string, string> = {}): number {
  const code = failure.reason === 'invalid' ? 2 : 1
  if (json) {
    const issues = failure.issues.map((i) => ({ field: i.field, option: options[i.field], message: i[locale], th: i.th, en: i.en }))
    io.stderr.write(`${JSON.stringify({ ok: false, reason: failure.reason, issues })}\n`)
    return code
  }
  const lines = failure.issues.map((i) => {
    const option = options[i.field]
    return option ? `  ${option} (${label(i.field)[locale]}): ${i[locale]}` : `  ${formatIssue(i, locale)}`
  })
  io.stderr.write(`${HEADINGS[failure.reason][locale]}\n${lines.join('\n')}\n`)
  return code
}

/** How a command-line option becomes a field of the record. */
export interface OptionSpec {
  /** The field's path in the repository's input (`equipment.pvArrayWp`). */
  field: string
  type: 'text' | 'number' | 'quiet'
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)$/

/**
 * One option's value as the field takes it. An empty value clears a field that may be empty
 * (`--name-en ''`); a number that does not parse stays NaN, so the schema names the option.
 */
function convert(spec: OptionSpec, raw: string): unknown {
  if (raw === '') return null
  if (spec.type === 'number') return NUMBER.test(raw.trim()) ? Number(raw) : Number.NaN
  if (spec.type === 'quiet') {
    const [start = '', end = ''] = raw.split('-')
    return { start: start.trim(), end: end.trim() }
  }
  return raw
}

/** The record's fields given on the command line, nested as the repository takes them. */
export function fieldsFrom(values: Record<string, unknown>, specs: Record<string, OptionSpec>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [option, spec] of Object.entries(specs)) {
    const raw = values[option]
    if (typeof raw !== 'string') continue
    const path = spec.field.split('.')
    let at = out
    for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>
    at[path.at(-1) as string] = convert(spec, raw)
  }
  return out
}

/** Field path -> `--option`, for printFailure; a nested issue (`quietHours.start`) names its option too. */
export function optionNames(specs: Record<string, OptionSpec>, extra: Record<string, string> = {}): Record<string, string> {
  const names: Record<string, string> = { ...extra }
  for (const [option, spec] of Object.entries(specs)) {
    names[spec.field] = `--${option}`
    if (spec.type === 'quiet') for (const part of ['start', 'end']) names[`${spec.field}.${part}`] = `--${option}`
  }
  return names
}

/** parseArgs options for the specs: each a string option. */
export const stringOptions = (specs: Record<string, OptionSpec>) =>
  Object.fromEntries(Object.keys(specs).map((name) => [name, { type: 'string' as const }]))

const COMMON_OPTIONS = {
  id: { type: 'string' },
  by: { type: 'string' },
  json: { type: 'boolean', default: false },
  lang: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

type OptionsConfig = NonNullable<ParseArgsConfig['options']>
type Parsed<O extends OptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; allowNegative: true; options: O & typeof COMMON_OPTIONS }>>

export const ACTIONS = ['add', 'edit', 'list', 'remove'] as const
export type Action = (typeof ACTIONS)[number]

/**
 * The start every record command shares: its options plus --id --by --json --lang --help,
 * one action of add|edit|list|remove, --id for all but list, the reader's language. Returns an
 * exit code when there is nothing more to do (help, usage error).
 */
export function parseCommand<O extends OptionsConfig>(
  name: string,
  args: string[],
  io: CommandIo,
  usage: string,
  options: O,
  /** Actions of this command besides add, edit, list and remove (each needs --id). */
  extra: readonly string[] = [],
): number | { action: Action | string; values: Parsed<O>['values']; locale: Locale; id: string } {
  let parsed: Parsed<O>
  try {
    parsed = parseArgs({ args, allowPositionals: true, allowNegative: true, options: { ...options, ...COMMON_OPTIONS } }) as Parsed<O>
  } catch (err) {
    // The one line every command gives (cli/args.ts), not the usage after Node's message.
    return fail(io, usageLine(name, err) ?? `${(err as Error).message}\n${usage}`)
  }
  const { positionals, values } = parsed
  const [action] = positionals
  const common = values as { help?: boolean; lang?: string; id?: string }
  if (common.help || !action) {
    io.stdout.write(usage)
    return common.help ? 0 : 2
  }
  const locale = localeOf(common.lang, io.env)
  if (!locale) return fail(io, '--lang must be th or en')
  if (![...ACTIONS, ...extra].includes(action)) return fail(io, `unknown ${name} action "${action}"\n${usage}`)
  if (action !== 'list' && !common.id) return fail(io, `${name} ${action} needs --id\n${usage}`)
  return { action, values: values, locale, id: common.id ?? '' }
}
