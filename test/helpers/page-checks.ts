/**
 * Checks of a console page in Chromium that several page tests share: Latin words a Thai reader
 * would see, and text under WCAG AA contrast. `lowContrast` runs inside the page.
 */
import type { Page } from 'playwright-core'

/**
 * Latin words shown to a reader (text, labels, titles), outside ids (translate="no") and text
 * marked lang="en" below the root (a device's own error text, the switch to English).
 */
export const englishOnScreen = (p: Page) =>
  p.evaluate(() => {
    const words: string[] = []
    const skip = (el: Element | null) => !!el?.closest('[translate="no"], body [lang="en"], script, style, [hidden]')
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const parent = n.parentElement
      if (skip(parent) || (parent && parent.getClientRects().length === 0 && parent.tagName !== 'OPTION')) continue
      words.push(...(n.textContent?.match(/[A-Za-z]{2,}/g) ?? []))
    }
    for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], optgroup[label]')) {
      if (skip(el)) continue
      for (const a of ['aria-label', 'title', 'placeholder', 'label']) words.push(...(el.getAttribute(a)?.match(/[A-Za-z]{2,}/g) ?? []))
    }
    words.push(...(document.title.match(/[A-Za-z]{2,}/g) ?? []))
    return words
  })

/** Visible text whose contrast with its background is under WCAG AA (4.5:1, large text 3:1). Runs in the page. */
export function lowContrast(): string[] {
  const parse = (c: string) => {
    const m = /rgba?\(([^)]+)\)/.exec(c)
    const [r = 0, g = 0, b = 0, a = 1] = (m?.[1] ?? '').split(',').map(Number)
    return { r, g, b, a: m ? a : 0 }
  }
  const channel = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
  const lum = (c: { r: number; g: number; b: number }) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)
  const background = (el: Element) => {
    for (let e: Element | null = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor)
      if (c.a > 0.5) return c
    }
    return { r: 255, g: 255, b: 255, a: 1 }
  }
  const low: string[] = []
  for (const el of document.querySelectorAll('body *')) {
    if (![...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim())) continue
    if (el.closest('[hidden]') || el.getClientRects().length === 0 || el.matches(':disabled')) continue
    const style = getComputedStyle(el)
    const [hi, lo] = [lum(parse(style.color)), lum(background(el))].sort((x, y) => y - x) as [number, number]
    const ratio = (hi + 0.05) / (lo + 0.05)
    const size = parseFloat(style.fontSize)
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700)
    if (ratio < (large ? 3 : 4.5)) low.push(`${el.tagName}.${el.className} "${el.textContent?.trim().slice(0, 30)}" ${ratio.toFixed(2)}`)
  }
  return low
}
