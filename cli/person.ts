/**
 * `suanyang person add|edit|list|remove`: people and their roles over farms, a cooperative or
 * every farm. A person and the roles given with them are saved together or not at all.
 * `person password|sign-in-link|sign-out`: their own sign-in (issue 14): a password, a one-time
 * link to open on their phone (send it by LINE or SMS), or the end of every session they hold.
 */
import { readFile } from 'node:fs/promises'
import { issuePersonAccount } from '../runtime/auth.js'
import { newSecret } from '../runtime/secrets.js'
import { personUsername } from '../registry/repos/sessions.js'
import { lanAddress } from '../runtime/lan.js'
import type { Failure, Locale, Membership, Person, Registry, Repositories, Result } from '../registry/index.js'
import { PERSON_ROLES } from '../registry/schemas.js'
import { type CommandIo, commonConfig, fail } from './io.js'
import { actorOf, fieldsFrom, openCliRegistry, type OptionSpec, optionNames, parseCommand, printFailure, stringOptions } from './registry-io.js'

export const PERSON_OPTIONS: Record<string, OptionSpec> = {
  name: { field: 'name', type: 'text' },
  locale: { field: 'locale', type: 'text' },
  line: { field: 'lineUserId', type: 'text' },
  phone: { field: 'phone', type: 'text' },
  quiet: { field: 'quietHours', type: 'quiet' },
}

const USAGE = `Usage:
  suanyang person add --id P --name N [options] [--role R SCOPE] [--json]
  suanyang person edit --id P [options] [--role R SCOPE | --revoke R SCOPE] [--json]
  suanyang person list [--farm F] [--json]
  suanyang person remove --id P [--json]
  suanyang person password --id P (--generate | --password-file FILE|-) [--json]
  suanyang person sign-in-link --id P [--hours H] [--url CONSOLE_URL] [--json]
  suanyang person sign-out --id P [--json]
  suanyang person mqtt --id P [--operator] [--remove] [--json]   their own broker login, shown once
Options: --locale th|en --line U<32 hex> --phone 0812345678 --quiet HH:MM-HH:MM (empty clears)
Roles: ${PERSON_ROLES.join(', ')}; SCOPE: --farm F (repeatable) | --cooperative C | --all-farms
Common: --by NAME (for the audit log; default: your login) --lang th|en (default: from LANG)
`

const TEXT = {
  th: {
    added: 'เพิ่ม "{id}" แล้ว', updated: 'แก้ไข "{id}" แล้ว', same: '"{id}" ไม่มีอะไรเปลี่ยน', removed: 'ลบ "{id}" แล้ว', none: 'ยังไม่มีรายชื่อในทะเบียน',
    scope: 'ระบุ --farm, --cooperative หรือ --all-farms อย่างใดอย่างหนึ่ง', all: 'ทุกสวน',
  },
  en: {
    added: 'added "{id}"', updated: 'updated "{id}"', same: '"{id}": nothing changed', removed: 'removed "{id}"', none: 'nobody in the registry',
    scope: 'give one of --farm, --cooperative or --all-farms', all: 'every farm',
  },
} as const
const SIGN_IN_ACTIONS = ['password', 'sign-in-link', 'sign-out', 'mqtt'] as const
type SignInAction = (typeof SIGN_IN_ACTIONS)[number]

/** A password from a file or stdin (`-`): its first line, so `echo pw >file` works. */
async function readPassword(path: string): Promise<string> {
  const text =
    path === '-'
      ? await new Promise<string>((resolve, reject) => {
          let data = ''
          process.stdin
            .setEncoding('utf8')
            .on('data', (d: string) => (data += d))
            .on('end', () => resolve(data))
            .on('error', reject)
        })
      : await readFile(path, 'utf8')
  return text.split(/\r?\n/)[0] ?? ''
}

async function signInCommand(
  registry: Registry,
  action: SignInAction,
  id: string,
  values: { generate: boolean; operator: boolean; remove: boolean; 'password-file'?: string | undefined; hours?: string | undefined; url?: string | undefined; json?: boolean | undefined },
  io: CommandIo,
  actor: ReturnType<typeof actorOf>,
): Promise<number> {
  const print = (text: string, record: unknown) => io.stdout.write(values.json ? `${JSON.stringify(record)}\n` : `${text}\n`)
  const refused = (issues: Array<{ field: string; th: string; en: string }>, code: number) => fail(io, issues.map((i) => `${i.field}: ${i.en} / ${i.th}`).join('\n'), code)
  if (action === 'mqtt') {
    const role = values.operator ? 'operator' : 'viewer'
    if (values.remove) {
      const gone = await registry.sessions.removePersonAccount(id, personUsername(id, role), actor)
      if (!gone) return fail(io, `${id} has no ${role} login`, 1)
      print(`${id}: ${role} login removed`, { person: id, removed: personUsername(id, role) })
      return 0
    }
    const made = await issuePersonAccount(registry, id, role, { who: actor.who, how: 'cli' })
    if ('error' in made) return fail(io, made.error, made.notFound ? 1 : 2)
    // Shown once: only its hash is kept. Its farms follow the person's roles from now on.
    print(`username: ${made.username}\npassword: ${made.password}\nfarms: ${made.farms.join(', ') || '(none yet)'}`, { person: id, role, ...made })
    return 0
  }
  if (action === 'sign-out') {
    const n = await registry.sessions.endAll(id, actor)
    print(`${id}: ${n} session(s) ended`, { person: id, ended: n })
    return 0
  }
  if (action === 'password') {
    if (values.generate === (values['password-file'] !== undefined)) return fail(io, 'give --generate or --password-file FILE (- for stdin)')
    const password = values.generate ? newSecret(12) : await readPassword(values['password-file'] ?? '-')
    const r = await registry.sessions.setPassword(id, password, actor)
    if (!r.ok) return refused(r.issues, r.reason === 'not_found' ? 1 : 2)
    // A generated password is shown once, here; it is stored only as a hash.
    print(values.generate ? `${id}: password set: ${password}` : `${id}: password set`, values.generate ? { person: id, password } : { person: id })
    return 0
  }
  const hours = values.hours === undefined ? Number(io.env.SIGN_IN_LINK_TTL_HOURS ?? 24) : Number(values.hours)
  if (!(Number.isFinite(hours) && hours > 0 && hours <= 720)) return fail(io, '--hours is a number of hours, at most 720')
  const r = await registry.sessions.createLink(id, hours * 3_600_000, actor)
  if (!r.ok) return refused(r.issues, 1)
  const base = values.url ?? `http://${lanAddress()}:${commonConfig(io.env).HTTP_PORT}/console/`
  const link = `${base}#signin=${r.value.token}`
  print(`${link}\n(one use, until ${r.value.expiresAt})`, { person: id, link, expiresAt: r.value.expiresAt })
  return 0
}

const say = (locale: Locale, key: keyof (typeof TEXT)['en'], id = '') => TEXT[locale][key].replace('{id}', id)

interface Scoped {
  farms: string[]
  cooperative: string | undefined
  allFarms: boolean
}

/** The memberships a --role or --revoke names, or a refusal when the scope is missing or mixed. */
function scopes(personId: string, role: string, s: Scoped): Array<Record<string, unknown>> | Failure {
  const given = (s.farms.length > 0 ? 1 : 0) + (s.cooperative !== undefined ? 1 : 0) + (s.allFarms ? 1 : 0)
  if (given !== 1) return { ok: false, reason: 'invalid', issues: [{ field: 'scope', th: TEXT.th.scope, en: TEXT.en.scope }] }
  if (s.cooperative !== undefined) return [{ personId, role, cooperativeId: s.cooperative }]
  if (s.allFarms) return [{ personId, role }]
  return s.farms.map((farmId) => ({ personId, role, farmId }))
}

const scopeText = (m: Membership, locale: Locale) => (m.farmId ?? (m.cooperativeId !== null ? `coop:${m.cooperativeId}` : TEXT[locale].all))

async function withRoles(r: Repositories, person: Person): Promise<Person & { roles: Membership[] }> {
  return { ...person, roles: await r.memberships.list({ personId: person.id }) }
}

export async function personCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand('person', args, io, USAGE, {
    ...stringOptions(PERSON_OPTIONS),
    generate: { type: 'boolean', default: false },
    'password-file': { type: 'string' },
    hours: { type: 'string' },
    url: { type: 'string' },
    operator: { type: 'boolean', default: false },
    remove: { type: 'boolean', default: false },
    role: { type: 'string' },
    revoke: { type: 'string' },
    farm: { type: 'string', multiple: true },
    cooperative: { type: 'string' },
    'all-farms': { type: 'boolean', default: false },
  }, SIGN_IN_ACTIONS)
  if (typeof parsed === 'number') return parsed
  const { action, values, locale, id } = parsed
  if (values.role !== undefined && values.revoke !== undefined) return fail(io, 'give --role or --revoke, not both')
  const fields = fieldsFrom(values, PERSON_OPTIONS)
  const options = optionNames(PERSON_OPTIONS, { id: '--id', scope: '--farm', farmId: '--farm', cooperativeId: '--cooperative', role: values.revoke !== undefined ? '--revoke' : '--role', personId: '--id' })
  const scope: Scoped = { farms: values.farm ?? [], cooperative: values.cooperative, allFarms: values['all-farms'] }
  const actor = actorOf(values.by)
  const out = (text: string, record: unknown) => io.stdout.write(values.json ? `${JSON.stringify(record)}\n` : `${text}\n`)

  const registry = await openCliRegistry(io)
  if (!registry) return 1
  try {
    if ((SIGN_IN_ACTIONS as readonly string[]).includes(action)) return await signInCommand(registry, action as SignInAction, id, values, io, actor)
    if (action === 'list') {
      const people = await registry.people.list(values.farm?.[0] === undefined ? {} : { farmId: values.farm[0] })
      const listed = await Promise.all(people.map((p) => withRoles(registry, p)))
      if (values.json) io.stdout.write(`${JSON.stringify(listed)}\n`)
      else if (listed.length === 0) io.stdout.write(`${say(locale, 'none')}\n`)
      else {
        const rows = listed.map((p) => [p.id, p.name, p.roles.map((m) => `${m.role}@${scopeText(m, locale)}`).join(',') || '-', p.phone ?? '-', p.lineUserId ? 'LINE' : '-'].join('\t'))
        io.stdout.write(`${rows.join('\n')}\n`)
      }
      return 0
    }
    if (action === 'remove') {
      const r = await registry.people.remove(id, actor)
      if (!r.ok) return printFailure(io, r, locale, values.json, options)
      out(say(locale, 'removed', id), r.value)
      return 0
    }
    const role = values.role ?? values.revoke
    const memberships = role === undefined ? [] : scopes(id, role, scope)
    if (!Array.isArray(memberships)) return printFailure(io, memberships, locale, values.json, options)
    const result = await registry.atomically(async (r): Promise<Result<Person & { roles: Membership[] }>> => {
      const saved = action === 'add' ? await r.people.add({ ...fields, id }, actor) : await r.people.update(id, fields, actor)
      if (!saved.ok) return saved
      let changed = saved.changed
      for (const m of memberships) {
        const done = values.revoke !== undefined ? await r.memberships.remove(m, actor) : await r.memberships.add(m, actor)
        if (!done.ok) return done
        changed ||= done.changed
      }
      return { ok: true, value: await withRoles(r, saved.value), changed }
    })
    if (!result.ok) return printFailure(io, result, locale, values.json, options)
    out(say(locale, action === 'add' ? 'added' : result.changed ? 'updated' : 'same', id), result.value)
    return 0
  } finally {
    await registry.close()
  }
}
