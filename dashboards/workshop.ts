/**
 * Workshop: one farm, big live tiles refreshed every 5 s, for trainers who inject faults in
 * front of a class and want everyone to see the pump react.
 */
import { BigValueGraphMode, ReduceDataOptionsBuilder, VizTextDisplayOptionsBuilder } from '@grafana/grafana-foundation-sdk/common'
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { PanelBuilder as GaugePanel } from '@grafana/grafana-foundation-sdk/gauge'
import * as units from '@grafana/grafana-foundation-sdk/units'
import { bi, dashboard, deviceVariable, farmVariable, pumpValueMappings, soilBands } from './common.js'
import { DATASOURCE, InfluxQL } from './grafana-influx.js'
import { stat, twoAxes } from './panels.js'
import { perDevice, pump, pumpMean, pumpToday, soil, waterbank } from './queries.js'
import type { FieldOf } from './schema.js'
import { EVERY_FARM, type Scope } from './scope.js'

const BIG_TEXT = new VizTextDisplayOptionsBuilder().titleSize(22).valueSize(56)

function gauge(title: string, unit: string) {
  return new GaugePanel()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .min(0)
    .max(100)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .text(BIG_TEXT)
}

/** One big number per pump, with its last half hour drawn behind it. */
function liveTile(title: string, unit: string, field: FieldOf<'pump'>) {
  return stat(title, unit)
    .withTarget(new InfluxQL(pumpMean(field), 'A').alias('$tag_device'))
    .graphMode(BigValueGraphMode.Area)
    .text(BIG_TEXT)
    .span(8)
    .height(7)
}

export function workshopDashboard(scope: Scope = EVERY_FARM): Dashboard {
  return dashboard(scope, 'workshop', bi('Workshop (live)', 'ห้องเรียน (สด)'), { from: 'now-30m', refresh: '5s' })
    .withVariable(farmVariable({ multi: false }, scope))
    .withVariable(deviceVariable(['pump', 'waterbank', 'soil']))
    .withPanel(
      stat(bi('Pump state', 'สถานะปั๊ม'), units.NoUnit)
        .withTarget(new InfluxQL(perDevice(pump, pump.agg('last', 'state')), 'A').alias('$tag_device'))
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields('/.*/'))
        .mappings(pumpValueMappings())
        .text(BIG_TEXT)
        .span(8)
        .height(7),
    )
    .withPanel(liveTile(bi('Solar power now', 'กำลังไฟจากแผงตอนนี้'), units.Watt, 'pv_w'))
    .withPanel(liveTile(bi('Flow now', 'อัตราการไหลตอนนี้'), units.LitrePerMinute, 'flow_lpm'))
    .withPanel(
      gauge(bi('Water level', 'ระดับน้ำ'), units.Percent)
        .withTarget(new InfluxQL(perDevice(waterbank, waterbank.agg('last', 'level_pct'), { fill: 'none' }), 'A').alias('$tag_device'))
        .span(8)
        .height(8),
    )
    .withPanel(
      gauge(bi('Soil moisture', 'ความชื้นดิน'), units.Percent)
        .withTarget(new InfluxQL(perDevice(soil, soil.agg('last', 'vwc_pct'), { fill: 'none' }), 'A').alias('$tag_device'))
        .thresholds(soilBands())
        .max(50)
        .span(8)
        .height(8),
    )
    .withPanel(
      stat(bi('Litres pumped today', 'น้ำที่สูบวันนี้'), units.Litre)
        .withTarget(new InfluxQL(pumpToday(['device']), 'A', 'table'))
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(true).fields('/^litres_today$/'))
        .decimals(0)
        .text(BIG_TEXT)
        .span(8)
        .height(8),
    )
    .withPanel(
      twoAxes(
        bi('Solar power and flow, live', 'กำลังไฟและอัตราการไหล (สด)'),
        { query: pumpMean('pv_w'), what: 'PV power', unit: units.Watt, axis: 'PV power · กำลังไฟ' },
        { query: pumpMean('flow_lpm'), what: 'flow', unit: units.LitrePerMinute, axis: 'Flow · อัตราการไหล' },
      )
        .span(24)
        .height(9),
    )
    .build()
}
