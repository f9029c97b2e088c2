/**
 * The `alert` and `maintenance` measurements (DESIGN.md "Storage contract"): the vocabulary the
 * alerts service writes (alerts/history.ts alertPoint and maintenancePoint) and the dashboards
 * query. One definition for both, so a renamed status breaks the build instead of a panel.
 */

export const ALERT_STATUSES = ['pending', 'firing', 'acknowledged', 'resolved'] as const
export type AlertStatus = (typeof ALERT_STATUSES)[number]

export const SEVERITIES = ['critical', 'warning', 'info'] as const
export type Severity = (typeof SEVERITIES)[number]

export const ALERT_EVENTS = ['pending', 'cancel', 'fire', 'ack', 'resolve', 'escalate', 'flapping', 'notify'] as const
export type AlertEventType = (typeof ALERT_EVENTS)[number]

/** One point per lifecycle event, time = when it happened. */
export interface AlertRow {
  /** `rule` is one of the alerts service's RULE_IDS. */
  tags: { farm: string; device: string; rule: string; event: AlertEventType }
  fields: {
    alert_id: string
    /** The alert's status after the event. */
    status: AlertStatus
    severity: Severity
    /** The rule's English title (alerts/texts.ts RULE_TEXT.en). */
    title: string
    version: number
    by?: string
    contact?: string
    channel?: string
    duration_s?: number
    note?: string
  }
}

/** One point per maintenance a technician logs. */
export interface MaintenanceRow {
  tags: { farm: string; device: string; type: string }
  fields: { note: string; by: string; run_h?: number; alert_id?: string }
}

/** Statuses of an alert that still needs someone: fired and not yet resolved. */
export const OPEN_STATES = ['firing', 'acknowledged'] as const satisfies readonly AlertStatus[]

/** Events worth a mark on a graph (not every notification sent). */
export const ANNOTATED_EVENTS = ['fire', 'ack', 'resolve'] as const satisfies readonly AlertEventType[]

/** How far back the dashboards look for an alert that is still open. */
export const OPEN_ALERT_LOOKBACK_DAYS = 30

/**
 * Where a training farm's data goes (issue 16): readings (ingest) and alert history (alerts),
 * apart from real data. As set (INFLUX_TRAINING_BUCKET), else the bucket with `_training` on its
 * database part (`db_training/rp` on InfluxDB 1.8).
 */
export function trainingBucket(bucket: string, configured?: string): string {
  if (configured) return configured
  const [db, rp] = bucket.split('/', 2)
  return rp === undefined ? `${db}_training` : `${db}_training/${rp}`
}
