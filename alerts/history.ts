/**
 * Alert lifecycle and maintenance history for Grafana annotations (DESIGN.md "Storage
 * contract"): measurements `alert` and `maintenance`. Behind a tiny sink interface so the
 * shared InfluxDB writer can replace the direct client; numbers are floats, as everywhere.
 */
import { InfluxDB, type WriteApi } from '@influxdata/influxdb-client'
import { MEASUREMENTS, type Point, toLineProtocol } from '../contracts/points.js'
import type { Logger } from '../runtime/logger.js'
import type { MaintenanceRecord } from './state.js'
import { RULE_TEXT } from './texts.js'
import type { AlertEvent } from './types.js'

export interface PointSink {
  write(points: Point[]): void
  close(): Promise<void>
}

export const nullSink: PointSink = { write: () => undefined, close: () => Promise.resolve() }

/** One lifecycle event. `event` is a tag, so a fire and a flapping note in the same millisecond both stay. */
export function alertPoint(e: AlertEvent): Point {
  const a = e.alert
  const fields: Point['fields'] = {
    alert_id: a.id,
    status: a.status,
    severity: a.severity,
    title: RULE_TEXT.en[a.rule].title,
    version: a.version,
  }
  if (e.by) fields.by = e.by
  if (e.contactId) fields.contact = e.contactId
  if (e.channel) fields.channel = e.channel
  if (e.type === 'resolve' && a.firedMs !== undefined) fields.duration_s = (e.atMs - a.firedMs) / 1000
  if (e.type === 'resolve' && a.resolved?.note) fields.note = a.resolved.note
  return { measurement: MEASUREMENTS.alert, tags: { farm: a.farm, device: a.device, rule: a.rule, event: e.type }, fields, timeMs: e.atMs }
}

export function maintenancePoint(m: MaintenanceRecord): Point {
  const fields: Point['fields'] = { note: m.note, by: m.by }
  if (m.runS !== undefined) fields.run_h = m.runS / 3600
  if (m.alertId) fields.alert_id = m.alertId
  return { measurement: MEASUREMENTS.maintenance, tags: { farm: m.farm, device: m.device, type: m.type }, fields, timeMs: m.atMs }
}

export interface InfluxOptions {
  url: string
  token?: string
  org: string
  bucket: string
}

/** Writes with @influxdata/influxdb-client (v2 write API, ms precision), batched and retried by the client. */
/** Points of training farms to `training`, the rest to `real` (issue 16: a workshop's alerts are not real history). */
export function splitSink(real: PointSink, training: PointSink, isTraining: (farm: string) => boolean): PointSink {
  return {
    write: (points) => {
      const apart = points.filter((p) => isTraining(String(p.tags.farm)))
      const rest = apart.length === 0 ? points : points.filter((p) => !isTraining(String(p.tags.farm)))
      if (rest.length > 0) real.write(rest)
      if (apart.length > 0) training.write(apart)
    },
    close: async () => {
      await Promise.all([real.close(), training.close()])
    },
  }
}

export function influxSink(opts: InfluxOptions, log: Logger): PointSink {
  const api: WriteApi = new InfluxDB({ url: opts.url, token: opts.token || undefined }).getWriteApi(opts.org, opts.bucket, 'ms', {
    flushInterval: 1_000,
    maxRetries: 5,
    writeFailed: (err, lines) => {
      log.error({ err, lines: lines.length }, 'alert history write failed')
    },
  })
  return {
    write: (points) => api.writeRecords(points.map(toLineProtocol)),
    close: async () => {
      await api.close().catch((err: unknown) => log.error({ err }, 'alert history flush failed'))
    },
  }
}
