/**
 * The administration page's forms (issue 14): built from a list of fields, each with its label,
 * read into the nested JSON the admin API takes (`equipment.pvArrayWp` -> { equipment: { pvArrayWp } }),
 * and the API's field-level issues shown next to their field in the page's language. The browser's
 * own checks are off (`novalidate`): every rule lives in the registry, and its words are the ones
 * shown, in Thai or English.
 */
import { el } from './dom.js'

/**
 * @typedef {{ value: string, label: string, group?: string, id?: boolean, groupId?: boolean }} Option
 *   `id`: the label is an id (not translated); `groupId`: so is its group's
 * @typedef {{ name: string, label: string, type?: 'text' | 'number' | 'checkbox' | 'select',
 *   options?: Option[], hint?: string, attrs?: Record<string, string> }} FieldSpec
 */

/** A control's id in the page: `farm-equipment-pvArrayWp`. @param {string} form @param {string} name */
export const controlId = (form, name) => `${form}-${name.replace(/\./g, '-')}`

/** @param {Option[]} options */
function optionNodes(options) {
  /** @type {Map<string, HTMLElement[]>} */
  const groups = new Map()
  const idGroups = new Set(options.filter((o) => o.groupId).map((o) => o.group))
  /** @type {HTMLElement[]} */
  const loose = []
  for (const o of options) {
    const node = el('option', { value: o.value, text: o.label, translate: o.id ? 'no' : undefined })
    if (o.group === undefined) loose.push(node)
    else groups.set(o.group, [...(groups.get(o.group) ?? []), node])
  }
  return [...loose, ...[...groups].map(([label, nodes]) => el('optgroup', { label, translate: idGroups.has(label) ? 'no' : undefined }, nodes))]
}

/**
 * One labelled control with its error line (empty until the API names this field).
 * @param {string} form @param {FieldSpec} spec
 */
export function fieldNode(form, spec) {
  const id = controlId(form, spec.name)
  const type = spec.type ?? 'text'
  const attrs = { id, name: spec.name, 'aria-describedby': `${id}-err`, ...spec.attrs }
  const control =
    type === 'select'
      ? el('select', attrs, optionNodes(spec.options ?? []))
      : el('input', { ...attrs, type: type === 'number' ? 'text' : type, ...(type === 'number' ? { inputmode: 'decimal' } : {}) })
  const error = el('p', { id: `${id}-err`, class: 'field-error', 'data-error-for': spec.name })
  const label = el('label', { for: id, text: spec.label })
  return el('div', { class: type === 'checkbox' ? 'field check' : 'field' }, type === 'checkbox' ? [control, label, error] : [label, control, error])
}

/**
 * The form's values as the API takes them. An empty box is left out (`omit`: the registry's
 * default) or sent as null (`null`: an edit clears it). A number box that holds no number is sent
 * as typed, so the registry says what is wrong with it.
 * @param {HTMLFormElement} form @param {FieldSpec[]} specs @param {'omit' | 'null'} empty
 */
export function readForm(form, specs, empty) {
  /** @type {Record<string, any>} */
  const out = {}
  for (const spec of specs) {
    const control = /** @type {HTMLInputElement} */ (form.elements.namedItem(spec.name))
    if (!control) continue
    /** @type {unknown} */
    let value
    if (spec.type === 'checkbox') value = control.checked
    else {
      const raw = control.value.trim()
      if (raw === '') {
        if (empty === 'omit') continue
        value = null
      } else value = spec.type === 'number' && Number.isFinite(Number(raw)) ? Number(raw) : raw
    }
    const path = spec.name.split('.')
    let at = out
    for (const part of path.slice(0, -1)) at = at[part] ??= {}
    at[path.at(-1) ?? spec.name] = value
  }
  return out
}

/** Puts a record's values into the form (an edit starts from what is stored). @param {HTMLFormElement} form @param {FieldSpec[]} specs @param {any} record */
export function fillForm(form, specs, record) {
  for (const spec of specs) {
    const control = /** @type {HTMLInputElement} */ (form.elements.namedItem(spec.name))
    if (!control) continue
    const value = spec.name.split('.').reduce((v, k) => (v === null || v === undefined ? undefined : v[k]), record)
    if (spec.type === 'checkbox') control.checked = value === true
    else control.value = value === null || value === undefined ? '' : String(value)
  }
}

/**
 * Shows the API's issues: each next to its field (`quietHours` goes to the first of its boxes,
 * `farmId` to the box `aliases` names), the rest in the list at the form's top. Returns the first
 * control with an error, to focus.
 * @param {HTMLFormElement} form
 * @param {Array<{ field: string, th: string, en: string }>} issues
 * @param {'th' | 'en'} lang
 * @param {(field: string) => string} labelOf
 * @param {Record<string, string>} [aliases]
 */
export function showIssues(form, issues, lang, labelOf, aliases = {}) {
  clearIssues(form)
  /** @type {HTMLElement | undefined} */
  let first
  const top = /** @type {HTMLElement} */ (form.querySelector('.form-errors'))
  for (const issue of issues) {
    const name = aliases[issue.field] ?? issue.field
    const control = /** @type {HTMLElement | null} */ (
      [...form.querySelectorAll('[name]')].find((c) => c.getAttribute('name') === name) ??
        [...form.querySelectorAll('[name]')].find((c) => (c.getAttribute('name') ?? '').startsWith(`${name}.`)) ??
        null
    )
    const text = issue[lang]
    if (control) {
      const line = /** @type {HTMLElement} */ (form.querySelector(`[data-error-for="${control.getAttribute('name')}"]`))
      line.textContent = line.textContent ? `${line.textContent}; ${text}` : text
      control.setAttribute('aria-invalid', 'true')
      first ??= control
    } else top.append(el('li', {}, [`${labelOf(issue.field)}: `, text]))
  }
  top.hidden = top.childElementCount === 0
  return first
}

/** @param {HTMLFormElement} form */
export function clearIssues(form) {
  for (const line of form.querySelectorAll('.field-error')) line.textContent = ''
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid')
  const top = /** @type {HTMLElement | null} */ (form.querySelector('.form-errors'))
  if (top) {
    top.replaceChildren()
    top.hidden = true
  }
}
