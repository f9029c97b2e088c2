/**
 * A strict reader of one line of InfluxDB line protocol, for tests that check what the writer
 * builds: measurement, tags, fields and time, unescaped the way InfluxDB unescapes them (string
 * fields: `\\` and `\"`; names and tags: `\,`, `\=`, `\ ` and `\\`). Written from the spec, not
 * from contracts/points.ts, so a test that uses it does not grade the builder against itself.
 * https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/
 */

export type LineValue = number | string | boolean

export interface ParsedLine {
  measurement: string
  tags: Record<string, string>
  fields: Record<string, LineValue>
  time: number
}

export type LineParse = { ok: true; line: ParsedLine } | { ok: false; reason: string }

/** Reads a name (measurement, tag key or value, field key) up to one of `stops`, unescaped. */
function readName(s: string, from: number, stops: string): { text: string; end: number } {
  let text = ''
  let i = from
  while (i < s.length && !stops.includes(s[i] as string)) {
    if (s[i] === '\\' && i + 1 < s.length && ',= \\'.includes(s[i + 1] as string)) i++
    text += s[i]
    i++
  }
  return { text, end: i }
}

function readFieldValue(s: string, from: number): { value: LineValue; end: number } | { error: string } {
  if (s[from] === '"') {
    let text = ''
    for (let i = from + 1; i < s.length; i++) {
      const c = s[i] as string
      if (c === '"') return { value: text, end: i + 1 }
      if (c === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\')) {
        text += s[i + 1]
        i++
      } else text += c
    }
    return { error: 'unterminated string field' }
  }
  let end = from
  while (end < s.length && s[end] !== ',' && s[end] !== ' ') end++
  const raw = s.slice(from, end)
  if (/^[tT](rue)?$|^TRUE$/.test(raw)) return { value: true, end }
  if (/^[fF](alse)?$|^FALSE$/.test(raw)) return { value: false, end }
  if (/^-?\d+[iu]$/.test(raw)) return { error: `integer field ${raw}: the contract stores floats` }
  const n = Number(raw)
  if (raw === '' || !Number.isFinite(n)) return { error: `bad field value ${JSON.stringify(raw)}` }
  return { value: n, end }
}

/** Parses exactly one line (no line break anywhere in it), or says why it is not one. */
export function parseLine(line: string): LineParse {
  if (/[\n\r]/.test(line)) return { ok: false, reason: 'contains a line break' }
  const m = readName(line, 0, ', ')
  if (m.text === '') return { ok: false, reason: 'empty measurement' }
  // Maps, not objects: a key may be any text, `__proto__` and `toString` included
  const tags = new Map<string, string>()
  let i = m.end
  while (line[i] === ',') {
    const key = readName(line, i + 1, '=, ')
    if (line[key.end] !== '=') return { ok: false, reason: `tag ${key.text} has no value` }
    const value = readName(line, key.end + 1, ', ')
    if (key.text === '' || value.text === '') return { ok: false, reason: 'empty tag key or value' }
    tags.set(key.text, value.text)
    i = value.end
  }
  if (line[i] !== ' ') return { ok: false, reason: 'no space before the fields' }
  const fields = new Map<string, LineValue>()
  do {
    const key = readName(line, i + 1, '=, ')
    if (line[key.end] !== '=' || key.text === '') return { ok: false, reason: `bad field key at ${i + 1}` }
    const value = readFieldValue(line, key.end + 1)
    if ('error' in value) return { ok: false, reason: value.error }
    if (fields.has(key.text)) return { ok: false, reason: `field ${key.text} twice` }
    fields.set(key.text, value.value)
    i = value.end
  } while (line[i] === ',')
  if (line[i] !== ' ') return { ok: false, reason: `no space before the time at ${i}` }
  const time = line.slice(i + 1)
  if (!/^-?\d+$/.test(time)) return { ok: false, reason: `bad time ${JSON.stringify(time)}` }
  return { ok: true, line: { measurement: m.text, tags: Object.fromEntries(tags), fields: Object.fromEntries(fields), time: Number(time) } }
}
