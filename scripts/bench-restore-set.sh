#!/usr/bin/env bash
# Restore-set benchmark: the ELD application's six tables with foreign keys among them (1,000,000 rows,
# then a week's worth of changes), restored whole into an empty database at the same moment by
# `logbook replay --all` and by `pg_restore -j 2` of a `pg_dump -Fc` of the same tables. Both load
# rows, keys, indexes, constraints, foreign keys, grants and triggers; each starts after a CHECKPOINT
# and a sync, best of three rounds.
#   ADMIN=… LOGBOOK=… LOGBOOK_BENCH_DIR=… bash scripts/bench-restore-set.sh   → $B/restore-set.md
# Alone: `make bench-restore` (starts its own PostgreSQL 15).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${LOGBOOK_BENCH_DIR:-/tmp/logbook-bench}
mkdir -p "$B"; chmod 755 "$B"
if [ -z "${LOGBOOK:-}" ]; then
  bash scripts/install-deps.sh
  swift build -c release 2>&1 | tail -1
  LOGBOOK=$(swift build -c release --show-bin-path)/logbook
fi
OWN=""
if [ -z "${ADMIN:-}" ]; then
  bash scripts/pg-stop.sh "$B/pg-set" >/dev/null 2>&1 || true
  ADMIN=$(bash scripts/pg-start.sh "$B/pg-set" 55452)
  OWN=1
  trap 'bash scripts/pg-stop.sh "$B/pg-set"' EXIT
fi
ROUNDS=${ROUNDS:-3}
SRC="$ADMIN dbname=set_src"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS set_src" -c "CREATE DATABASE set_src"
psql "$SRC" -q -v ON_ERROR_STOP=1 <<'SQL'
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF; END $$;
CREATE TYPE duty_status AS ENUM ('off_duty', 'sleeper_berth', 'driving', 'on_duty_not_driving');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN NEW.updated_at := now(); RETURN NEW; END $f$;
CREATE TABLE carriers (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, dot_number int NOT NULL);
CREATE TABLE drivers (id bigserial PRIMARY KEY, carrier_id bigint NOT NULL REFERENCES carriers(id), license text NOT NULL UNIQUE, name text);
CREATE TABLE vehicles (id bigserial PRIMARY KEY, carrier_id bigint NOT NULL REFERENCES carriers(id), vin text NOT NULL UNIQUE);
CREATE TABLE log_periods (id bigserial PRIMARY KEY, driver_id bigint NOT NULL REFERENCES drivers(id), day date NOT NULL, UNIQUE (driver_id, day));
CREATE TABLE eld_events (id bigserial PRIMARY KEY, log_period_id bigint NOT NULL REFERENCES log_periods(id),
    vehicle_id bigint REFERENCES vehicles(id), status duty_status NOT NULL, recorded_at timestamptz NOT NULL,
    odometer_miles numeric(10,1), annotation text, updated_at timestamptz);
CREATE INDEX ON eld_events (recorded_at);
CREATE INDEX ON eld_events (vehicle_id);
CREATE TABLE certifications (id bigserial PRIMARY KEY, log_period_id bigint NOT NULL REFERENCES log_periods(id), certified_at timestamptz NOT NULL);
CREATE TRIGGER eld_events_touch BEFORE UPDATE ON eld_events FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE eld_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_events ON eld_events FOR SELECT TO authenticated USING (true);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO authenticated;
INSERT INTO carriers (name, dot_number) SELECT 'carrier ' || g, g FROM generate_series(1, 1000) g;
INSERT INTO drivers (carrier_id, license, name) SELECT 1 + g % 1000, 'L' || g, 'driver ' || g FROM generate_series(1, 20000) g;
INSERT INTO vehicles (carrier_id, vin) SELECT 1 + g % 1000, 'VIN' || g FROM generate_series(1, 10000) g;
INSERT INTO log_periods (driver_id, day) SELECT 1 + g % 20000, DATE '2026-06-01' + g / 20000 FROM generate_series(0, 69999) g;
INSERT INTO certifications (log_period_id, certified_at) SELECT g, TIMESTAMPTZ '2026-06-02' + g * interval '1 second' FROM generate_series(1, 50000) g;
SQL
TABLES=public.carriers,public.drivers,public.vehicles,public.log_periods,public.eld_events,public.certifications
rm -rf "$B/archive-set"
"$LOGBOOK" run --source "$SRC" --archive "$B/archive-set" --tables "$TABLES" --slot lbset --publication lbset \
    --endpos "$(psql "$SRC" -Atc 'SELECT pg_current_wal_lsn()')" 2>/dev/null
echo "restore set: 849,000 event rows and a week of changes" >&2
psql "$SRC" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO eld_events (log_period_id, vehicle_id, status, recorded_at, odometer_miles, annotation)
  SELECT 1 + g % 70000, 1 + g % 10000, (ARRAY['off_duty','sleeper_berth','driving','on_duty_not_driving']::duty_status[])[1 + g % 4],
         TIMESTAMPTZ '2026-06-01' + g * interval '2 seconds', 100000 + g / 10.0, CASE WHEN g % 17 = 0 THEN 'fuel stop' END
  FROM generate_series(1, 849000) g;
UPDATE eld_events SET annotation = 'edited: ' || coalesce(annotation, '') WHERE id % 9 = 0;
UPDATE eld_events SET status = 'on_duty_not_driving' WHERE id % 13 = 0;
DELETE FROM eld_events WHERE id % 29 = 0;
UPDATE drivers SET name = name || ' jr' WHERE id % 5 = 0;
INSERT INTO certifications (log_period_id, certified_at) SELECT g, TIMESTAMPTZ '2026-06-09' + g * interval '1 second' FROM generate_series(50001, 70000) g;
SQL
"$LOGBOOK" run --source "$SRC" --archive "$B/archive-set" --tables "$TABLES" --slot lbset --publication lbset \
    --endpos "$(psql "$SRC" -Atc 'SELECT pg_current_wal_lsn()')" 2>/dev/null
ROWS=$(psql "$SRC" -Atc "SELECT (SELECT count(*) FROM carriers) + (SELECT count(*) FROM drivers) + (SELECT count(*) FROM vehicles) + (SELECT count(*) FROM log_periods) + (SELECT count(*) FROM eld_events) + (SELECT count(*) FROM certifications)")
DUMP_T=$(echo "$TABLES" | tr ',' '\n' | sed 's/^/-t /' | tr '\n' ' ')
pg_dump -Fc $DUMP_T -f "$B/set.fc" "$SRC"

fresh() { # a new empty database with what both restores expect to find: the role, the type and the function
  psql "$ADMIN" -qc "DROP DATABASE IF EXISTS set_dst WITH (FORCE)" -c "CREATE DATABASE set_dst"
  psql "$ADMIN dbname=set_dst" -q -c "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS \$f\$ BEGIN NEW.updated_at := now(); RETURN NEW; END \$f\$"
  psql "$ADMIN" -qc "CHECKPOINT"; sync
}
best() { sort -n | head -1; }
: > "$B/set-pg.txt"; : > "$B/set-lb.txt"
for r in $(seq 1 "$ROUNDS"); do
  fresh; psql "$ADMIN dbname=set_dst" -qc "CREATE TYPE duty_status AS ENUM ('off_duty', 'sleeper_berth', 'driving', 'on_duty_not_driving')"
  /usr/bin/time -f "%e" -o "$B/t.txt" pg_restore -j 2 -d "$ADMIN dbname=set_dst" "$B/set.fc"; cat "$B/t.txt" >> "$B/set-pg.txt"
  PG_COUNT=$(psql "$ADMIN dbname=set_dst" -Atc "SELECT count(*) FROM eld_events")
  fresh
  /usr/bin/time -f "%e" -o "$B/t.txt" "$LOGBOOK" replay --archive "$B/archive-set" --all --target "$ADMIN dbname=set_dst" > "$B/set-replay.txt"
  cat "$B/t.txt" >> "$B/set-lb.txt"
  LB_COUNT=$(psql "$ADMIN dbname=set_dst" -Atc "SELECT count(*) FROM eld_events")
  [ "$PG_COUNT" = "$LB_COUNT" ] || { echo "row counts differ: pg_restore $PG_COUNT, logbook $LB_COUNT" >&2; exit 1; }
  FK=$(psql "$ADMIN dbname=set_dst" -Atc "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
  [ "$FK" = 6 ] || { echo "logbook restored $FK foreign keys, not 6" >&2; exit 1; }
done
PG=$(best < "$B/set-pg.txt"); LB=$(best < "$B/set-lb.txt")
{
  echo "| restore of the six ELD tables ($ROWS rows, foreign keys, RLS, grants, a trigger) | pg_restore -j 2 (rounds) | logbook replay --all (rounds) | ratio | target |"
  echo "|---|---|---|---|---|"
  echo "| latest state, after a week of changes, into an empty database | $PG s ($(paste -sd/ "$B/set-pg.txt")) | $LB s ($(paste -sd/ "$B/set-lb.txt")) | **$(awk "BEGIN{printf \"%.2f\", $LB/$PG}")×** | ≤ 0.8× |"
} > "$B/restore-set.md"
cat "$B/restore-set.md"
