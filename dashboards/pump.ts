/**
 * Pump: one pump's solar input against the sun, its hydraulics, motor and controller, how
 * many litres it lifts per watt-hour against its own recent baseline, its run hours, with
 * alerts and maintenance drawn on every graph.
 */
import { GraphDrawStyle } from '@grafana/grafana-foundation-sdk/common'
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline'
import * as units from '@grafana/grafana-foundation-sdk/units'
import { bi, dashboard, deviceVariable, farmVariable, pumpValueMappings } from './common.js'
import { ANNOTATED_EVENTS } from '../contracts/alert-storage.js'
import { FARM_DAY } from './farms.js'
import { DATASOURCE, InfluxAnnotation, InfluxQL } from './grafana-influx.js'
import { type Column, DASHBOARD_TIME, recent, select, subquery } from './influxql.js'
import { dashed, deviceAlias, stat, timeseries, twoAxes } from './panels.js'
import { alert, maintenance, perDevice, picked, pump, pumpMean as mean } from './queries.js'
import { EVERY_FARM, type Scope } from './scope.js'

/** Days in the rolling baseline of litres per Wh (the fault table of reference/domain.md uses 14 for alerts). */
const BASELINE_DAYS = 7

const running = pump.is('state', 'running')

/** L/min over W is L/Wh after * 60; only while running, so night and full tanks do not drag it down. */
const litresPerWh = perDevice(pump, pump.ratio('mean', 'flow_lpm', 'pv_w', { as: 'l_per_wh', times: 60 }), {
  where: [running],
})

const baseline = (() => {
  const daily = subquery({
    from: pump,
    columns: [pump.ratio('mean', 'flow_lpm', 'pv_w', { as: 'l_per_wh', times: 60 })],
    where: [...picked(), running],
    time: recent(`${BASELINE_DAYS * 3}d`),
    groupByTime: FARM_DAY,
    groupByTags: ['device'],
    fill: 'none',
  })
  return select({
    from: daily,
    columns: [daily.movingAverage('l_per_wh', BASELINE_DAYS, { as: 'baseline_l_per_wh' })],
    groupByTags: ['device'],
  })
})()

const perDay = (column: Column) =>
  select({
    from: pump,
    columns: [column],
    where: picked(),
    time: DASHBOARD_TIME,
    groupByTime: FARM_DAY,
    groupByTags: ['device'],
    fill: 'null',
  })

const annotations = [
  new InfluxAnnotation({
    name: bi('Alerts', 'การแจ้งเตือน'),
    iconColor: 'red',
    query: select({
      from: alert,
      columns: [alert.raw('title'), alert.raw('status'), alert.raw('severity'), alert.raw('rule'), alert.raw('event')],
      where: [...picked(), alert.tagAnyOf('event', ANNOTATED_EVENTS)],
      time: DASHBOARD_TIME,
    }),
    textColumn: 'title',
    tagsColumns: ['rule', 'event', 'severity'],
  }),
  new InfluxAnnotation({
    name: bi('Maintenance', 'การซ่อมบำรุง'),
    iconColor: 'blue',
    query: select({
      from: maintenance,
      columns: [maintenance.raw('note'), maintenance.raw('type'), maintenance.raw('by'), maintenance.raw('device')],
      where: picked(),
      time: DASHBOARD_TIME,
    }),
    textColumn: 'note',
    tagsColumns: ['type', 'by', 'device'],
  }),
]

export function pumpDashboard(scope: Scope = EVERY_FARM): Dashboard {
  const panels = [
    twoAxes(
      bi('PV power and sunlight', 'กำลังไฟจากแผงและความเข้มแสง'),
      { query: mean('pv_w'), what: 'PV power', unit: units.Watt, axis: 'PV power · กำลังไฟ' },
      { query: mean('irradiance_wm2'), what: 'irradiance', unit: units.WattPerSquareMeter, axis: 'Irradiance · แสงแดด' },
    ),
    twoAxes(
      bi('PV voltage and current', 'แรงดันและกระแสจากแผง'),
      { query: mean('pv_v'), what: 'PV voltage', unit: units.Volt, axis: 'Voltage · แรงดัน' },
      { query: mean('pv_a'), what: 'PV current', unit: units.Ampere, axis: 'Current · กระแส' },
    ),
    twoAxes(
      bi('Flow and pressure', 'อัตราการไหลและแรงดันน้ำ'),
      { query: mean('flow_lpm'), what: 'flow', unit: units.LitrePerMinute, axis: 'Flow · อัตราการไหล' },
      { query: mean('pressure_bar'), what: 'pressure', unit: units.Bars, axis: 'Pressure · แรงดัน' },
    ),
    twoAxes(
      bi('Motor current and controller temperature', 'กระแสมอเตอร์และอุณหภูมิคอนโทรลเลอร์'),
      { query: mean('motor_a'), what: 'motor current', unit: units.Ampere, axis: 'Motor · มอเตอร์' },
      { query: perDevice(pump, pump.agg('max', 'ctrl_temp_c')), what: 'controller temperature', unit: units.Celsius, axis: 'Temperature · อุณหภูมิ' },
    ),
    timeseries(bi('Litres per Wh against the baseline', 'ลิตรต่อวัตต์-ชั่วโมงเทียบค่าปกติ'), 'suffix: L/Wh', 'L/Wh · ลิตร/วัตต์-ชม.')
      .withTarget(new InfluxQL(litresPerWh, 'A').alias(deviceAlias('litres per Wh')))
      .withTarget(new InfluxQL(baseline, 'B').alias(deviceAlias(`baseline (${String(BASELINE_DAYS)} days)`)))
      .overrideByQuery('B', [dashed])
      .min(0)
      .decimals(2),
    new StateTimelinePanel()
      .title(bi('State and fault', 'สถานะและความผิดปกติ'))
      .datasource(DATASOURCE)
      .withTarget(new InfluxQL(perDevice(pump, pump.agg('last', 'state')), 'A').alias(deviceAlias('state')))
      .withTarget(new InfluxQL(perDevice(pump, pump.agg('last', 'fault')), 'B').alias(deviceAlias('fault')))
      .interval('5m')
      .unit(units.NoUnit)
      .mappings(pumpValueMappings()),
    timeseries(bi('Pumping hours per day', 'ชั่วโมงสูบน้ำต่อวัน'), units.Hours, 'Hours · ชั่วโมง')
      .withTarget(new InfluxQL(perDay(pump.agg('spread', 'run_s_total', { as: 'pump_h', per: 3600 })), 'A').alias(deviceAlias('hours')))
      .drawStyle(GraphDrawStyle.Bars)
      .fillOpacity(60)
      .min(0),
    timeseries(bi('Water pumped per day', 'ปริมาณน้ำที่สูบต่อวัน'), units.Litre, 'Litres · ลิตร')
      .withTarget(new InfluxQL(perDay(pump.agg('max', 'volume_l_today', { as: 'litres' })), 'A').alias(deviceAlias('litres')))
      .drawStyle(GraphDrawStyle.Bars)
      .fillOpacity(60)
      .min(0),
  ]
  const builder = dashboard(scope, 'pump', bi('Pump', 'ปั๊มน้ำ'), { from: 'now-7d', refresh: '1m' })
    .withVariable(farmVariable({ multi: false }, scope))
    .withVariable(deviceVariable(['pump']))
    .annotations(annotations)
    .withPanel(
      stat(bi('Run hours since installation', 'ชั่วโมงทำงานสะสม'), units.Hours)
        .withTarget(new InfluxQL(perDevice(pump, pump.agg('last', 'run_s_total', { as: 'run_h', per: 3600 })), 'A').alias('$tag_device'))
        .decimals(0)
        .span(24)
        .height(4),
    )
  for (const panel of panels) builder.withPanel(panel.span(12).height(9))
  return builder.build()
}
