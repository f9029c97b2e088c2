/**
 * A custom variable's list as Grafana reads it (scenes CustomVariable, csv format): options
 * split on commas not preceded by a backslash, `\,` unescaped, then `text : value` split at
 * the last ` : `; the text is interpolated first, so a `$` would be read as a variable.
 * customValues writes a list that reads back to exactly the given pairs; readCustomValues is
 * Grafana's reading, for the tests.
 */

export interface Choice {
  text: string
  value: string
}

/** Characters a shown name cannot carry through the format: replaced by a space. */
const UNSAFE = /[\\$\p{Cc}\s]+/gu

/** The name as it can be shown: one line, no variable syntax ($x, ${x}, [[x]]), no escape character. */
export const safeText = (text: string): string => text.replace(UNSAFE, ' ').replace(/\[\[+/g, '[').trim()

/** Values are ids (contracts/names.ts ID_PATTERN): nothing in them needs escaping; refuse anything else. */
const VALUE = /^[a-z0-9][a-z0-9-]*$/

export function customValues(choices: readonly Choice[]): string {
  return choices
    .map((c) => {
      if (!VALUE.test(c.value)) throw new Error(`not an id: ${JSON.stringify(c.value)}`)
      const text = safeText(c.text) || c.value
      return `${text.replaceAll(',', '\\,')} : ${c.value}`
    })
    .join(',')
}

export function readCustomValues(query: string): Choice[] {
  return (query.match(/(?:\\,|[^,])+/g) ?? []).map((raw) => {
    const text = raw.replace(/\\,/g, ',')
    const m = /^\s*(.+)\s:\s(.+)$/.exec(text)
    if (m !== null) return { text: (m[1] as string).trim(), value: (m[2] as string).trim() }
    return { text: text.trim(), value: text.trim() }
  })
}
