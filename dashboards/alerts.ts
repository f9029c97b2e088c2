/**
 * Alerts and maintenance: what is open now (newest first), what changed recently, how many
 * alerts fired per day, and the maintenance log technicians keep.
 */
import { GraphDrawStyle, StackingConfigBuilder, StackingMode, TableCellDisplayMode } from '@grafana/grafana-foundation-sdk/common'
import { type Dashboard, MappingType, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard'
import * as units from '@grafana/grafana-foundation-sdk/units'
import type { Severity } from '../contracts/alert-storage.js'
import { bi, dashboard, deviceVariable, farmVariable } from './common.js'
import { FARM_DAY } from './farms.js'
import { InfluxQL } from './grafana-influx.js'
import { DASHBOARD_TIME, select } from './influxql.js'
import { column, deviceTable, timeseries } from './panels.js'
import { alert, maintenance, openAlertList, picked } from './queries.js'
import { EVERY_FARM, type Scope } from './scope.js'

/** Rows in a log table: enough for a month of a small fleet, bounded for the browser. */
const LOG_ROWS = 500

const SEVERITY_TEXT: Record<Severity, { text: string; color: string; index: number }> = {
  critical: { text: 'critical · วิกฤต', color: 'red', index: 0 },
  warning: { text: 'warning · เตือน', color: 'orange', index: 1 },
  info: { text: 'info · แจ้งให้ทราบ', color: 'blue', index: 2 },
}
const severityMappings = (): ValueMapping[] => [{ type: MappingType.ValueToText, options: SEVERITY_TEXT }]

const colouredText = { id: 'custom.cellOptions', value: { type: TableCellDisplayMode.ColorText } }

const recentChanges = select({
  from: alert,
  columns: [
    alert.raw('farm'),
    alert.raw('device'),
    alert.raw('rule'),
    alert.raw('title'),
    alert.raw('event'),
    alert.raw('status'),
    alert.raw('severity'),
    alert.raw('by'),
  ],
  where: picked(),
  time: DASHBOARD_TIME,
  orderByTimeDesc: true,
  limit: LOG_ROWS,
})

const firedPerDay = select({
  from: alert,
  columns: [alert.agg('count', 'status', { as: 'fired' })],
  where: [...picked(), alert.tagIs('event', 'fire')],
  time: DASHBOARD_TIME,
  groupByTime: FARM_DAY,
  groupByTags: ['rule'],
  fill: 0,
})

const maintenanceLog = select({
  from: maintenance,
  columns: [maintenance.raw('farm'), maintenance.raw('device'), maintenance.raw('type'), maintenance.raw('by'), maintenance.raw('note')],
  where: picked(),
  time: DASHBOARD_TIME,
  orderByTimeDesc: true,
  limit: LOG_ROWS,
})

const commonColumns = (table: ReturnType<typeof deviceTable>) =>
  table
    .overrideByName('farm', column(bi('Farm', 'ฟาร์ม')))
    .overrideByName('device', column(bi('Device', 'อุปกรณ์')))
    .overrideByName('Time', column(bi('When', 'เวลา'), [{ id: 'unit', value: units.DatetimeLocal }]))

const alertColumns = (table: ReturnType<typeof deviceTable>) =>
  commonColumns(table)
    .overrideByName('rule', column(bi('Rule', 'กฎ')))
    .overrideByName('title', column(bi('Alert', 'การแจ้งเตือน')))
    .overrideByName('severity', [
      ...column(bi('Severity', 'ความรุนแรง')),
      { id: 'mappings', value: severityMappings() },
      colouredText,
    ])

function firedPerDayPanel() {
  return timeseries(bi('Alerts fired per day', 'จำนวนการแจ้งเตือนต่อวัน'), units.Short, 'Alerts · ครั้ง')
    .withTarget(new InfluxQL(firedPerDay, 'A').alias('$tag_rule'))
    .drawStyle(GraphDrawStyle.Bars)
    .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
    .fillOpacity(70)
    .min(0)
    .span(10)
    .height(10)
}

export function alertsDashboard(scope: Scope = EVERY_FARM): Dashboard {
  return dashboard(scope, 'alerts', bi('Alerts and maintenance', 'การแจ้งเตือนและการซ่อมบำรุง'), { from: 'now-30d', refresh: '1m' })
    .withVariable(farmVariable({ multi: true }, scope))
    .withVariable(deviceVariable([]))
    .withPanel(
      alertColumns(deviceTable(bi('Open alerts', 'การแจ้งเตือนที่ยังเปิดอยู่'), [{ refId: 'A', query: openAlertList() }]))
        .overrideByName('Time', column(bi('Since', 'ตั้งแต่'), [{ id: 'unit', value: units.DateTimeFromNow }]))
        .overrideByName('status', column(bi('Status', 'สถานะ')))
        .span(24)
        .height(9),
    )
    .withPanel(
      alertColumns(deviceTable(bi('Recent alert changes', 'ความเคลื่อนไหวของการแจ้งเตือน'), [{ refId: 'A', query: recentChanges }]))
        .overrideByName('event', column(bi('Event', 'เหตุการณ์')))
        .overrideByName('status', column(bi('Status', 'สถานะ')))
        .overrideByName('by', column(bi('By', 'โดย')))
        .span(14)
        .height(10),
    )
    .withPanel(firedPerDayPanel())
    .withPanel(
      commonColumns(deviceTable(bi('Maintenance log', 'บันทึกการซ่อมบำรุง'), [{ refId: 'A', query: maintenanceLog }]))
        .overrideByName('type', column(bi('Work', 'งาน')))
        .overrideByName('by', column(bi('Technician', 'ช่าง')))
        .overrideByName('note', column(bi('Note', 'บันทึก')))
        .span(24)
        .height(10),
    )
    .build()
}
