/**
 * Queries more than one dashboard uses: open alerts, what a pump did today, and the
 * variable filters. Pure string building over the typed builder.
 */
import type { PumpState } from '../contracts/names.js'
import { FARM_DAY } from './farms.js'
import { OPEN_ALERT_LOOKBACK_DAYS, OPEN_STATES } from '../contracts/alert-storage.js'
import { VAR_DEVICE, VAR_FARM } from './common.js'
import {
  type Column,
  type Condition,
  DASHBOARD_TIME,
  type Duration,
  from,
  recent,
  select,
  type SelectSpec,
  type Source,
  subquery,
  type TimeRange,
} from './influxql.js'
import type { FieldOf, Measurement, TagOf } from './schema.js'

export const pump = from('pump')
export const soil = from('soil')
export const waterbank = from('waterbank')
export const status = from('device_status')
export const alert = from('alert')
export const maintenance = from('maintenance')

/** Farm and device as the dashboard's variables pick them (every dashboard has both). */
export const picked = (): Condition[] => [pump.tagIn('farm', VAR_FARM), pump.tagIn('device', VAR_DEVICE)]

/**
 * The latest value per device (or per `groupBy`) of the last `within`, whatever the picker
 * says: what a device does now. A single selector, so its time is that reading's time.
 */
export function latest<X extends Measurement>(
  source: Source<X>,
  column: Column,
  within: Duration,
  groupBy: SelectSpec<X>['groupByTags'] = ['farm', 'device'],
): SelectSpec<X> {
  return { from: source, columns: [column], where: picked(), time: recent(within), groupByTags: groupBy }
}

/** Each alert's latest status (one row per farm, device and rule), over the open-alert lookback. */
const latestAlertStatus = () =>
  subquery(latest(alert, alert.agg('last', 'status'), `${OPEN_ALERT_LOOKBACK_DAYS}d`, ['farm', 'device', 'rule']))

/** How many alerts are open, per the given tags (none: one number). */
export function openAlertCount(groupBy: readonly TagOf<'alert'>[]): string {
  const statuses = latestAlertStatus()
  return select({
    from: statuses,
    columns: [statuses.agg('count', 'status', { as: 'open_alerts' })],
    where: [statuses.anyOf('status', OPEN_STATES)],
    groupByTags: groupBy,
  })
}

/** Every open alert with its severity and title; time = its last event. */
export function openAlertList(): string {
  const last = subquery({
    from: alert,
    columns: [alert.raw('status'), alert.raw('severity'), alert.raw('title')],
    where: picked(),
    time: recent(`${OPEN_ALERT_LOOKBACK_DAYS}d`),
    groupByTags: ['farm', 'device', 'rule'],
    // The last row of each alert; InfluxQL wants the outer query in the same order.
    orderByTimeDesc: true,
    limit: 1,
  })
  return select({
    from: last,
    columns: [last.raw('status'), last.raw('severity'), last.raw('title')],
    where: [last.anyOf('status', OPEN_STATES)],
    groupByTags: ['farm', 'device', 'rule'],
    orderByTimeDesc: true,
  })
}

/** Today's bucket (farm time zone) of each pump: the newest GROUP BY time(1d) row. */
export const TODAY = {
  time: recent('1d'),
  groupByTime: FARM_DAY,
  fill: 'null',
  orderByTimeDesc: true,
  limit: 1,
} as const

/** Litres pumped today and hours pumped today, per pump. */
export function pumpToday(groupBy: readonly TagOf<'pump'>[]): string {
  return select({
    from: pump,
    columns: [
      pump.agg('last', 'volume_l_today', { as: 'litres_today' }),
      pump.agg('spread', 'run_s_total', { as: 'pump_h_today', per: 3600 }),
    ],
    where: picked(),
    groupByTags: groupBy,
    ...TODAY,
  })
}

/** How many pumps are in `state` now (their last reading of the last 15 minutes). */
export function pumpsInState(state: PumpState): string {
  const now = subquery(latest(pump, pump.agg('last', 'state'), '15m'))
  return select({ from: now, columns: [now.agg('count', 'state', { as: 'pumps' })], where: [now.is('state', state)] })
}

/** One numeric series per device over the dashboard's range, for time series panels. */
export function perDevice<X extends Measurement>(
  source: Source<X>,
  column: Column,
  options: { where?: readonly Condition[]; fill?: 'null' | 'none' | 'previous'; time?: TimeRange } = {},
): string {
  return select({
    from: source,
    columns: [column],
    where: [...picked(), ...(options.where ?? [])],
    time: options.time ?? DASHBOARD_TIME,
    groupByTime: '$__interval',
    groupByTags: ['device'],
    fill: options.fill ?? 'null',
  })
}

/** The mean of a pump field per device and interval: most pump graphs. */
export const pumpMean = (field: FieldOf<'pump'>): string => perDevice(pump, pump.agg('mean', field))
