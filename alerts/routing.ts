/**
 * Who hears about an alert, when, and by which channel (issue 6 "Routing and escalation").
 * Farmer first; if nobody acknowledges within the farm's escalateAfterMin, the technician; then
 * the trainer or cooperative lead. A training farm reaches only its trainers. Quiet hours
 * (Asia/Bangkok) delay everything but critical alerts. Pure functions of the farm settings.
 */
import { parseHhmm, windowEnd, MINUTE_MS } from './clock.js'
import { type Contact, type ContactRole, type FarmSettings, rolesOf } from './contacts.js'
import type { Audience, Severity } from './types.js'

export const LADDER: ReadonlyArray<readonly ContactRole[]> = [['farmer'], ['technician'], ['trainer', 'lead']]

/** Stands in for every recipient when nobody is configured, so `npm start` shows alerts on the console. */
export const CONSOLE_CONTACT: Contact = { id: 'console', name: 'console', role: 'farmer', locale: 'th' }

/**
 * Who may hear about a training farm: its trainers and trainees (a workshop's class, issue 16),
 * and never anyone holding the farmer role over it (even a farmer who is also a trainer: a
 * workshop's fault must not look like their pump's). Technicians only when they are trainers of
 * it too. Trainees are on no real farm's ladder. The dispatcher asks this again before a message
 * leaves (alerts/guard.ts).
 */
export const trainingRecipient = (c: Contact): boolean =>
  (rolesOf(c).includes('trainer') || rolesOf(c).includes('trainee')) && !rolesOf(c).includes('farmer')

/** A contact whose only role is trainee: reached and heard for training farms alone. */
export const onlyTrainee = (c: Contact): boolean => rolesOf(c).every((r) => r === 'trainee')

/** The first ladder step a contact's roles reach (a technician who is also a lead: step of technician). */
const firstStep = (c: Contact, ladder: ReadonlyArray<readonly ContactRole[]>): number =>
  ladder.findIndex((roles) => rolesOf(c).some((r) => roles.includes(r)))

/**
 * The escalation steps for an alert: each a non-empty list of contacts. A technician-audience
 * alert (offline, battery, sensor) starts at the technician. No one configured: the console.
 */
export function escalationSteps(farm: FarmSettings, audience: Audience): Contact[][] {
  let steps: Contact[][]
  if (farm.training) {
    const trainers = farm.contacts.filter(trainingRecipient)
    steps = trainers.length > 0 ? [trainers] : []
  } else {
    const ladder = LADDER.slice(audience === 'technician' ? 1 : 0)
    steps = ladder
      .map((_, i) => farm.contacts.filter((c) => firstStep(c, ladder) === i))
      .filter((s) => s.length > 0)
    if (steps.length === 0 && audience === 'technician') return escalationSteps(farm, 'farmer')
  }
  return steps.length > 0 ? steps : [[CONSOLE_CONTACT]]
}

export const escalateAfterMs = (farm: FarmSettings): number => farm.escalateAfterMin * MINUTE_MS

/** When a message to this contact may go out: now, or the end of their quiet hours. Critical passes. */
export function deliverAfter(contact: Contact, farm: FarmSettings, severity: Severity, nowMs: number): number {
  if (severity === 'critical') return nowMs
  const quiet = contact.quietHours ?? farm.quietHours
  const start = parseHhmm(quiet.start)
  const end = parseHhmm(quiet.end)
  return start === undefined || end === undefined ? nowMs : windowEnd(nowMs, start, end)
}

export type ChannelName = 'line' | 'sms' | 'console'

export interface Available {
  line: boolean
  sms: boolean
}

/**
 * LINE when the contact has a LINE id and LINE is configured, else SMS when they have a phone
 * and a provider is configured, else the console (never silently dropped).
 */
export function channelFor(contact: Contact, lineUserId: string | undefined, available: Available): { channel: ChannelName; to: string } {
  if (lineUserId && available.line) return { channel: 'line', to: lineUserId }
  if (contact.phone && available.sms) return { channel: 'sms', to: contact.phone }
  return { channel: 'console', to: contact.id }
}

/** 0812345678, 66812345678 or +66812345678 -> 66812345678 (what Thai gateways take). */
export function msisdn(phone: string): string {
  const digits = phone.replace(/^\+/, '')
  return digits.startsWith('0') ? `66${digits.slice(1)}` : digits
}
