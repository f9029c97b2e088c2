/**
 * Issue 8: Thai and English, "no untranslated English labels in the Thai view". Both tables carry
 * the same keys, every name the page can show (contract enums, alert rules, severities and
 * statuses) has a label, and no Thai label holds a Latin word.
 */
import { describe, expect, it } from 'vitest'
import { RULE_IDS, SEVERITIES } from '../alerts/types.js'
import { FAULT_CODES, KINDS, PUMP_STATES } from '../contracts/names.js'
import { FAULT_SCENARIOS } from '../contracts/sim-control.js'
import { PAGE_COMMANDS } from './api.js'
import { errorKey } from './public/api.js'
import { TEXT, translate } from './public/i18n.js'

const STATUSES = ['pending', 'firing', 'acknowledged', 'resolved'] as const

describe('console labels', () => {
  it('has the same keys in Thai and English', () => {
    expect(Object.keys(TEXT.th).sort()).toEqual(Object.keys(TEXT.en).sort())
  })

  it('labels every name the page shows', () => {
    const needed = [
      ...PUMP_STATES.map((s) => `state.${s}`),
      ...FAULT_CODES.map((c) => `fault.${c}`),
      ...FAULT_SCENARIOS.map((f) => `scenario.${f}`),
      ...KINDS.map((k) => `kind.${k}`),
      ...RULE_IDS.map((r) => `rule.${r}`),
      ...SEVERITIES.map((s) => `severity.${s}`),
      ...STATUSES.map((s) => `status.${s}`),
      ...PAGE_COMMANDS.map((c) => `cmd.${c}`),
      ...[0, 400, 401, 403, 404, 409, 422, 500, 503, 504].map(errorKey),
    ]
    const missing = needed.filter((k) => !(k in TEXT.th) || !(k in TEXT.en))
    expect(missing).toEqual([])
  })

  it('has no Latin word in a Thai label, and every Thai label differs from the English one', () => {
    const latin = Object.entries(TEXT.th).filter(([, v]) => /[A-Za-z]{2,}/.test(v.replace(/\{\w+\}/g, '')))
    expect(latin).toEqual([])
    const same = Object.entries(TEXT.th).filter(([k, v]) => v === (TEXT.en as Record<string, string>)[k] && v !== '%')
    expect(same).toEqual([])
  })

  it('fills placeholders, and shows an unknown key as itself', () => {
    expect(translate('th', 'soil.plot', { n: 2 })).toBe('แปลง 2')
    expect(translate('en', 'cmd.refused', { cmd: 'Stop' })).toBe('Stop: refused by the pump')
    expect(translate('th', 'no.such.key')).toBe('no.such.key')
    expect(translate('en', 'alerts.since')).toBe('since {time}')
  })
})
