/**
 * `suanyang workorder list|show|open|assign|visit|close|schedule` (issue 17): work orders from a
 * terminal, through the running alert service's API (/alerts/api/work-orders), as
 * `suanyang alerts` does: a close must ask the live engine whether the data agrees, so the CLI
 * never writes the registry itself. The URL defaults to this machine's HTTP_PORT; the token is
 * ALERTS_API_TOKEN, and `--by` names who acts (audited as `token:<by>`).
 */
import { parseArgs } from 'node:util'
import { CommonEnv } from '../runtime/config.js'
import type { CommandIo } from './io.js'

const USAGE = `Usage:
  suanyang workorder list [--farm F] [--status active|open|assigned|closed|all]
  suanyang workorder show ID
  suanyang workorder open --farm F --title TEXT --by NAME [--device D] [--kind repair|scheduled|visit] [--assignee P]
  suanyang workorder assign ID --to P --by NAME
  suanyang workorder visit ID --by NAME [--findings TEXT] [--part NAME=QTY ...] [--cost THB] [--note TEXT] [--at ISO]
  suanyang workorder close ID --by NAME [--note TEXT] [--run-hours N]
  suanyang workorder schedule list [--farm F]
  suanyang workorder schedule add --id S --farm F --task T [--device D] [--every-days N] [--every-run-hours N] --by NAME
Options: --url http://host:port (default http://127.0.0.1:$HTTP_PORT), --json
A close is refused (exit 4) while the alert's data still shows the fault, or cannot tell yet.
`

class UsageError extends Error {}

type Row = Record<string, unknown>

/** `NAME=QTY` pairs as parts (the name may hold spaces and Thai). */
function partsOf(pairs: readonly string[]): Array<{ name: string; qty: number }> {
  return pairs.map((pair) => {
    const eq = pair.lastIndexOf('=')
    const qty = Number(pair.slice(eq + 1))
    if (eq <= 0 || !Number.isFinite(qty)) throw new UsageError(`--part ${pair}: use NAME=QTY`)
    return { name: pair.slice(0, eq), qty }
  })
}

const numberOf = (v: string | undefined, flag: string): number | undefined => {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n)) throw new UsageError(`${flag}: a number`)
  return n
}

export async function workOrderCommand(args: string[], io: CommandIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        farm: { type: 'string' },
        device: { type: 'string' },
        title: { type: 'string' },
        kind: { type: 'string' },
        assignee: { type: 'string' },
        to: { type: 'string' },
        by: { type: 'string' },
        findings: { type: 'string' },
        part: { type: 'string', multiple: true, default: [] },
        cost: { type: 'string' },
        note: { type: 'string' },
        at: { type: 'string' },
        'run-hours': { type: 'string' },
        status: { type: 'string' },
        id: { type: 'string' },
        task: { type: 'string' },
        'every-days': { type: 'string' },
        'every-run-hours': { type: 'string' },
        url: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  const { positionals, values: v } = parsed
  const [action, arg] = positionals
  if (v.help || !action) {
    io.stdout.write(USAGE)
    return v.help ? 0 : 2
  }
  const base = v.url ?? `http://127.0.0.1:${CommonEnv.parse(io.env).HTTP_PORT}`
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/alerts/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${io.env.ALERTS_API_TOKEN ?? ''}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Row }
  }
  const need = (ok: unknown, what: string) => {
    if (!ok) throw new UsageError(`workorder ${action} needs ${what}`)
  }
  const id = encodeURIComponent(arg ?? '')
  try {
    let r: { status: number; json: Row }
    switch (action) {
      case 'list': {
        const q = new URLSearchParams({ status: v.status ?? 'active', ...(v.farm && { farm: v.farm }) })
        r = await call('GET', `work-orders?${q.toString()}`)
        break
      }
      case 'show':
        need(arg, 'a work order id')
        r = await call('GET', `work-orders/${id}`)
        break
      case 'open':
        need(v.farm && v.title && v.by, '--farm, --title and --by')
        r = await call('POST', 'work-orders', { farm: v.farm, title: v.title, by: v.by, ...(v.device && { device: v.device }), ...(v.kind && { kind: v.kind }), ...(v.assignee && { assignee: v.assignee }) })
        break
      case 'assign':
        need(arg && v.to && v.by, 'an id, --to and --by')
        r = await call('POST', `work-orders/${id}/assign`, { assignee: v.to, by: v.by })
        break
      case 'visit':
        need(arg && v.by, 'an id and --by')
        r = await call('POST', `work-orders/${id}/visits`, {
          by: v.by,
          ...(v.findings !== undefined && { findings: v.findings }),
          ...(v.note !== undefined && { note: v.note }),
          ...(v.at !== undefined && { visitedAt: v.at }),
          parts: partsOf(v.part),
          ...(v.cost !== undefined && { costThb: numberOf(v.cost, '--cost') }),
        })
        break
      case 'close':
        need(arg && v.by, 'an id and --by')
        r = await call('POST', `work-orders/${id}/close`, { by: v.by, note: v.note ?? '', ...(v['run-hours'] !== undefined && { runHours: numberOf(v['run-hours'], '--run-hours') }) })
        break
      case 'schedule':
        if (arg === 'list') r = await call('GET', `schedules${v.farm ? `?farm=${encodeURIComponent(v.farm)}` : ''}`)
        else if (arg === 'add') {
          need(v.id && v.farm && v.task && v.by, '--id, --farm, --task and --by')
          r = await call('POST', 'schedules', {
            id: v.id, farm: v.farm, task: v.task, by: v.by, ...(v.device && { device: v.device }),
            everyDays: numberOf(v['every-days'], '--every-days') ?? null, everyRunHours: numberOf(v['every-run-hours'], '--every-run-hours') ?? null,
          })
        } else throw new UsageError('workorder schedule list|add')
        break
      default:
        io.stderr.write(`unknown workorder action "${action}"\n${USAGE}`)
        return 2
    }
    io.stdout.write(v.json ? `${JSON.stringify(r.json)}\n` : `${human(action, r.json)}\n`)
    if (r.status < 300) return 0
    return r.status === 409 ? 4 : 1
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n${USAGE}`)
      return 2
    }
    io.stderr.write(`cannot reach the alert service at ${base}: ${(err as Error).message}\n`)
    return 1
  }
}

const orderLine = (o: Row) =>
  [o.id, o.status, o.kind, `${String(o.farmId)}${o.deviceId ? `/${String(o.deviceId)}` : ''}`, o.assigneeId ? `→ ${String(o.assigneeId)}` : '→ -', o.title].join('  ')

/** One line per order for a terminal; a refusal in both languages; anything else as JSON. */
function human(action: string, json: Row): string {
  if (typeof json.th === 'string' && typeof json.en === 'string') return `refused: ${json.th}\n         ${json.en}`
  if (typeof json.error === 'string') return `error: ${json.error}`
  if (action === 'list') {
    const orders = (json.workOrders as Row[] | undefined) ?? []
    return orders.length === 0 ? 'no work orders' : orders.map(orderLine).join('\n')
  }
  if (json.workOrder && action !== 'show') return orderLine(json.workOrder as Row)
  return JSON.stringify(json, null, 2)
}
