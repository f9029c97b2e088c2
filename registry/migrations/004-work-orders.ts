/**
 * Version 4: the service loop (issue 17). Work orders (opened by an alert's incident, by a
 * person, or by a maintenance schedule that came due), the visits logged on them (who, when,
 * findings, parts, cost in THB, free text in Thai), and maintenance schedules per farm or device
 * (every N days and/or every N pumped hours). Shipped once merged: never edit; add a new migration.
 *
 * Kinds and statuses are checked by the repository's zod schemas, not by SQL CHECKs (as in 001).
 * `alert_id` is unique: one incident opens one work order, however often its messages go out.
 * Device ids carry no foreign key: an alert may come from a device the registry knows only by
 * its farm, and a removed device keeps its history.
 */
import type { Migration } from '../migrate.js'

export const workOrders: Migration = {
  version: 4,
  name: 'work-orders',
  sql: (t) => `
-- What is due: a task on a farm or one device, every N days and/or every N pumped hours.
CREATE TABLE maintenance_schedules (
  id TEXT PRIMARY KEY,
  farm_id TEXT NOT NULL REFERENCES farms (id) ON DELETE CASCADE,
  device_id TEXT,
  task TEXT NOT NULL,
  every_days ${t.real} CHECK (every_days > 0),
  every_run_hours ${t.real} CHECK (every_run_hours > 0),
  last_done_at ${t.timestamp},
  last_run_hours ${t.real} CHECK (last_run_hours >= 0),
  enabled ${t.bool('enabled')} NOT NULL DEFAULT TRUE,
  created_at ${t.timestamp} NOT NULL,
  updated_at ${t.timestamp} NOT NULL,
  CHECK (every_days IS NOT NULL OR every_run_hours IS NOT NULL)
)${t.table};
CREATE INDEX maintenance_schedules_farm ON maintenance_schedules (farm_id);

-- kind: repair, scheduled, visit. status: open, assigned, closed.
CREATE TABLE work_orders (
  id TEXT PRIMARY KEY,
  farm_id TEXT NOT NULL REFERENCES farms (id) ON DELETE CASCADE,
  device_id TEXT,
  alert_id TEXT UNIQUE,
  alert_key TEXT,
  schedule_id TEXT REFERENCES maintenance_schedules (id) ON DELETE SET NULL,
  title TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  assignee_id TEXT REFERENCES people (id) ON DELETE SET NULL,
  opened_by TEXT NOT NULL,
  opened_at ${t.timestamp} NOT NULL,
  assigned_at ${t.timestamp},
  closed_at ${t.timestamp},
  closed_by TEXT,
  close_note TEXT,
  created_at ${t.timestamp} NOT NULL,
  updated_at ${t.timestamp} NOT NULL
)${t.table};
CREATE INDEX work_orders_farm ON work_orders (farm_id, status);
CREATE INDEX work_orders_assignee ON work_orders (assignee_id, status);
CREATE INDEX work_orders_schedule ON work_orders (schedule_id, status);

-- parts: a JSON array of {name, qty}. who: a person id, or token:<name> for the installation token.
CREATE TABLE work_order_visits (
  id ${t.serialKey},
  work_order_id TEXT NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
  visited_at ${t.timestamp} NOT NULL,
  who TEXT NOT NULL,
  findings TEXT NOT NULL DEFAULT '',
  parts ${t.json('parts')} NOT NULL DEFAULT '[]',
  cost_thb ${t.real} CHECK (cost_thb >= 0),
  note TEXT NOT NULL DEFAULT '',
  created_at ${t.timestamp} NOT NULL
)${t.table};
CREATE INDEX work_order_visits_order ON work_order_visits (work_order_id, id);
`,
}
