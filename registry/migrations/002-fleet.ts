/**
 * Version 2: what connects. Devices (kind, farm, credentials hash, calibration, commissioning
 * date), rule overrides per farm or device, and the broker logins of services and viewers
 * (accounts.json's `users`). Shipped: never edit this file; add a new migration.
 */
import type { Migration } from '../migrate.js'

export const fleet: Migration = {
  version: 2,
  name: 'fleet',
  sql: (t) => `
-- kind is NULL for a device known only by the name contacts.json gave it (never provisioned).
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  farm_id TEXT NOT NULL REFERENCES farms (id) ON DELETE RESTRICT,
  kind TEXT,
  name TEXT,
  credentials_hash TEXT,
  calibration ${t.json('calibration')} NOT NULL DEFAULT '{}',
  commissioned_on ${t.date},
  created_at ${t.timestamp} NOT NULL,
  updated_at ${t.timestamp} NOT NULL,
  UNIQUE (id, farm_id)
)${t.table};
CREATE INDEX devices_farm ON devices (farm_id);

-- A device's override follows the device when it moves to another farm.
CREATE TABLE rule_overrides (
  farm_id TEXT NOT NULL REFERENCES farms (id) ON DELETE CASCADE,
  device_id TEXT,
  rule TEXT NOT NULL,
  enabled ${t.bool('enabled')},
  severity TEXT,
  pending_min ${t.real} CHECK (pending_min >= 0),
  clear_min ${t.real} CHECK (clear_min >= 0),
  params ${t.json('params')} NOT NULL DEFAULT '{}',
  updated_at ${t.timestamp} NOT NULL,
  FOREIGN KEY (device_id, farm_id) REFERENCES devices (id, farm_id) ON DELETE CASCADE ON UPDATE CASCADE
)${t.table};
CREATE UNIQUE INDEX rule_overrides_unique ON rule_overrides (farm_id, COALESCE(device_id, ''), rule);

-- farms: the JSON string "*" (every farm) or an array of farm ids.
CREATE TABLE service_accounts (
  username TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  farms ${t.json('farms')} NOT NULL DEFAULT '"*"',
  credentials_hash TEXT NOT NULL,
  created_at ${t.timestamp} NOT NULL,
  updated_at ${t.timestamp} NOT NULL
)${t.table};
`,
}
