#!/bin/bash
# InfluxQL on InfluxDB 2.x (reference/tech-stack.md §4): Grafana's dashboards query InfluxQL,
# which needs a database/retention-policy mapping onto the bucket and a 1.x-style login.
# The official image runs this once, right after its first setup, with the influx CLI already
# authenticated as the operator and DOCKER_INFLUXDB_INIT_{ORG,BUCKET,BUCKET_ID} set.
set -euo pipefail

bucket="${DOCKER_INFLUXDB_INIT_BUCKET:?}"
bucket_id="${DOCKER_INFLUXDB_INIT_BUCKET_ID:?}"
org="${DOCKER_INFLUXDB_INIT_ORG:?}"
user="${INFLUXQL_USER:?set GRAFANA_INFLUX_USER}"
password="${INFLUXQL_PASSWORD:?set GRAFANA_INFLUX_PASSWORD}"

case "$bucket" in
  */*)
    echo "INFLUX_BUCKET must be a plain bucket name here (the db/rp form is for InfluxDB 1.8): $bucket" >&2
    exit 1
    ;;
esac

# db = bucket name, rp = autogen: what Grafana's datasource (INFLUXQL_DB) and InfluxQL expect.
# 2.7 also has a virtual mapping of that name; an explicit one survives renaming the bucket.
if ! influx v1 dbrp create --org "$org" --bucket-id "$bucket_id" --db "$bucket" --rp autogen --default; then
  influx v1 dbrp list --org "$org" --db "$bucket" | grep -q autogen || {
    echo "no DBRP mapping for database $bucket" >&2
    exit 1
  }
fi

# Training farms' readings live apart (issue 16): their own bucket, unless it exists already.
training="${INFLUX_TRAINING_BUCKET:-${bucket}_training}"
if ! influx bucket list --org "$org" --name "$training" >/dev/null 2>&1; then
  influx bucket create --org "$org" --name "$training" --retention 30d
fi
training_id="$(influx bucket list --org "$org" --name "$training" --hide-headers | awk '{print $1}')"
influx v1 dbrp create --org "$org" --bucket-id "$training_id" --db "$training" --rp autogen --default || true

# Read-only: Grafana never writes.
influx v1 auth create --org "$org" --username "$user" --password "$password" --read-bucket "$bucket_id" --read-bucket "$training_id"
echo "InfluxQL ready: database $bucket (rp autogen), training database $training, read-only user $user"
