/* global document */
/**
 * Small DOM and formatting helpers. Text always goes in as textContent (never HTML), so a device
 * id or an alert note can never inject markup.
 */

/**
 * @param {string} tag
 * @param {Record<string, unknown>} [props] `text`, `class`, `on<event>` handlers, else attributes
 * @param {Array<Node | string | null | undefined | false>} [children]
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'text') node.textContent = String(v)
    else if (k === 'class') node.className = String(v)
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), /** @type {EventListener} */ (v))
    else node.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c)
  return node
}

/**
 * A translated message and, after it, a detail that comes from a device or the server in English,
 * marked lang="en" (screen readers switch voice; it is not a label of the page).
 * @param {string} text @param {string | undefined} [detail]
 */
export const withDetail = (text, detail) => (detail ? [text, el('span', { lang: 'en', class: 'detail', text: ` (${detail})` })] : [text])

/**
 * A translated sentence with a person's name in it: the name is data, kept as written and marked
 * not to be translated. `sentence` still holds the `{name}` placeholder (translate() leaves an
 * unfilled one in place).
 * @param {string} sentence @param {string} name
 */
export function withName(sentence, name) {
  const [before = '', after = ''] = sentence.split('{name}')
  return [before, el('span', { class: 'name', translate: 'no', text: name }), after]
}

/** An id of a farm or device: shown as is, marked not to be translated. @param {string} id */
export const idSpan = (id) => el('span', { class: 'id', translate: 'no', text: id })

const locale = (lang) => (lang === 'en' ? 'en-GB' : 'th-TH')
const numberFormats = new Map()

/** @param {string} lang @param {unknown} value @param {number} [digits] */
export function fmtNumber(lang, value, digits = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–'
  const key = `${lang}/${digits}`
  let f = numberFormats.get(key)
  if (!f) {
    f = new Intl.NumberFormat(locale(lang), { maximumFractionDigits: digits, minimumFractionDigits: digits })
    numberFormats.set(key, f)
  }
  return f.format(value)
}

/** Clock time, with the date when it is not today. @param {string} lang @param {number} ms */
export function fmtTime(lang, ms) {
  const d = new Date(ms)
  const today = new Date().toDateString() === d.toDateString()
  const opts = today
    ? /** @type {const} */ ({ hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : /** @type {const} */ ({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })
  return new Intl.DateTimeFormat(locale(lang), opts).format(d)
}
