/**
 * Alert rule overrides per farm, or per device of a farm. Their shape is checked here; whether
 * the rule and its parameters exist is the alert service's knowledge, handed in by the
 * composition root as `checkOverrides` (the registry imports no service).
 */
import { type Actor, checkActor, writeAudit } from '../audit.js'
import type { Row } from '../db.js'
import { mutate, reader, type Scope } from '../entity.js'
import { issue, refusal } from '../messages.js'
import { done, invalid, refuse, type Result } from '../result.js'
import { json, num, optBool, stableJson, str, text } from '../rows.js'
import { type RuleOverride, RuleOverrideInput } from '../schemas.js'
import { mustExist } from './common.js'

/** The alert rules' own check: messages for unknown rules or parameters (alerts/rules.ts checkOverrides). */
export type CheckOverrides = (overrides: Record<string, unknown>) => string[]

const fromRow = (r: Row): RuleOverride => ({
  farmId: str(r.farm_id),
  deviceId: text(r.device_id),
  rule: str(r.rule),
  enabled: optBool(r.enabled),
  severity: text(r.severity) as RuleOverride['severity'],
  pendingMin: num(r.pending_min),
  clearMin: num(r.clear_min),
  params: json<Record<string, number | null>>(r.params),
  updatedAt: str(r.updated_at),
})

const MATCH = "farm_id = $1 AND COALESCE(device_id, '') = $2 AND rule = $3"
const target = (o: { farmId: string; deviceId: string | null }) => (o.deviceId === null ? `farm:${o.farmId}` : `device:${o.deviceId}`)

export class RuleOverrides {
  constructor(
    private readonly scope: Scope,
    private readonly checkRules: CheckOverrides | undefined,
  ) {}

  async list(filter: { farmId?: string; deviceId?: string } = {}): Promise<RuleOverride[]> {
    const rows = await reader(this.scope).all<Row>(
      `SELECT * FROM rule_overrides WHERE ($1 = '' OR farm_id = $1) AND ($2 = '' OR device_id = $2)
        ORDER BY farm_id, COALESCE(device_id, ''), rule`,
      [filter.farmId ?? '', filter.deviceId ?? ''],
    )
    return rows.map(fromRow)
  }

  /** Sets (adds or replaces) the override of one rule on a farm or one of its devices. */
  async set(input: unknown, actor: Actor): Promise<Result<RuleOverride>> {
    checkActor(actor)
    const parsed = RuleOverrideInput.safeParse(input, { reportInput: true })
    if (!parsed.success) return invalid(parsed.error)
    const o = parsed.data
    const ruleIssues = (this.checkRules?.({ [o.rule]: { params: o.params } }) ?? []).map((en) =>
      issue(Object.keys(o.params).length > 0 && en.includes('parameter') ? 'params' : 'rule', { th: `กฎการแจ้งเตือนไม่ถูกต้อง: ${en}`, en }),
    )
    if (ruleIssues.length > 0) return refuse('invalid', ruleIssues)
    return mutate(this.scope, async (q) => {
      const problems = await mustExist(q, 'farmId', 'farm', o.farmId)
      if (problems.length > 0) return refuse('invalid', problems)
      if (o.deviceId !== null) {
        const device = await q.get<{ farm_id: string }>('SELECT farm_id FROM devices WHERE id = $1', [o.deviceId])
        if (device?.farm_id !== o.farmId) return refuse('invalid', [issue('deviceId', refusal('notFound', { entity: 'device', id: `${o.farmId}/${o.deviceId}` }))])
      }
      const key = [o.farmId, o.deviceId ?? '', o.rule]
      const before = await q.get<Row>(`SELECT * FROM rule_overrides WHERE ${MATCH}`, key)
      const old = before ? fromRow(before) : undefined
      const same = old && stableJson({ ...old, updatedAt: '' }) === stableJson({ ...o, updatedAt: '' })
      if (old && same) return done(old, false)
      const updatedAt = new Date(this.scope.now()).toISOString()
      const values = [o.enabled, o.severity, o.pendingMin, o.clearMin, JSON.stringify(o.params), updatedAt]
      if (before) await q.run(`UPDATE rule_overrides SET enabled = $4, severity = $5, pending_min = $6, clear_min = $7, params = $8, updated_at = $9 WHERE ${MATCH}`, [...key, ...values])
      else {
        await q.run('INSERT INTO rule_overrides (farm_id, device_id, rule, enabled, severity, pending_min, clear_min, params, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
          o.farmId,
          o.deviceId,
          o.rule,
          ...values,
        ])
      }
      const { updatedAt: _old, ...was } = old ?? ({} as Partial<RuleOverride>)
      await writeAudit(q, this.scope.now(), actor, 'override.set', target(o), { rule: o.rule, before: old ? was : null, after: o })
      return done({ ...o, updatedAt })
    })
  }

  async remove(at: { farmId: string; deviceId?: string | null; rule: string }, actor: Actor): Promise<Result<RuleOverride>> {
    checkActor(actor)
    const key = [at.farmId, at.deviceId ?? '', at.rule]
    return mutate(this.scope, async (q) => {
      const before = await q.get<Row>(`SELECT * FROM rule_overrides WHERE ${MATCH}`, key)
      if (!before) return refuse('not_found', [issue('rule', refusal('notFound', { entity: 'override', id: key.filter(Boolean).join('/') }))])
      await q.run(`DELETE FROM rule_overrides WHERE ${MATCH}`, key)
      const old = fromRow(before)
      await writeAudit(q, this.scope.now(), actor, 'override.remove', target(old), { rule: at.rule, before: old })
      return done(old)
    })
  }
}
