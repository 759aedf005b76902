#!/usr/bin/env bash
# Benchmark: how logbook's cost grows, each figure beside PostgreSQL's own tool in the same run.
#   change-heavy replay: an empty base copy, then one 1,000,000-row insert transaction and 160,000
#                        pgbench transactions (insert + update each); replay latest and mid-way vs pg_restore
#   base copy:           the initial base copy of a 5,000,000-row table vs pg_dump -Fc -t
#   capture:             1,000,000-, 5,000,000- and 10,000,000-row transactions vs pg_recvlogical (time, peak RSS)
#   replay scaling:      against changes folded (0.3M, 1M, 3M on a 1M-row table) and table size (1M, 5M)
# Writes $B/scale.md and docs/replay-scaling.png; run by scripts/bench.sh, or alone (it then starts its
# own PostgreSQL and builds logbook).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${LOGBOOK_BENCH_DIR:-/tmp/logbook-bench}
PGBIN=/usr/lib/postgresql/15/bin
if [ -z "${ADMIN:-}" ] || [ -z "${LOGBOOK:-}" ]; then
  bash scripts/install-deps.sh
  swift build -c release 2>&1 | tail -1
  LOGBOOK=$(swift build -c release --show-bin-path)/logbook
  mkdir -p "$B"; chmod 755 "$B"
  bash scripts/pg-stop.sh "$B/pg-scale" >/dev/null 2>&1 || true
  ADMIN=$(bash scripts/pg-start.sh "$B/pg-scale" 55452)
  trap 'bash scripts/pg-stop.sh "$B/pg-scale"' EXIT
fi
DB="$ADMIN dbname=scale"
ROUNDS=${SCALE_ROUNDS:-3}

measure() { # sets SECS, RSS_MB
  /usr/bin/time -f "%e %M" -o "$B/time.txt" "$@" > "$B/stdout.txt" 2> "$B/stderr.txt" || { cat "$B/stderr.txt" >&2; return 1; }
  read -r SECS RSS_KB < "$B/time.txt"
  RSS_MB=$(awk "BEGIN{printf \"%.0f\", $RSS_KB/1024}")
}
ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
spread() { printf '%s\n' "$@" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END{printf "%s–%s", lo, hi}'; }
lsn() { psql "$DB" -Atc "SELECT pg_current_wal_lsn()"; }
fresh_db() {
  psql "$ADMIN" -qAtc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null
  psql "$ADMIN" -qc "DROP DATABASE IF EXISTS scale" -c "CREATE DATABASE scale"
  psql "$DB" -q -f scripts/sql/eld-schema.sql
  psql "$DB" -qc "TRUNCATE eld_events, audit_log, log_periods, certifications, eld_records, audit_entries RESTART IDENTITY"
}
insert_rows() { # $1 rows, one transaction
  psql "$DB" -qc "INSERT INTO eld_events (log_period_id, driver_id, vehicle_id, sequence_id, event_type, event_code, status, recorded_at, latitude, longitude, odometer_miles, engine_hours, annotation)
    SELECT g % 1400, g % 200, 1000 + g % 150, g, 1, 1 + g % 4, (ARRAY['off_duty','sleeper_berth','driving','on_duty_not_driving']::duty_status[])[1 + g % 4],
           now() - make_interval(secs => g), 30 + (g % 1500) / 100.0, -120 + (g % 4000) / 100.0, 100000 + g, 4000 + g / 10.0, CASE WHEN g % 17 = 0 THEN 'fuel stop' END
    FROM generate_series(1, $1) g"
}
reset_target() {
  psql "$ADMIN" -qc "DROP DATABASE IF EXISTS restored" -c "CREATE DATABASE restored"
  psql "$ADMIN dbname=restored" -q -c "CREATE TYPE duty_status AS ENUM ('off_duty', 'sleeper_berth', 'driving', 'on_duty_not_driving', 'personal_conveyance', 'yard_move')" \
       -c "CREATE TYPE event_origin AS ENUM ('automatic', 'driver', 'other_user', 'unidentified_driver')"
  psql "$ADMIN" -qc CHECKPOINT
  sync # the write-back of earlier work (made data, the other tool's run) stays out of the measured run
}
archive_run() { # $1 archive, then extra arguments
  local a=$1; shift
  "$LOGBOOK" run --source "$DB" --archive "$a" --tables public.eld_events --slot lb --publication lb --endpos "$(lsn)" "$@" 2>/dev/null
}
same_as_source() {
  psql "$ADMIN dbname=restored" -Atc "COPY (SELECT * FROM eld_events ORDER BY id) TO STDOUT" | md5sum > "$B/a.md5"
  psql "$DB" -Atc "COPY (SELECT * FROM eld_events ORDER BY id) TO STDOUT" | md5sum > "$B/b.md5"
  cmp -s "$B/a.md5" "$B/b.md5" && echo identical || echo DIFFERENT
}
# One restore of each kind, alternating, $ROUNDS times; sets P_* (pg_restore) and L_* (logbook) lists.
restore_rounds() { # $1 dump, $2 archive, $3 optional replay point arguments
  P=(); PR=(); L=(); LR=()
  for _ in $(seq "$ROUNDS"); do
    reset_target; measure "$PGBIN/pg_restore" -d "$ADMIN dbname=restored" "$1"; P+=("$SECS"); PR+=("$RSS_MB")
    reset_target; measure "$LOGBOOK" replay --archive "$2" --table public.eld_events ${3:-} --target "$ADMIN dbname=restored"; L+=("$SECS"); LR+=("$RSS_MB")
  done
}
: > "$B/scale.md"
: > "$B/scale-points.txt"

# 1. Change-heavy replay: nearly every row arrived as a change.
echo "scale: change-heavy archive (empty base copy, 1,000,000-row transaction, 160,000 pgbench transactions)" >&2
fresh_db
rm -rf "$B/archive-heavy"
archive_run "$B/archive-heavy"
insert_rows 1000000
MID=$(lsn)
"$PGBIN/pgbench" -n -c 8 -j 2 -t 20000 -f scripts/sql/bench-insert-update.sql "$DB" >/dev/null 2>&1
archive_run "$B/archive-heavy"
"$PGBIN/pg_dump" -Fc -t public.eld_events -f "$B/heavy.fc" "$DB"
HEAVY_CHANGES=$("$LOGBOOK" status --archive "$B/archive-heavy" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["changes"])')
HEAVY_ROWS=$(psql "$DB" -Atc "SELECT count(*) FROM eld_events")
restore_rounds "$B/heavy.fc" "$B/archive-heavy"
HP=$(median "${P[@]}"); HPS=$(spread "${P[@]}"); HL=$(median "${L[@]}"); HLS=$(spread "${L[@]}"); HLR=$(median "${LR[@]}")
HEAVY_SAME=$(same_as_source)
restore_rounds "$B/heavy.fc" "$B/archive-heavy" "--at-lsn $MID"
HM=$(median "${L[@]}"); HMS=$(spread "${L[@]}"); HMR=$(median "${LR[@]}"); HMP=$(median "${P[@]}")
HEAVY_ARCH=$(du -sb "$B/archive-heavy/segments" | cut -f1); HEAVY_DUMP=$(stat -c %s "$B/heavy.fc")
# The same archive with its sealed segments recompressed at level 19 (what run --recompress-level 19
# does in the background), then restored once from it and checked.
rm -rf "$B/archive-heavy-19"; cp -a "$B/archive-heavy" "$B/archive-heavy-19"
measure "$LOGBOOK" recompress --archive "$B/archive-heavy-19" --level 19; RC_SECS=$SECS; RC_RSS=$RSS_MB
HEAVY_ARCH19=$(du -sb "$B/archive-heavy-19/segments" | cut -f1)
"$LOGBOOK" verify --archive "$B/archive-heavy-19" > "$B/verify19.txt" 2>&1 && RC_VERIFY=clean || RC_VERIFY="NOT CLEAN"
reset_target; measure "$LOGBOOK" replay --archive "$B/archive-heavy-19" --table public.eld_events --target "$ADMIN dbname=restored"
RC_REPLAY=$SECS; RC_SAME=$(same_as_source)

# 2. The initial base copy of a 5,000,000-row table.
echo "scale: base copy of 5,000,000 rows" >&2
fresh_db
insert_rows 5000000
psql "$DB" -qc "VACUUM ANALYZE eld_events"
BD=(); BL=(); B1=()
for _ in $(seq "$ROUNDS"); do
  psql "$ADMIN" -qAtc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null
  measure "$PGBIN/pg_dump" -Fc -t public.eld_events -f "$B/big.fc" "$DB"; BD+=("$SECS")
  rm -rf "$B/archive-big"
  measure "$LOGBOOK" run --source "$DB" --archive "$B/archive-big" --tables public.eld_events --slot lb --publication lb --endpos "$(lsn)"
  BL+=("$SECS")
  psql "$ADMIN" -qAtc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null
  rm -rf "$B/archive-big1"
  measure "$LOGBOOK" run --source "$DB" --archive "$B/archive-big1" --tables public.eld_events --slot lb --publication lb --endpos "$(lsn)" \
      --base-copy-lanes 1
  B1+=("$SECS")
done
BDM=$(median "${BD[@]}"); BLM=$(median "${BL[@]}"); B1M=$(median "${B1[@]}")
BIG_BASE=$(du -sb "$B/archive-big/base" | cut -f1); BIG_DUMP=$(stat -c %s "$B/big.fc")
# Replay of the 5,000,000 rows (base-heavy), for the table-size curve.
restore_rounds "$B/big.fc" "$B/archive-big"
T5P=$(median "${P[@]}"); T5L=$(median "${L[@]}"); T5R=$(median "${LR[@]}")

# 3. Capture of large transactions.
echo "scale: capture of 1,000,000-, 5,000,000- and 10,000,000-row transactions" >&2
: > "$B/scale-capture.md"
for n in 1000000 5000000 10000000; do
  CR=(); CL=(); CQ=(); CM=()
  for _ in $(seq "$ROUNDS"); do
    fresh_db
    psql "$DB" -qc "CREATE PUBLICATION recv FOR TABLE eld_events"
    "$PGBIN/pg_recvlogical" -d "$DB" --slot recv --create-slot -P pgoutput >/dev/null
    rm -rf "$B/archive-cap"; archive_run "$B/archive-cap"
    insert_rows "$n"
    END=$(lsn)
    measure "$PGBIN/pg_recvlogical" -d "$DB" --slot recv --start --endpos "$END" --no-loop -o proto_version=2 -o publication_names=recv \
        -o streaming=on -f "$B/recv.out"
    CR+=("$SECS"); RR=$RSS_MB
    measure "$LOGBOOK" run --source "$DB" --archive "$B/archive-cap" --tables public.eld_events --slot lb --publication lb --endpos "$END"
    CL+=("$SECS"); CM+=("$RSS_MB"); CQ+=("$(ratio "$SECS" "${CR[-1]}")")
    rm -f "$B/recv.out"
  done
  echo "| $n | $(median "${CR[@]}") s ($(spread "${CR[@]}")) | $(median "${CL[@]}") s ($(spread "${CL[@]}")) | **$(median "${CQ[@]}")×** ($(spread "${CQ[@]}")) | $(median "${CM[@]}") MiB, at most $(printf '%s\n' "${CM[@]}" | sort -n | tail -1) (pg_recvlogical ${RR}) |" >> "$B/scale-capture.md"
done

# 4. Replay against the number of changes folded, on a 1,000,000-row table (bulk updates).
echo "scale: replay against changes folded" >&2
: > "$B/scale-changes.md"
fresh_db
insert_rows 1000000
rm -rf "$B/archive-grow"; archive_run "$B/archive-grow"
for target in 300000 1000000 3000000; do
  have=$("$LOGBOOK" status --archive "$B/archive-grow" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["changes"])')
  while [ "$have" -lt "$target" ]; do
    step=$((target - have)); [ "$step" -gt 1000000 ] && step=1000000
    psql "$DB" -qc "UPDATE eld_events SET engine_hours = engine_hours + 1, annotation = 'edit' WHERE id <= $step"
    have=$((have + step))
  done
  archive_run "$B/archive-grow"
  "$PGBIN/pg_dump" -Fc -t public.eld_events -f "$B/grow.fc" "$DB"
  restore_rounds "$B/grow.fc" "$B/archive-grow"
  gp=$(median "${P[@]}"); gl=$(median "${L[@]}"); gr=$(median "${LR[@]}")
  echo "| $target | ${gp} s | ${gl} s | **$(ratio "$gl" "$gp")×** | ${gr} MiB |" >> "$B/scale-changes.md"
  echo "$target $gp $gl" >> "$B/scale-points.txt"
done
# Table size: 1,000,000 rows with no changes after the base copy.
fresh_db
insert_rows 1000000
rm -rf "$B/archive-1m"; archive_run "$B/archive-1m"
"$PGBIN/pg_dump" -Fc -t public.eld_events -f "$B/1m.fc" "$DB"
restore_rounds "$B/1m.fc" "$B/archive-1m"
T1P=$(median "${P[@]}"); T1L=$(median "${L[@]}"); T1R=$(median "${LR[@]}")

# The plot: replay seconds against changes folded, logbook beside pg_restore.
if [ ! -d "$B/py/matplotlib" ]; then python3 -m pip install --quiet --target "$B/py" matplotlib >&2; fi
PYTHONPATH="$B/py" python3 - "$B/scale-points.txt" docs/replay-scaling.png <<'PY'
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
pts = sorted(tuple(float(x) for x in line.split()) for line in open(sys.argv[1]) if line.strip())
n = [p[0] / 1e6 for p in pts]
fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
ax.plot(n, [p[1] for p in pts], "o-", label="pg_restore of pg_dump -Fc (same rows)")
ax.plot(n, [p[2] for p in pts], "s-", label="logbook replay (latest state)")
ax.set_xlabel("changes folded (millions)")
ax.set_ylabel("seconds")
ax.set_title("Restoring eld_events: time against changes folded")
ax.grid(True, alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(sys.argv[2])
PY

cat >> "$B/scale.md" <<MD

## Speed at scale

### A week of changes: replay when most rows arrived as changes

An empty base copy, then one 1,000,000-row insert transaction and 160,000 \`pgbench\` transactions (8
clients, an insert and an update each): $HEAVY_CHANGES changes, $HEAVY_ROWS rows at the end. $ROUNDS rounds,
the tools alternating; medians, with the spread of the runs.

| restore | pg_restore | logbook replay | ratio | logbook peak RSS |
|---|---|---|---|---|
| latest state (result $HEAVY_SAME to the live table) | ${HP} s (${HPS}) | ${HL} s (${HLS}) | **$(ratio "$HL" "$HP")×** | ${HLR} MiB |
| mid-way, after the big transaction (\`--at-lsn\`) | ${HMP} s | ${HM} s (${HMS}) | **$(ratio "$HM" "$HMP")×** | ${HMR} MiB |

Target: ≤ 1.0× \`pg_restore\`, latest and mid-way.

Archive bytes for this workload, against $HEAVY_DUMP for \`pg_dump -Fc\` of the table at the end (the archive
holds every version, the dump the last):

| archive | bytes (segments) | vs \`pg_dump -Fc\` | cost |
|---|---|---|---|
| as captured (zstd level 3) | $HEAVY_ARCH | **$(ratio "$HEAVY_ARCH" "$HEAVY_DUMP")×** | — |
| sealed segments recompressed at level 19 (\`logbook recompress\`, or \`run --recompress-level 19\` in the background) | $HEAVY_ARCH19 | **$(ratio "$HEAVY_ARCH19" "$HEAVY_DUMP")×** | ${RC_SECS} s of one core, peak RSS ${RC_RSS} MiB; verify $RC_VERIFY; a replay from it ${RC_REPLAY} s, result $RC_SAME |

Target: ≤ 1.0× \`pg_dump -Fc\` (a background rewrite of sealed segments allowed, its cost stated).

### The initial base copy of a 5,000,000-row table

| | time (median of $ROUNDS) | runs (s) | bytes |
|---|---|---|---|
| \`pg_dump -Fc -t eld_events\` | ${BDM} s | ${BD[*]} | $BIG_DUMP |
| \`logbook run\` (slot, base copy in parallel lanes, stream to the end) | ${BLM} s (**$(ratio "$BLM" "$BDM")×**) | ${BL[*]} | $BIG_BASE |
| the same with \`--base-copy-lanes 1\` | ${B1M} s (**$(ratio "$B1M" "$BDM")×**) | ${B1[*]} | |

Target: ≤ 0.6× \`pg_dump -Fc -t\`.

### Capture of one large transaction

$ROUNDS rounds per size (each on a fresh database and slot); medians, with the spread of the runs.

| rows in the transaction | pg_recvlogical | logbook run | ratio (per round) | logbook peak RSS |
|---|---|---|---|---|
$(cat "$B/scale-capture.md")

Target: ≤ 1.0× \`pg_recvlogical\`; peak RSS flat from 1M to 10M rows, ≤ 100 MiB.

### Replay against the number of changes folded (a 1,000,000-row table, bulk updates)

| changes folded | pg_restore | logbook replay | ratio | logbook peak RSS |
|---|---|---|---|---|
$(cat "$B/scale-changes.md")

![replay seconds against changes folded](replay-scaling.png)

### Replay against table size (no changes after the base copy)

| rows | pg_restore | logbook replay | ratio | logbook peak RSS |
|---|---|---|---|---|
| 1,000,000 | ${T1P} s | ${T1L} s | **$(ratio "$T1L" "$T1P")×** | ${T1R} MiB |
| 5,000,000 | ${T5P} s | ${T5L} s | **$(ratio "$T5L" "$T5P")×** | ${T5R} MiB |

What dominates each curve (from \`logbook replay --verbose\`, which times the phases, and \`perf\`).
**Change-heavy replay** into a database folds newest first: the segments' records frames are read from
the last back to the base copy's position, and the first change met of a key is its final row, so it
becomes a COPY line at once and streams through two connections while the fold goes on; older changes of
that key are passed over without building a row (memory: a bit per key met for dense integer keys, else a hash slot). The destination starts at once with the base
copy's definition; the walk itself checks each Relation message and table definition it meets against it. About two thirds of
the machine's CPU is then the server's COPY (binary rows: forming tuples, WAL), a third the fold;
then the key and index build (0.7–0.8 s, as for \`pg_restore\`). \`pg_restore\` has no fold, only one
connection. **Against changes folded**: logbook's time grows with the changes (the
fold reads every one, if only to pass over it), \`pg_restore\`'s with the rows in the dump only; the weekly
compaction (\`--compact-every\`) keeps the changes to fold to a week's. **Against table size** (no changes): both are the server's COPY and index build; logbook loads
through two connections and builds the key and the other indexes at once. **Base copy**: \`pg_dump -Fc\`
compresses with zlib on one core; logbook's lanes each read a range of pages and compress with zstd.
**Capture of one large transaction**: the server's decoding sets both tools' pace. While the transaction
streams, logbook prepares its changes as the segment will store them (position records, key hashes,
zstd frames of 1 MiB) in a spool file; at the commit the frames are written into the segment as they
are, so the commit costs a copy of the compressed bytes (about 22 MB per million rows), where
\`pg_recvlogical\` writes every raw byte (about 194 MB per million rows). Peak RSS stays near flat: the
segment's key index is written a part at a time, each filter of 1,048,576 keys as soon as it is full, so
memory holds one run of key hashes (8 MiB) whatever the size of the transaction.
**Archive bytes**: every version of every row, at zstd level 3 in frames of at most 1 MiB, against the
last version of each row in \`pg_dump\`'s zlib; the per-frame records of the 160,000 small transactions
(each with its Begin and Commit) cost most above the dump. Level 3 is what capture can afford while it
keeps pace with the server; a sealed segment can take its time: level 19 (zstd's optimal parser) rewrites
it frame for frame, the same frames and content hash, at about 3 MB of raw records a second on one core,
and reads back faster (fewer bytes to decompress).
MD
cat "$B/scale.md"
