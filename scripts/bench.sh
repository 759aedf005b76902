#!/usr/bin/env bash
# Benchmark: logbook side by side with PostgreSQL's own tools, same server, same data, one run.
#   capture: pg_recvlogical (pgoutput, its own slot) vs logbook run --endpos, on
#            (A) one 1,000,000-row transaction, (B) 150,000 single-row transactions from 8 pgbench clients
#   replay:  pg_restore of a pg_dump -Fc of eld_events vs logbook replay (latest, and mid-way through
#            300,000 later changes), 1,000,000 rows
# Writes docs/benchmarks.md (figures as ratios) and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release 2>&1 | tail -1
LOGBOOK=$(swift build -c release --show-bin-path)/logbook
PGBIN=/usr/lib/postgresql/15/bin
B=${LOGBOOK_BENCH_DIR:-/tmp/logbook-bench}
mkdir -p "$B"; chmod 755 "$B"
bash scripts/pg-stop.sh "$B/pg" >/dev/null 2>&1 || true
ADMIN=$(bash scripts/pg-start.sh "$B/pg" 55450)
trap 'bash scripts/pg-stop.sh "$B/pg"' EXIT
DB="$ADMIN dbname=bench"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench" -c "DROP DATABASE IF EXISTS restored" -c "CREATE DATABASE restored"
psql "$DB" -q -f scripts/sql/eld-schema.sql
psql "$DB" -qc "TRUNCATE eld_events, audit_log, log_periods, certifications, eld_records, audit_entries RESTART IDENTITY"
psql "$DB" -qc "CREATE PUBLICATION recv FOR TABLE eld_events"

# Runs a command under /usr/bin/time; sets SECS, RSS_MB, CPU.
measure() {
  /usr/bin/time -f "%e %M %U %S" -o "$B/time.txt" "$@" > "$B/stdout.txt" 2> "$B/stderr.txt" || { cat "$B/stderr.txt" >&2; return 1; }
  read -r SECS RSS_KB USER SYS < "$B/time.txt"
  RSS_MB=$(awk "BEGIN{printf \"%.0f\", $RSS_KB/1024}")
  CPU=$(awk "BEGIN{printf \"%.1f\", $USER+$SYS}")
}
ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
size() { du -sb "$1" | cut -f1; }

capture_round() { # name, workload command
  local name=$1; shift
  rm -rf "$B/archive-$name" "$B/recv-$name.out"
  psql "$ADMIN" -qAtc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null
  psql "$DB" -qc "TRUNCATE eld_events RESTART IDENTITY"
  pg_recvlogical -d "$DB" --slot recv --create-slot -P pgoutput >/dev/null
  "$LOGBOOK" run --source "$DB" --archive "$B/archive-$name" --tables public.eld_events --slot lb --publication lb \
      --endpos "$(psql "$DB" -Atc 'SELECT pg_current_wal_lsn()')" 2>/dev/null
  "$@"
  local end; end=$(psql "$DB" -Atc "SELECT pg_current_wal_lsn()")
  measure pg_recvlogical -d "$DB" --slot recv --start --endpos "$end" --no-loop -o proto_version=2 -o publication_names=recv \
      -o streaming=on -f "$B/recv-$name.out"
  R_SECS=$SECS; R_RSS=$RSS_MB; R_CPU=$CPU
  measure "$LOGBOOK" run --source "$DB" --archive "$B/archive-$name" --tables public.eld_events --slot lb --publication lb --endpos "$end"
  L_SECS=$SECS; L_RSS=$RSS_MB; L_CPU=$CPU
  RAW=$(size "$B/recv-$name.out"); ARCH=$(size "$B/archive-$name/segments")
  pg_dump -Fc -t public.eld_events -f "$B/dump-$name.fc" "$DB"; DUMP=$(size "$B/dump-$name.fc")
  ROWS=$(psql "$DB" -Atc "SELECT count(*) FROM eld_events")
  echo "| $name | $ROWS | ${R_SECS} s | ${L_SECS} s | **$(ratio "$L_SECS" "$R_SECS")×** | $RAW | $ARCH | **$(ratio "$ARCH" "$RAW")×** | $DUMP | $(ratio "$ARCH" "$DUMP")× | ${L_RSS} MiB (pg_recvlogical ${R_RSS}) | ${L_CPU} s (pg_recvlogical ${R_CPU}) |" >> "$B/capture.md"
}

big_txn() {
  psql "$DB" -qc "INSERT INTO eld_events (log_period_id, driver_id, vehicle_id, sequence_id, event_type, event_code, status, recorded_at, latitude, longitude, odometer_miles, engine_hours, annotation)
    SELECT g % 1400, g % 200, 1000 + g % 150, g, 1, 1 + g % 4, (ARRAY['off_duty','sleeper_berth','driving','on_duty_not_driving']::duty_status[])[1 + g % 4],
           now() - make_interval(secs => g), 30 + (g % 1500) / 100.0, -120 + (g % 4000) / 100.0, 100000 + g, 4000 + g / 10.0, CASE WHEN g % 17 = 0 THEN 'fuel stop' END
    FROM generate_series(1, 1000000) g"
}
small_txns() {
  "$PGBIN/pgbench" -n -c 8 -j 2 -t 18750 -f scripts/sql/bench-insert.sql "$DB" >/dev/null 2>&1
}

: > "$B/capture.md"
echo "capture: one 1,000,000-row transaction" >&2
capture_round "1 × 1,000,000-row transaction" big_txn
echo "capture: 150,000 single-row transactions, 8 clients" >&2
capture_round "150,000 × 1-row transactions (8 clients)" small_txns

# Fan-out: publish the 1,000,000 archived changes to librdkafka's mock cluster, once per event format.
ARCHIVE="$B/archive-1 × 1,000,000-row transaction" LOGBOOK="$LOGBOOK" B="$B" bash scripts/bench-fanout.sh >/dev/null

# Replay: 1,000,000 rows, then 300,000 later changes; a point in the middle.
echo "replay: preparing 1,000,000 rows and 300,000 changes" >&2
psql "$ADMIN" -qAtc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null
psql "$DB" -qc "TRUNCATE eld_events RESTART IDENTITY"
big_txn
rm -rf "$B/archive-replay"
"$LOGBOOK" run --source "$DB" --archive "$B/archive-replay" --tables public.eld_events --slot lb --publication lb \
    --endpos "$(psql "$DB" -Atc 'SELECT pg_current_wal_lsn()')" 2>/dev/null
changes() { # $1: first id of the range
  psql "$DB" -qc "UPDATE eld_events SET annotation = 'edited', origin = 'other_user' WHERE id % 10 = 1 AND id BETWEEN $1 AND $1 + 999999" \
       -c "DELETE FROM eld_events WHERE id % 50 = 7 AND id BETWEEN $1 AND $1 + 999999" \
       -c "INSERT INTO eld_events (log_period_id, driver_id, vehicle_id, sequence_id, event_type, event_code, status, recorded_at) SELECT 1, g % 200, 1001, g, 1, 1, 'driving', now() FROM generate_series(1, 30000) g"
}
"$PGBIN/pgbench" -n -c 4 -j 2 -t 7500 -f scripts/sql/bench-update.sql "$DB" >/dev/null 2>&1   # 30,000 single-row edits
changes 1                                                                                     # 100,000 + 20,000 + 30,000
MID=$(psql "$DB" -Atc "SELECT pg_current_wal_lsn()")
"$PGBIN/pgbench" -n -c 4 -j 2 -t 7500 -f scripts/sql/bench-update.sql "$DB" >/dev/null 2>&1
psql "$DB" -qc "UPDATE eld_events SET engine_hours = engine_hours + 1 WHERE id % 10 = 3"     # 100,000
END=$(psql "$DB" -Atc "SELECT pg_current_wal_lsn()")
"$LOGBOOK" run --source "$DB" --archive "$B/archive-replay" --tables public.eld_events --slot lb --publication lb --endpos "$END" 2>/dev/null
CHANGES=$("$LOGBOOK" status --archive "$B/archive-replay" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["changes"])')
ROWS=$(psql "$DB" -Atc "SELECT count(*) FROM eld_events")
pg_dump -Fc -t public.eld_events -f "$B/replay.fc" "$DB"
reset_target() { psql "$ADMIN" -qc "DROP DATABASE IF EXISTS restored" -c "CREATE DATABASE restored"; psql "$ADMIN dbname=restored" -q -c "CREATE TYPE duty_status AS ENUM ('off_duty', 'sleeper_berth', 'driving', 'on_duty_not_driving', 'personal_conveyance', 'yard_move')" -c "CREATE TYPE event_origin AS ENUM ('automatic', 'driver', 'other_user', 'unidentified_driver')"; psql "$ADMIN" -qc CHECKPOINT; sync; }
# Three rounds, alternating the tools, so that both meet the machine in the same states; the
# medians are reported (two cores shared with the server move single runs by ±10%).
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
P=(); PR=(); L=(); LR=(); M=(); MR=(); CH=()
# The chain check's own time, as replay reports it ("chain of N segments checked in S s").
chain_secs() { sed -nE 's/.*chain of ([0-9]+) segments checked in ([0-9.]+) s.*/\2/p' "$B/stdout.txt"; }
chain_files() { sed -nE 's/.*chain of ([0-9]+) segments checked in ([0-9.]+) s.*/\1/p' "$B/stdout.txt"; }
for round in 1 2 3; do
  reset_target
  measure pg_restore -d "$ADMIN dbname=restored" "$B/replay.fc"
  P+=("$SECS"); PR+=("$RSS_MB")
  reset_target
  measure "$LOGBOOK" replay --archive "$B/archive-replay" --table public.eld_events --target "$ADMIN dbname=restored"
  L+=("$SECS"); LR+=("$RSS_MB"); CH+=("$(chain_secs)"); CHAIN_FILES=$(chain_files)
  if [ "$round" = 1 ]; then
    psql "$ADMIN dbname=restored" -Atc "COPY (SELECT * FROM eld_events ORDER BY id) TO STDOUT" | md5sum > "$B/a.md5"
    psql "$DB" -Atc "COPY (SELECT * FROM eld_events ORDER BY id) TO STDOUT" | md5sum > "$B/b.md5"
    cmp -s "$B/a.md5" "$B/b.md5" && SAME=identical || SAME=DIFFERENT
  fi
  reset_target
  measure "$LOGBOOK" replay --archive "$B/archive-replay" --table public.eld_events --at-lsn "$MID" --target "$ADMIN dbname=restored"
  M+=("$SECS"); MR+=("$RSS_MB")
done
P_SECS=$(median "${P[@]}"); P_RSS=$(median "${PR[@]}")
LAT_SECS=$(median "${L[@]}"); LAT_RSS=$(median "${LR[@]}")
MID_SECS=$(median "${M[@]}"); MID_RSS=$(median "${MR[@]}")
P_ALL="${P[*]}"; L_ALL="${L[*]}"; M_ALL="${M[*]}"
CHAIN_SECS=$(median "${CH[@]}"); CHAIN_PCT=$(awk "BEGIN{printf \"%.2f\", 100*$CHAIN_SECS/$LAT_SECS}")

# History: one record across 300 segments, with the key indexes and with a full scan.
ADMIN="$ADMIN" LOGBOOK="$LOGBOOK" LOGBOOK_BENCH_DIR="$B" bash scripts/bench-history.sh >&2

# Speed at scale: change-heavy replay, a 5,000,000-row base copy, large transactions, and how replay
# grows with changes folded and table size (also writes docs/replay-scaling.png).
ADMIN="$ADMIN" LOGBOOK="$LOGBOOK" LOGBOOK_BENCH_DIR="$B" bash scripts/bench-scale.sh >&2
# A whole application restored at one point: replay --all against pg_restore -j 2.
ADMIN="$ADMIN" LOGBOOK="$LOGBOOK" LOGBOOK_BENCH_DIR="$B" bash scripts/bench-restore-set.sh >&2

VERSION=$(psql "$ADMIN" -Atc "SHOW server_version")
{
cat <<MD
# Benchmarks

Produced by \`make bench\` (\`scripts/bench.sh\`) on $(date -u +%Y-%m-%d): $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB,
PostgreSQL $VERSION on loopback (\`fsync = off\` on the server, so that the server's own disk does not dominate;
logbook's own fsyncs are real). Each pair ran one after the other on the same WAL and the same data; each
restore starts after a \`CHECKPOINT\` and a \`sync\`, so that the write-back of earlier work does not land in it.
Times are wall-clock seconds; ratios are logbook ÷ PostgreSQL's tool (lower is better for logbook).

## Capture: \`pg_recvlogical\` vs \`logbook run --endpos\`

Both read the same changes from their own \`pgoutput\` slot (protocol 2, streaming on). \`pg_recvlogical\`
writes the raw messages to a file; logbook decodes them, writes zstd frames with checksums, fsyncs and
confirms. "Raw" is the size of \`pg_recvlogical\`'s output, the uncompressed pgoutput bytes.

| workload | rows | pg_recvlogical | logbook | time ratio | raw pgoutput bytes | archive bytes | archive ÷ raw | pg_dump -Fc bytes | archive ÷ dump | logbook peak RSS | CPU seconds |
|---|---|---|---|---|---|---|---|---|---|---|---|
MD
cat "$B/capture.md"
cat <<MD

Targets: time ≤ 1.0×, archive ≤ 0.35× raw, peak RSS ≤ 100 MiB.

## Replay: \`pg_restore\` of \`pg_dump -Fc\` vs \`logbook replay\`

\`eld_events\` with $ROWS rows at the end: a base copy of 1,000,000 rows, then $CHANGES archived changes
(single-row edits from pgbench, bulk updates, deletes, inserts). Each restore goes into an empty database
(enum types created beforehand for \`pg_restore\`; logbook creates them itself), including the primary
key and index.

Three rounds, the tools alternating; the table gives each one's median (all runs in the last column).

| restore | time (median) | ratio to pg_restore | peak RSS | runs (s) |
|---|---|---|---|---|
| \`pg_restore\` of a \`pg_dump -Fc\` of the table | ${P_SECS} s | 1.00× | ${P_RSS} MiB | ${P_ALL} |
| \`logbook replay\`, latest state (result $SAME to the live table) | ${LAT_SECS} s | **$(ratio "$LAT_SECS" "$P_SECS")×** | ${LAT_RSS} MiB | ${L_ALL} |
| \`logbook replay --at-lsn\` mid-way through the changes | ${MID_SECS} s | **$(ratio "$MID_SECS" "$P_SECS")×** | ${MID_RSS} MiB | ${M_ALL} |

Targets: ≤ 0.8× for both (most rows come from the base copy).

Before reading a row, every replay checks the chain of segments it will read: each one's header names this
archive, links by SHA-256 to the one before, and is named for its first position (headers and footers only,
no payload). Here, $CHAIN_FILES segments: **${CHAIN_SECS} s, ${CHAIN_PCT} % of the latest replay** (median of
the three runs; target < 3 %). It grows with the number of segments, not with their size.

## Fan-out: publishing to Kafka

The 1,000,000 archived changes of the first capture workload, published by \`logbook publish --from 0/0\`
(Debezium envelopes, idempotent producer, \`acks=all\`, zstd batches) to librdkafka's mock cluster (3 brokers
on loopback, 6 partitions) in the same run, once per \`--kafka-format\`; afterwards kcat read the
partitions' end offsets (messages) and the size of the last message (bytes/message).

$(cat "$B/fanout.md")

Targets: \`json\` ≥ 100,000 messages/s, so that publishing keeps up with capture; \`json-schema\` ≥ 60,000
(each message carries its schema: six times the bytes). The peak RSS of \`json-schema\` is librdkafka's
queue: up to 100,000 messages wait for acknowledgement between checkpoints.
MD
cat "$B/history.md"
cat "$B/scale.md"
cat <<MD

## Restoring an application: \`replay --all\` against \`pg_restore -j 2\`

Six ELD tables with foreign keys among them (carriers, drivers, vehicles, log periods, events,
certifications), row-level security, grants and a trigger, archived, then 849,000 events and a week of
changes; restored whole into an empty database at the same moment by both tools (\`scripts/bench-restore-set.sh\`,
alone: \`make bench-restore\`). Best of three rounds, each after a CHECKPOINT and a sync.

MD
cat "$B/restore-set.md"
cat docs/bench-notes.md
} > docs/benchmarks.md
cat docs/benchmarks.md
