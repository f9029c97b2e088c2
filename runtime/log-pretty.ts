/**
 * Log lines a person reads on a terminal (issue 18): pino's JSON, one line each, turned into
 * `12:04:31 INFO  broker  started  httpPort=8080`. pino-pretty does this and more, but it is
 * not a dependency; this is the small part a technician's terminal needs. Pipes and files keep
 * the JSON (LOG_FORMAT=json|pretty decides otherwise).
 */
import { Writable } from 'node:stream'

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '36' },
  30: { name: 'INFO ', color: '32' },
  40: { name: 'WARN ', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '35' },
}
/** Fields every line has, shown in the line's head or not at all. */
const HEAD = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'svc'])

export interface PrettyOptions {
  color: boolean
}

/** Pure: one pino JSON line as text (without the newline); a line that is not JSON as it is. */
export function prettyLine(json: string, opts: PrettyOptions): string {
  let rec: Record<string, unknown>
  try {
    rec = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const level = LEVELS[Number(rec.level)] ?? { name: String(rec.level).padEnd(5), color: '0' }
  const time = typeof rec.time === 'number' ? new Date(rec.time).toTimeString().slice(0, 8) : ''
  const paint = (code: string, s: string) => (opts.color ? `\u001b[${code}m${s}\u001b[0m` : s)
  const fields = Object.entries(rec)
    .filter(([k]) => !HEAD.has(k))
    .map(([k, v]) => `${k}=${fieldText(k, v)}`)
  const svc = typeof rec.svc === 'string' ? `${paint('1', rec.svc)} ` : ''
  return `${paint('90', time)} ${paint(level.color, level.name)} ${svc}${String(rec.msg ?? '')}${fields.length > 0 ? `  ${paint('90', fields.join(' '))}` : ''}`
}

function fieldText(key: string, value: unknown): string {
  if (key === 'err' && value !== null && typeof value === 'object') {
    const e = value as { type?: string; message?: string; code?: string }
    return JSON.stringify(`${e.type ?? 'Error'}${e.code ? ` ${e.code}` : ''}: ${e.message ?? ''}`)
  }
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  return JSON.stringify(value)
}

/** A pino destination that writes prettyLine()s to `out`. */
export function prettyDestination(out: NodeJS.WritableStream, opts: PrettyOptions): Writable {
  let rest = ''
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const lines = (rest + chunk.toString()).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) if (line !== '') out.write(`${prettyLine(line, opts)}\n`)
      done()
    },
  })
}

/** LOG_FORMAT, or pretty on a terminal and JSON otherwise. */
export function wantsPretty(format: string | undefined, out: NodeJS.WritableStream): boolean {
  if (format === 'json') return false
  if (format === 'pretty') return true
  return (out as { isTTY?: boolean }).isTTY === true
}
