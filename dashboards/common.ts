/**
 * What every dashboard shares: bilingual titles, the farm and device variables, the frame
 * (time zone, links, crosshair), value mappings for pump states and the soil bands.
 */
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  MappingType,
  CustomVariableBuilder,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard'
import { FAULT_CODES, PUMP_STATES, type FaultCode, type PumpState } from '../contracts/names.js'
import { NO_FAULT } from '../contracts/points.js'
import { DEFAULT_SOIL, FARM_TIMEZONE } from './farms.js'
import { DATASOURCE } from './grafana-influx.js'
import { from, showTagValues } from './influxql.js'
import type { Measurement } from './schema.js'
import { customValues, readCustomValues } from './custom-variable.js'
import { type DashboardKey, EVERY_FARM, type Scope } from './scope.js'

/** Titles in English with Thai alongside, for technicians who read either. */
export const bi = (en: string, th: string): string => `${en} · ${th}`

export { TAG } from './scope.js'

export const VAR_FARM = 'farm'
export const VAR_DEVICE = 'device'

/**
 * The farm picker. Fleet views take several farms; a farm's views take one. A scope with its
 * own farms gets a fixed list (ids as values, names shown; All is that list, never `.*`) and
 * refuses values typed into the URL; otherwise every farm InfluxDB has seen.
 */
export function farmVariable(options: { multi: boolean }, scope: Scope = EVERY_FARM): QueryVariableBuilder | CustomVariableBuilder {
  if (scope.farms !== undefined) return farmChoices(options, scope.farms)
  const query = showTagValues({ from: ['pump'], key: 'farm' })
  return new QueryVariableBuilder(VAR_FARM)
    .label(bi('Farm', 'ฟาร์ม'))
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(options.multi)
    .includeAll(options.multi)
}

function farmChoices(options: { multi: boolean }, farms: NonNullable<Scope['farms']>): CustomVariableBuilder {
  const query = customValues(farms.map((f) => ({ text: f.text, value: f.id })))
  // The options as Grafana will read them back from the query.
  const choices = readCustomValues(query)
  const first = choices[0] ?? { text: '', value: '' }
  const current = options.multi ? { text: ['All'], value: ['$__all'] } : first
  return new CustomVariableBuilder(VAR_FARM)
    .label(bi('Farm', 'ฟาร์ม'))
    .values(query)
    .options([...(options.multi ? [{ text: 'All', value: '$__all', selected: true }] : []), ...choices.map((c) => ({ ...c, selected: !options.multi && c === first }))])
    .current(current)
    .multi(options.multi)
    .includeAll(options.multi)
    .allowCustomValue(false)
}

/** The device picker, narrowed to the chosen farm(s) and to the measurements the view shows. */
export function deviceVariable(measurements: readonly Measurement[]): QueryVariableBuilder {
  const query = showTagValues({ from: measurements, key: 'device', where: [from('pump').tagIn('farm', VAR_FARM)] })
  return new QueryVariableBuilder(VAR_DEVICE)
    .label(bi('Device', 'อุปกรณ์'))
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
}

/** The frame of every dashboard: stable uid, farm time zone, shared crosshair, links to the others of its set. */
export function dashboard(scope: Scope, key: DashboardKey, title: string, options: { from: string; refresh: string }): DashboardBuilder {
  return new DashboardBuilder(title + scope.titleSuffix)
    .uid(scope.uids[key])
    .tags([...scope.tags])
    .timezone(FARM_TIMEZONE)
    .time({ from: options.from, to: 'now' })
    .refresh(options.refresh)
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .link(
      new DashboardLinkBuilder(bi('Dashboards', 'แดชบอร์ด'))
        .type(DashboardLinkType.Dashboards)
        .tags([...scope.linkTags])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    )
}

const STATE_TEXT: Record<PumpState, { text: string; color: string }> = {
  running: { text: 'running · ทำงาน', color: 'green' },
  idle: { text: 'idle · พัก', color: 'blue' },
  weak_sun: { text: 'weak sun · แดดอ่อน', color: 'yellow' },
  tank_full: { text: 'tank full · ถังเต็ม', color: 'purple' },
  fault: { text: 'fault · ขัดข้อง', color: 'red' },
  off: { text: 'off · ปิด', color: 'text' },
}

const FAULT_TEXT: Record<FaultCode, string> = {
  DRY_RUN: 'dry run · น้ำแห้ง',
  OVERCURRENT: 'overcurrent · กระแสเกิน',
  OVERTEMP: 'overheating · ร้อนเกิน',
  UNDERVOLT: 'low voltage · แรงดันต่ำ',
  OVERVOLT: 'high voltage · แรงดันสูง',
  LOCKED_ROTOR: 'locked rotor · มอเตอร์ติด',
  SENSOR_FAULT: 'sensor fault · เซนเซอร์เสีย',
}

/** Pump state and fault codes shown in words, coloured like a traffic light. */
export function pumpValueMappings(): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {}
  PUMP_STATES.forEach((state, index) => {
    options[state] = { ...STATE_TEXT[state], index }
  })
  FAULT_CODES.forEach((code, i) => {
    options[code] = { text: FAULT_TEXT[code], color: 'red', index: PUMP_STATES.length + i }
  })
  options[NO_FAULT] = { text: 'no fault · ปกติ', color: 'green', index: PUMP_STATES.length + FAULT_CODES.length }
  return [{ type: MappingType.ValueToText, options }]
}

/** 1/0 of device_status.online in words. */
export function onlineValueMappings(): ValueMapping[] {
  return [
    {
      type: MappingType.ValueToText,
      options: {
        '1': { text: 'online · ออนไลน์', color: 'green', index: 0 },
        '0': { text: 'offline · ออฟไลน์', color: 'red', index: 1 },
      },
    },
  ]
}

/** Below wilting point red, up to field capacity yellow, above it green. */
export function soilBands(): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: DEFAULT_SOIL.wilting_point_pct, color: 'yellow' },
    { value: DEFAULT_SOIL.field_capacity_pct, color: 'green' },
  ])
}

/** A single neutral colour for values without a meaning of good or bad. */
export function neutral(): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: 'green' }])
}
