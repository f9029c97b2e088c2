/**
 * Renders an alert for one recipient: a LINE Flex card (farm, pump, what happened, what to check
 * first, an acknowledge postback button; notifications.md 1.10), a plain LINE text for resolve
 * and flapping notes, and an SMS text kept within three UCS-2 segments.
 */
import { hhmm } from './clock.js'
import type { Locale } from './contacts.js'
import type { Purpose } from './outbox.js'
import { fitSms } from './sms-text.js'
import { KIND_TEXT, phrase, RULE_TEXT } from './texts.js'
import type { AlertRecord, Detail, Severity } from './types.js'

export interface Rendered {
  line: unknown[]
  sms: string
}

export interface AlertView {
  alert: AlertRecord
  purpose: Purpose
  locale: Locale
  farmName: string
  deviceName: string
}

const COLOR: Record<Severity, string> = { critical: '#D32F2F', warning: '#F57C00', info: '#1976D2' }
const ICON: Record<Severity, string> = { critical: '🔴', warning: '⚠️', info: 'ℹ️' }

/** Postback data for the acknowledge button (at most 300 characters; the id is at most ~100). */
export const ackData = (alertId: string): string => `a=ack&id=${alertId}`

export function parsePostback(data: string): { action: string; id: string } | undefined {
  const params = new URLSearchParams(data)
  const action = params.get('a')
  const id = params.get('id')
  return action && id ? { action, id } : undefined
}

/** Up to three decisive values, `name value`, for the small print. */
export function formatDetail(detail: Detail): string {
  return Object.entries(detail)
    .slice(0, 3)
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ')
}

export function renderAlert(v: AlertView): Rendered {
  const { alert, locale } = v
  const text = RULE_TEXT[locale][alert.rule]
  const where = `${v.farmName} – ${KIND_TEXT[locale][alert.kind]} ${v.deviceName}`
  const time = hhmm(alert.firedMs ?? alert.sinceMs)
  if (v.purpose === 'resolve') {
    const by = alert.resolved && alert.resolved.via !== 'system' ? ` (${phrase(locale, 'resolvedBy', { by: alert.resolved.by })})` : ''
    const note = alert.resolved?.note ? ` ${alert.resolved.note}` : ''
    const body = `✅ ${text.title}: ${phrase(locale, 'resolved')} – ${where} ${hhmm(alert.resolved?.atMs ?? 0)}${by}${note}`
    return { line: [{ type: 'text', text: body.slice(0, 5000) }], sms: fitSms([`${v.farmName} ${v.deviceName}:`, `${text.title} ${phrase(locale, 'resolved')}`, hhmm(alert.resolved?.atMs ?? 0), note.trim()]) }
  }
  if (v.purpose === 'flapping') {
    const body = `${ICON[alert.severity]} ${where}: ${phrase(locale, 'flapping', { title: text.title })}`
    return { line: [{ type: 'text', text: body }], sms: fitSms([`${v.farmName} ${v.deviceName}:`, phrase(locale, 'flapping', { title: text.title })]) }
  }
  const lines: unknown[] = [
    { type: 'text', text: where, weight: 'bold', wrap: true },
    { type: 'text', text: phrase(locale, 'since', { time }), size: 'sm', color: '#555555' },
  ]
  if (v.purpose === 'escalate') lines.push({ type: 'text', text: phrase(locale, 'escalated'), size: 'sm', color: COLOR.critical, wrap: true })
  lines.push({ type: 'text', text: phrase(locale, 'check', { check: text.check }), wrap: true })
  const detail = formatDetail(alert.detail)
  if (detail) lines.push({ type: 'text', text: detail, size: 'xs', color: '#999999', wrap: true })
  lines.push({ type: 'text', text: alert.id, size: 'xxs', color: '#BBBBBB', wrap: true })
  const card = {
    type: 'flex',
    altText: `${ICON[alert.severity]} ${text.title}: ${where}`.slice(0, 400),
    contents: {
      type: 'bubble',
      header: {
        type: 'box',
        layout: 'vertical',
        backgroundColor: COLOR[alert.severity],
        contents: [{ type: 'text', text: text.title, color: '#FFFFFF', weight: 'bold', size: 'lg', wrap: true }],
      },
      body: { type: 'box', layout: 'vertical', spacing: 'sm', contents: lines },
      footer: {
        type: 'box',
        layout: 'vertical',
        contents: [
          {
            type: 'button',
            style: 'primary',
            color: COLOR[alert.severity],
            action: { type: 'postback', label: phrase(locale, 'ack'), data: ackData(alert.id), displayText: phrase(locale, 'acked') },
          },
        ],
      },
    },
  }
  // SMS: place, what, time, then what to check (dropped or cut first when it does not fit).
  const sms = fitSms([`${v.farmName} ${v.deviceName}:`, text.title, time, phrase(locale, 'check', { check: text.check })])
  return { line: [card], sms }
}

/** A plain notice (digest, reminder): one LINE text, and the same text fitted for SMS. */
export function renderText(text: string): Rendered {
  return { line: [{ type: 'text', text: text.slice(0, 5000) }], sms: fitSms([text]) }
}
