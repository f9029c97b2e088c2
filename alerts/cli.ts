/**
 * `suanyang alerts ...`: the technician actions from a terminal, through the running service's
 * HTTP API (so the CLI never edits the state file under a live engine). The URL defaults to
 * this machine's HTTP_PORT; the token is ALERTS_API_TOKEN.
 */
import { parseArgs } from 'node:util'
import { CommonEnv } from '../runtime/config.js'

export interface AlertsCliIo {
  env: Readonly<Record<string, string | undefined>>
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

const USAGE = `Usage:
  suanyang alerts list [--farm F] [--all]
  suanyang alerts show ID
  suanyang alerts ack ID --by NAME
  suanyang alerts resolve ID --by NAME [--note TEXT]
  suanyang alerts maintenance --farm F --device D --type panel_cleaning|filter|repair --by NAME [--note TEXT]
  suanyang alerts cmd stop|start|reset --farm F --device D --by NAME
  suanyang alerts link-code CONTACT_ID
Options: --url http://host:port (default http://127.0.0.1:$HTTP_PORT), --json
`

export async function alertsCommand(args: string[], io: AlertsCliIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      farm: { type: 'string' },
      device: { type: 'string' },
      type: { type: 'string' },
      by: { type: 'string' },
      note: { type: 'string' },
      all: { type: 'boolean', default: false },
      url: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [action, arg] = positionals
  if (values.help || !action) {
    io.stdout.write(USAGE)
    return values.help ? 0 : 2
  }
  const base = values.url ?? `http://127.0.0.1:${CommonEnv.parse(io.env).HTTP_PORT}`
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/alerts/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${io.env.ALERTS_API_TOKEN ?? ''}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> }
  }
  const need = (ok: unknown, what: string) => {
    if (!ok) throw new UsageError(`alerts ${action} needs ${what}`)
  }
  try {
    let r: { status: number; json: Record<string, unknown> }
    switch (action) {
      case 'list':
        r = await call('GET', `alerts?status=${values.all ? 'all' : 'open'}${values.farm ? `&farm=${encodeURIComponent(values.farm)}` : ''}`)
        break
      case 'show':
        need(arg, 'an alert id')
        r = await call('GET', `alerts/${encodeURIComponent(arg ?? '')}`)
        break
      case 'ack':
        need(arg && values.by, 'an alert id and --by')
        r = await call('POST', `alerts/${encodeURIComponent(arg ?? '')}/ack`, { by: values.by })
        break
      case 'resolve':
        need(arg && values.by, 'an alert id and --by')
        r = await call('POST', `alerts/${encodeURIComponent(arg ?? '')}/resolve`, { by: values.by, note: values.note })
        break
      case 'maintenance':
        need(values.farm && values.device && values.type && values.by, '--farm, --device, --type and --by')
        r = await call('POST', 'maintenance', { farm: values.farm, device: values.device, type: values.type, by: values.by, note: values.note })
        break
      case 'cmd':
        need(arg && values.farm && values.device && values.by, 'stop|start|reset, --farm, --device and --by')
        r = await call('POST', 'commands', { farm: values.farm, device: values.device, cmd: arg, by: values.by })
        break
      case 'link-code':
        need(arg, 'a contact id')
        r = await call('POST', `contacts/${encodeURIComponent(arg ?? '')}/link-code`)
        break
      default:
        io.stderr.write(`unknown alerts action "${action}"\n${USAGE}`)
        return 2
    }
    io.stdout.write(values.json ? `${JSON.stringify(r.json)}\n` : `${human(action, r.json)}\n`)
    return r.status < 300 ? 0 : r.status === 202 ? 3 : 1
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n${USAGE}`)
      return 2
    }
    io.stderr.write(`cannot reach the alert service at ${base}: ${(err as Error).message}\n`)
    return 1
  }
}

class UsageError extends Error {}

type Row = Record<string, unknown>

/** One line per alert for a terminal; anything else as indented JSON. */
function human(action: string, json: Row): string {
  if (typeof json.error === 'string') return `error: ${json.error}`
  if (action === 'list') {
    const alerts = (json.alerts as Row[] | undefined) ?? []
    if (alerts.length === 0) return 'no alerts'
    return alerts
      .map((a) => [a.id, a.status, a.severity, a.rule, `${String(a.farm)}/${String(a.device)}`, a.ack ? `ack by ${String((a.ack as Row).by)}` : ''].join('  '))
      .join('\n')
  }
  if (action === 'link-code') return `code ${String(json.code)} for ${String(json.contact)}: type it once in the LINE chat before ${String(json.expiresAt)}`
  return JSON.stringify(json, null, 2)
}
