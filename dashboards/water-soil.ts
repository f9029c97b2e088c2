/**
 * Water and soil: water-bank and tank levels, soil moisture of every plot against field
 * capacity and wilting point, and pumping on the same time axis (shared crosshair), so a
 * technician sees whether the water reached the plots.
 */
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode } from '@grafana/grafana-foundation-sdk/common'
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import * as units from '@grafana/grafana-foundation-sdk/units'
import { bi, dashboard, deviceVariable, farmVariable, soilBands } from './common.js'
import { DEFAULT_SOIL } from './farms.js'
import { InfluxQL } from './grafana-influx.js'
import { deviceAlias, timeseries } from './panels.js'
import type { Column, Source } from './influxql.js'
import { perDevice, pumpMean, soil, waterbank } from './queries.js'
import { EVERY_FARM, type Scope } from './scope.js'

/** Sensors on batteries report every 15 min or so: bridge those gaps, not an hour of silence. */
const SENSOR_GAP_MS = 60 * 60_000

const soilTitle = bi(
  `Soil moisture per plot (field capacity ${String(DEFAULT_SOIL.field_capacity_pct)} %, wilting point ${String(DEFAULT_SOIL.wilting_point_pct)} %)`,
  'ความชื้นดินแต่ละแปลง',
)

/** A battery sensor's series: every reading joined up, gaps under an hour bridged. */
function sensors(title: string, unit: string, axis: string, queries: ReadonlyArray<{ query: string; alias: string }>) {
  const panel = timeseries(title, unit, axis).spanNulls(SENSOR_GAP_MS)
  queries.forEach((q, i) => panel.withTarget(new InfluxQL(q.query, String.fromCharCode(65 + i)).alias(q.alias)))
  return panel
}

/** The per-device series of a sensor field (no fill: sensors report every 10 to 15 minutes). */
const sparse = <X extends 'soil' | 'waterbank'>(source: Source<X>, column: Column) => perDevice(source, column, { fill: 'none' })

export function waterSoilDashboard(scope: Scope = EVERY_FARM): Dashboard {
  return dashboard(scope, 'waterSoil', bi('Water and soil', 'น้ำและความชื้นดิน'), { from: 'now-7d', refresh: '1m' })
    .withVariable(farmVariable({ multi: false }, scope))
    .withVariable(deviceVariable(['waterbank', 'soil', 'pump']))
    .withPanel(
      sensors(bi('Water bank and tank level', 'ระดับน้ำในธนาคารน้ำและถัง'), units.Percent, 'Level · ระดับ', [
        { query: sparse(waterbank, waterbank.agg('mean', 'level_pct')), alias: deviceAlias('level') },
      ])
        .min(0)
        .max(100)
        .span(12)
        .height(9),
    )
    .withPanel(
      sensors(bi('Stored water', 'ปริมาณน้ำที่เก็บ'), units.Litre, 'Volume · ปริมาตร', [
        { query: sparse(waterbank, waterbank.agg('mean', 'volume_l')), alias: deviceAlias('volume') },
      ])
        .min(0)
        .span(12)
        .height(9),
    )
    .withPanel(
      sensors(soilTitle, units.Percent, 'VWC · ความชื้น', [{ query: sparse(soil, soil.agg('mean', 'vwc_pct')), alias: '$tag_device' }])
        .thresholds(soilBands())
        .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.LineAndArea))
        .min(0)
        .max(50)
        .span(24)
        .height(10),
    )
    .withPanel(
      timeseries(bi('Pumping', 'การสูบน้ำ'), units.LitrePerMinute, 'Flow · อัตราการไหล')
        .withTarget(new InfluxQL(pumpMean('flow_lpm'), 'A').alias(deviceAlias('flow')))
        .fillOpacity(30)
        .min(0)
        .span(24)
        .height(7),
    )
    .withPanel(
      sensors(bi('Sensor batteries', 'แบตเตอรี่เซนเซอร์'), units.Volt, 'Battery · แบตเตอรี่', [
        { query: sparse(soil, soil.agg('min', 'battery_v')), alias: deviceAlias('battery') },
        { query: sparse(waterbank, waterbank.agg('min', 'battery_v')), alias: deviceAlias('battery') },
      ])
        .span(12)
        .height(7),
    )
    .withPanel(
      sensors(bi('Soil temperature', 'อุณหภูมิดิน'), units.Celsius, 'Temperature · อุณหภูมิ', [
        { query: sparse(soil, soil.agg('mean', 'soil_temp_c')), alias: '$tag_device' },
      ])
        .span(12)
        .height(7),
    )
    .build()
}
