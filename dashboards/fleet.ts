/**
 * Fleet: every pump of the chosen farms, what it does now, what it did today, its open
 * alerts, sorted so that what needs a visit is on top; and the farms on a map.
 */
import {
  FrameGeometrySourceBuilder,
  FrameGeometrySourceMode,
  MapLayerOptionsBuilder,
  TableCellDisplayMode,
} from '@grafana/grafana-foundation-sdk/common'
import { DashboardLinkBuilder, type Dashboard, ThresholdsConfigBuilder, ThresholdsMode } from '@grafana/grafana-foundation-sdk/dashboard'
import {
  ControlsOptionsBuilder,
  PanelBuilder as GeomapPanel,
  MapViewConfigBuilder,
  TooltipMode,
  TooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/geomap'
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline'
import * as units from '@grafana/grafana-foundation-sdk/units'
import { bi, dashboard, deviceVariable, farmVariable, onlineValueMappings, pumpValueMappings } from './common.js'
import { mapCentre } from './farms.js'
import { GAZETTEER_PATH } from './gazetteer.js'
import { DATASOURCE, InfluxQL } from './grafana-influx.js'
import { DASHBOARD_TIME, select, subquery } from './influxql.js'
import { column, deviceTable, joinRows, stat } from './panels.js'
import { latest, openAlertCount, picked, pump, pumpsInState, pumpToday, status, TODAY } from './queries.js'
import { EVERY_FARM, type Scope } from './scope.js'

/** A pump silent for longer than this is not on the fleet table any more. */
const FLEET_LOOKBACK = '30d'

const lastPerDevice = (name: 'state' | 'fault') => select(latest(pump, pump.agg('last', name), FLEET_LOOKBACK))

const lastOnline = select(latest(status, status.agg('last', 'online'), FLEET_LOOKBACK))

const litresToday = (() => {
  const today = subquery({
    from: pump,
    columns: [pump.agg('last', 'volume_l_today', { as: 'litres' })],
    where: picked(),
    groupByTags: ['farm', 'device'],
    ...TODAY,
  })
  return select({ from: today, columns: [today.agg('sum', 'litres')], orderByTimeDesc: true })
})()

const pumpsPerFarm = (() => {
  const pumps = subquery(latest(pump, pump.agg('last', 'state'), FLEET_LOOKBACK))
  return select({ from: pumps, columns: [pumps.agg('count', 'state', { as: 'pumps' })], groupByTags: ['farm'] })
})()

const alertColours = () =>
  new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'green' },
    { value: 1, color: 'red' },
  ])

const colouredCell = (type: TableCellDisplayMode) => ({ id: 'custom.cellOptions', value: { type } })
const mapped = (mappings: unknown) => ({ id: 'mappings', value: mappings })
const withUnit = (unit: string, decimals: number) => [
  { id: 'unit', value: unit },
  { id: 'decimals', value: decimals },
]

function pumpTable(scope: Scope) {
  const refIds = ['A', 'B', 'C', 'D', 'E']
  const pumpLink = `/d/${scope.uids.pump}?var-farm=\${__data.fields.farm}&var-device=\${__data.fields.device}&\${__url_time_range}`
  return deviceTable(bi('Pumps, what needs a visit first', 'ปั๊ม เรียงตามความเร่งด่วน'), [
    { refId: 'A', query: lastPerDevice('state') }, // its time is the last reading: "last seen"
    { refId: 'B', query: lastPerDevice('fault') },
    { refId: 'C', query: pumpToday(['farm', 'device']) },
    { refId: 'D', query: openAlertCount(['farm', 'device']) },
    { refId: 'E', query: lastOnline },
  ])
    .transformations([
      ...joinRows(refIds),
      // Status rows of soil probes and water banks have no pump state.
      {
        id: 'filterByValue',
        options: { type: 'exclude', match: 'any', filters: [{ fieldName: 'state', config: { id: 'isNull', options: {} } }] },
      },
      { id: 'sortBy', options: { fields: {}, sort: [{ field: 'open_alerts', desc: true }] } },
      {
        id: 'organize',
        options: {
          excludeByName: {},
          renameByName: {},
          indexByName: { open_alerts: 0, farm: 1, device: 2, state: 3, fault: 4, Time: 5, online: 6, litres_today: 7, pump_h_today: 8 },
        },
      },
    ])
    .overrideByName('open_alerts', [
      ...column(bi('Open alerts', 'แจ้งเตือน')),
      { id: 'noValue', value: '0' },
      { id: 'thresholds', value: alertColours().build() },
      colouredCell(TableCellDisplayMode.ColorBackground),
    ])
    .overrideByName('farm', column(bi('Farm', 'ฟาร์ม')))
    .overrideByName('device', [
      ...column(bi('Pump', 'ปั๊ม')),
      { id: 'links', value: [new DashboardLinkBuilder(bi('Open pump', 'ดูปั๊ม')).url(pumpLink).build()] },
    ])
    .overrideByName('state', [...column(bi('State', 'สถานะ')), mapped(pumpValueMappings()), colouredCell(TableCellDisplayMode.ColorBackground)])
    .overrideByName('fault', [...column(bi('Fault', 'ความผิดปกติ')), mapped(pumpValueMappings()), colouredCell(TableCellDisplayMode.ColorText)])
    .overrideByName('Time', column(bi('Last seen', 'ส่งข้อมูลล่าสุด'), [{ id: 'unit', value: units.DateTimeFromNow }]))
    .overrideByName('online', [...column(bi('Link', 'การเชื่อมต่อ')), mapped(onlineValueMappings()), colouredCell(TableCellDisplayMode.ColorText)])
    .overrideByName('litres_today', column(bi('Litres today', 'ลิตรวันนี้'), withUnit(units.Litre, 0)))
    .overrideByName('pump_h_today', column(bi('Pumping hours today', 'ชั่วโมงสูบวันนี้'), withUnit(units.Hours, 1)))
    .height(11)
    .span(16)
}

function farmMap(scope: Scope) {
  const centre = scope.centre ?? mapCentre()
  return new GeomapPanel()
    .title(bi('Farms', 'แผนที่ฟาร์ม'))
    .datasource(DATASOURCE)
    .withTarget(new InfluxQL(pumpsPerFarm, 'A', 'table'))
    .withTarget(new InfluxQL(openAlertCount(['farm']), 'B', 'table'))
    .transformations(joinRows(['A', 'B']))
    .unit(units.Short)
    .thresholds(alertColours())
    .view(new MapViewConfigBuilder().id('coords').lat(centre.lat).lon(centre.lon).zoom(9))
    .controls(new ControlsOptionsBuilder().showZoom(true).mouseWheelZoom(true).showScale(true))
    .tooltip(new TooltipOptionsBuilder().mode(TooltipMode.Details))
    .basemap(new MapLayerOptionsBuilder().type('osm-standard').name(bi('Map', 'แผนที่')))
    .layers([
      new MapLayerOptionsBuilder()
        .type('markers')
        .name(bi('Farms', 'ฟาร์ม'))
        .location(new FrameGeometrySourceBuilder().mode(FrameGeometrySourceMode.Lookup).lookup('farm').gazetteer(GAZETTEER_PATH))
        .config({
          showLegend: true,
          style: {
            color: { field: 'open_alerts', fixed: 'green' },
            size: { field: 'pumps', fixed: 10, min: 8, max: 24 },
            symbol: { mode: 'fixed', fixed: 'img/icons/marker/circle.svg' },
            text: { mode: 'field', field: 'farm', fixed: '' },
            textConfig: { fontSize: 12, offsetY: -16, textAlign: 'center', textBaseline: 'bottom' },
            opacity: 0.8,
          },
        })
        .tooltip(true),
    ])
    .height(11)
    .span(8)
}

function stateTimeline() {
  const query = select({
    from: pump,
    columns: [pump.agg('last', 'state')],
    where: picked(),
    time: DASHBOARD_TIME,
    groupByTime: '$__interval',
    groupByTags: ['farm', 'device'],
    fill: 'null',
  })
  return new StateTimelinePanel()
    .title(bi('Pump state over time', 'สถานะปั๊มตามเวลา'))
    .datasource(DATASOURCE)
    .withTarget(new InfluxQL(query, 'A').alias('$tag_farm $tag_device'))
    .interval('5m')
    .unit(units.NoUnit)
    .mappings(pumpValueMappings())
    .height(9)
    .span(24)
}

export function fleetDashboard(scope: Scope = EVERY_FARM): Dashboard {
  return dashboard(scope, 'fleet', bi('Fleet', 'ภาพรวมปั๊มทุกฟาร์ม'), { from: 'now-24h', refresh: '1m' })
    .withVariable(farmVariable({ multi: true }, scope))
    // Every device, so the open-alert counts include soil probes and water banks.
    .withVariable(deviceVariable([]))
    .withPanel(
      stat(bi('Pumps running now', 'ปั๊มที่กำลังสูบ'), units.Short)
        .withTarget(new InfluxQL(pumpsInState('running'), 'A'))
        .noValue('0')
        .span(6)
        .height(5),
    )
    .withPanel(
      stat(bi('Pumps in fault now', 'ปั๊มที่ขัดข้อง'), units.Short)
        .withTarget(new InfluxQL(pumpsInState('fault'), 'A'))
        .thresholds(alertColours())
        .noValue('0')
        .span(6)
        .height(5),
    )
    .withPanel(
      stat(bi('Open alerts', 'แจ้งเตือนที่ยังเปิด'), units.Short)
        .withTarget(new InfluxQL(openAlertCount([]), 'A'))
        .thresholds(alertColours())
        .noValue('0')
        .span(6)
        .height(5),
    )
    .withPanel(
      stat(bi('Litres pumped today', 'น้ำที่สูบวันนี้'), units.Litre)
        .withTarget(new InfluxQL(litresToday, 'A'))
        .decimals(0)
        .span(6)
        .height(5),
    )
    .withPanel(pumpTable(scope))
    .withPanel(farmMap(scope))
    .withPanel(stateTimeline())
    .build()
}
