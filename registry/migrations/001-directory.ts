/**
 * Version 1: who and where. Cooperatives, farms (names, place, training flag, time zone, alert
 * timing, equipment), people, their roles per cooperative or farm, and the audit log.
 * Shipped: never edit this file (migrate.ts refuses a changed step); add a new migration.
 *
 * Enumerations (roles, locales, how) are checked by the repositories' zod schemas, not here:
 * on SQLite a new value in a CHECK would mean rebuilding the table.
 */
import type { Migration } from '../migrate.js'

export const directory: Migration = {
  version: 1,
  name: 'directory',
  sql: (t) => `
CREATE TABLE cooperatives (
  id TEXT PRIMARY KEY,
  name_th TEXT,
  name_en TEXT,
  created_at ${t.timestamp} NOT NULL,
  updated_at ${t.timestamp} NOT NULL
)${t.table};

CREATE TABLE farms (
  id TEXT PRIMARY KEY,
  cooperative_id TEXT REFERENCES cooperatives (id) ON DELETE RESTRICT,
  name_th TEXT,
  name_en TEXT,
  lat_deg ${t.real} CHECK (lat_deg BETWEEN -90 AND 90),
  lon_deg ${t.real} CHECK (lon_deg BETWEEN -180 AND 180),
  training ${t.bool('training')} NOT NULL DEFAULT FALSE,
  time_zone TEXT NOT NULL DEFAULT 'Asia/Bangkok',
  escalate_after_min ${t.real} NOT NULL DEFAULT 15 CHECK (escalate_after_min > 0),
  quiet_start TEXT NOT NULL DEFAULT '21:00',
  quiet_end TEXT NOT NULL DEFAULT '06:00',
  panel_cleaning_days ${t.real} NOT NULL DEFAULT 14 CHECK (panel_cleaning_days > 0),
  filter_run_hours ${t.real} NOT NULL DEFAULT 200 CHECK (filter_run_hours > 0),
  pv_array_wp ${t.real} CHECK (pv_array_wp > 0),
  pump_model TEXT,
  pump_head_m ${t.real} CHECK (pump_head_m > 0),
  tank_capacity_l ${t.real} CHECK (tank_capacity_l > 0),
  bank_area_m2 ${t.real} CHECK (bank_area_m2 > 0),
  bank_depth_cm ${t.real} CHECK (bank_depth_cm > 0),
  level_sensor_cm ${t.real} CHECK (level_sensor_cm > 0),
  soil_field_capacity_pct ${t.real} CHECK (soil_field_capacity_pct > 0 AND soil_field_capacity_pct <= 100),
  soil_wilting_point_pct ${t.real} CHECK (soil_wilting_point_pct > 0 AND soil_wilting_point_pct <= 100),
  created_at ${t.timestamp} NOT NULL,
  updated_at ${t.timestamp} NOT NULL
)${t.table};
CREATE INDEX farms_cooperative ON farms (cooperative_id);

CREATE TABLE people (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  locale TEXT NOT NULL DEFAULT 'th',
  line_user_id TEXT UNIQUE,
  phone TEXT,
  quiet_start TEXT,
  quiet_end TEXT,
  created_at ${t.timestamp} NOT NULL,
  updated_at ${t.timestamp} NOT NULL,
  CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
)${t.table};

-- A role over one farm, over a cooperative's farms, or (both NULL) over every farm.
CREATE TABLE memberships (
  person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  cooperative_id TEXT REFERENCES cooperatives (id) ON DELETE CASCADE,
  farm_id TEXT REFERENCES farms (id) ON DELETE CASCADE,
  created_at ${t.timestamp} NOT NULL,
  CHECK (cooperative_id IS NULL OR farm_id IS NULL)
)${t.table};
CREATE UNIQUE INDEX memberships_unique ON memberships (person_id, role, COALESCE(cooperative_id, ''), COALESCE(farm_id, ''));
CREATE INDEX memberships_farm ON memberships (farm_id);
CREATE INDEX memberships_cooperative ON memberships (cooperative_id);

-- Every change: who (a person id or a login name), how (cli, api, console, line, system), what.
CREATE TABLE audit_log (
  id ${t.serialKey},
  at ${t.timestamp} NOT NULL,
  who TEXT NOT NULL,
  how TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail ${t.json('detail')} NOT NULL
)${t.table};
CREATE INDEX audit_log_target ON audit_log (target, id);
`,
}
