import { count, EntityRepo, type EntitySpec, type Scope } from '../entity.js'
import { COUNTED, issue, refusal } from '../messages.js'
import { bool, num, str, text } from '../rows.js'
import { type Farm, FarmInput } from '../schemas.js'
import { mustExist } from './common.js'

const spec: EntitySpec<typeof FarmInput, Farm> = {
  entity: 'farm',
  table: 'farms',
  keyColumn: 'id',
  keyField: 'id',
  schema: FarmInput,
  toColumns: (f) => ({
    id: f.id,
    cooperative_id: f.cooperativeId,
    name_th: f.nameTh,
    name_en: f.nameEn,
    lat_deg: f.latDeg,
    lon_deg: f.lonDeg,
    training: f.training,
    time_zone: f.timeZone,
    escalate_after_min: f.escalateAfterMin,
    quiet_start: f.quietHours.start,
    quiet_end: f.quietHours.end,
    panel_cleaning_days: f.maintenance.panelCleaningDays,
    filter_run_hours: f.maintenance.filterRunHours,
    pv_array_wp: f.equipment.pvArrayWp,
    pump_model: f.equipment.pumpModel,
    pump_head_m: f.equipment.pumpHeadM,
    tank_capacity_l: f.equipment.tankCapacityL,
    bank_area_m2: f.equipment.bankAreaM2,
    bank_depth_cm: f.equipment.bankDepthCm,
    level_sensor_cm: f.equipment.levelSensorCm,
    soil_field_capacity_pct: f.equipment.soilFieldCapacityPct,
    soil_wilting_point_pct: f.equipment.soilWiltingPointPct,
  }),
  fromRow: (r) => ({
    id: str(r.id),
    cooperativeId: text(r.cooperative_id),
    nameTh: text(r.name_th),
    nameEn: text(r.name_en),
    latDeg: num(r.lat_deg),
    lonDeg: num(r.lon_deg),
    training: bool(r.training),
    timeZone: str(r.time_zone),
    escalateAfterMin: Number(r.escalate_after_min),
    quietHours: { start: str(r.quiet_start), end: str(r.quiet_end) },
    maintenance: { panelCleaningDays: Number(r.panel_cleaning_days), filterRunHours: Number(r.filter_run_hours) },
    equipment: {
      pvArrayWp: num(r.pv_array_wp),
      pumpModel: text(r.pump_model),
      pumpHeadM: num(r.pump_head_m),
      tankCapacityL: num(r.tank_capacity_l),
      bankAreaM2: num(r.bank_area_m2),
      bankDepthCm: num(r.bank_depth_cm),
      levelSensorCm: num(r.level_sensor_cm),
      soilFieldCapacityPct: num(r.soil_field_capacity_pct),
      soilWiltingPointPct: num(r.soil_wilting_point_pct),
    },
    createdAt: str(r.created_at),
    updatedAt: str(r.updated_at),
  }),
  check: (q, f) => mustExist(q, 'cooperativeId', 'cooperative', f.cooperativeId),
  async blockers(q, id) {
    const n = await count(q, 'SELECT COUNT(*) AS n FROM devices WHERE farm_id = $1', [id])
    return n > 0 ? [issue('id', refusal('inUse', { entity: 'farm', id, n, what: COUNTED.devices }))] : []
  },
  async cascades(q, id) {
    return {
      memberships: await count(q, 'SELECT COUNT(*) AS n FROM memberships WHERE farm_id = $1', [id]),
      overrides: await count(q, 'SELECT COUNT(*) AS n FROM rule_overrides WHERE farm_id = $1', [id]),
    }
  },
}

export class Farms extends EntityRepo<typeof FarmInput, Farm> {
  constructor(scope: Scope) {
    super(scope, spec)
  }

  list(filter: { cooperativeId?: string; training?: boolean } = {}): Promise<Farm[]> {
    const where: string[] = []
    const params: Array<string | boolean> = []
    if (filter.cooperativeId !== undefined) where.push(`cooperative_id = $${params.push(filter.cooperativeId)}`)
    if (filter.training !== undefined) where.push(`training = $${params.push(filter.training)}`)
    return this.select(where.join(' AND '), params)
  }
}
