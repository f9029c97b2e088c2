/**
 * SMS length: GSM-7 text is 160 characters in one part, 153 per part when joined; anything else
 * (all Thai) switches the whole message to UCS-2: 70 in one part, 67 per part joined, counted in
 * UTF-16 code units (notifications.md 2.1). Thai gateways cap a message at three parts.
 */

// GSM 03.38 basic set; the extension set costs two septets (an escape plus the character).
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
)
const GSM_EXTENDED = new Set('^{}\\[~]|€\f')

export interface SmsLength {
  encoding: 'gsm7' | 'ucs2'
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number
  segments: number
}

export function smsLength(text: string): SmsLength {
  let septets = 0
  let gsm = true
  for (const ch of text) {
    if (GSM_BASIC.has(ch)) septets += 1
    else if (GSM_EXTENDED.has(ch)) septets += 2
    else {
      gsm = false
      break
    }
  }
  if (gsm) return { encoding: 'gsm7', units: septets, segments: septets <= 160 ? 1 : Math.ceil(septets / 153) }
  const units = text.length
  return { encoding: 'ucs2', units, segments: units <= 70 ? 1 : Math.ceil(units / 67) }
}

export const MAX_SMS_SEGMENTS = 3

/**
 * Joins parts with spaces, most important first, dropping trailing parts (then cutting the last
 * one kept) until the text fits in `maxSegments`. The first part always survives, cut if need be.
 */
export function fitSms(parts: readonly string[], maxSegments = MAX_SMS_SEGMENTS): string {
  const fits = (t: string) => smsLength(t).segments <= maxSegments
  let kept = parts.filter((p) => p.length > 0)
  while (kept.length > 1 && !fits(kept.join(' '))) {
    const head = kept.slice(0, -1).join(' ')
    // Try to keep a cut version of the last part before dropping it whole.
    const last = kept[kept.length - 1] as string
    const cut = cutToFit(`${head} `, last, fits)
    if (cut !== undefined) return cut
    kept = kept.slice(0, -1)
  }
  const text = kept.join(' ')
  return fits(text) ? text : (cutToFit('', text, fits) ?? '')
}

const graphemes = new Intl.Segmenter('th', { granularity: 'grapheme' })

/**
 * The longest `prefix + last[0..n] + ellipsis` that fits, cut between grapheme clusters so a Thai
 * vowel or tone mark never loses its consonant; keeps at least a few characters, else undefined.
 */
function cutToFit(prefix: string, last: string, fits: (t: string) => boolean): string | undefined {
  const chars = [...graphemes.segment(last)].map((g) => g.segment)
  const ellipsis = smsLength(prefix + last).encoding === 'gsm7' ? '...' : '…'
  let lo = 0
  let hi = chars.length
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (fits(`${prefix}${chars.slice(0, mid).join('')}${ellipsis}`)) lo = mid
    else hi = mid - 1
  }
  return lo >= 8 ? `${prefix}${chars.slice(0, lo).join('')}${ellipsis}` : undefined
}
