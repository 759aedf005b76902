#!/usr/bin/env bash
# Benchmark: `logbook history` of one key across an archive of 300+ segments (six months of a small
# fleet's ELD events, compressed in time), with the segments' key indexes against a full scan of the
# same archive (--no-index). Writes $B/history.md; run by scripts/bench.sh, or alone (it then starts
# its own PostgreSQL and builds logbook).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${LOGBOOK_BENCH_DIR:-/tmp/logbook-bench}
if [ -z "${ADMIN:-}" ] || [ -z "${LOGBOOK:-}" ]; then
  bash scripts/install-deps.sh
  swift build -c release 2>&1 | tail -1
  LOGBOOK=$(swift build -c release --show-bin-path)/logbook
  mkdir -p "$B"; chmod 755 "$B"
  bash scripts/pg-stop.sh "$B/pg-history" >/dev/null 2>&1 || true
  ADMIN=$(bash scripts/pg-start.sh "$B/pg-history" 55451)
  trap 'bash scripts/pg-stop.sh "$B/pg-history"' EXIT
fi
HDB="$ADMIN dbname=history"
SEGMENTS=${HISTORY_SEGMENTS:-300}
PER=${HISTORY_EVENTS_PER_SEGMENT:-7000}
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS history" -c "CREATE DATABASE history"
psql "$HDB" -q -c "CREATE TABLE eld_history (id bigint PRIMARY KEY, driver_id int, vehicle_id int, recorded_at timestamptz,
                     status text, odometer_miles numeric(10,1), annotation text)"
rm -rf "$B/archive-history"
echo "history: $SEGMENTS segments of $PER events and $((PER / 14)) edits each" >&2
"$LOGBOOK" run --source "$HDB" --archive "$B/archive-history" --tables public.eld_history --slot hist --publication hist \
    --segment-seconds 0.1 --flush-interval 0.2 2> "$B/history-run.log" &
RUN=$!
until psql "$HDB" -Atc "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'hist' AND active" | grep -q 1; do sleep 0.1; done
# One transaction a "day" (PER new events, PER/14 edits of earlier ones); a pause after each lets the
# archiver seal a segment per day (--segment-seconds 0.1): the pause shapes the load, nothing waits on it.
{
  for d in $(seq 0 $((SEGMENTS - 1))); do
    lo=$((d * PER + 1)); hi=$(((d + 1) * PER))
    echo "BEGIN;"
    echo "INSERT INTO eld_history SELECT g, g % 20, 1000 + g % 20, timestamptz '2026-06-01' + make_interval(mins => g / 5), (ARRAY['off_duty','sleeper_berth','driving','on_duty'])[1 + g % 4], 100000 + g / 10.0, NULL FROM generate_series($lo, $hi) g;"
    [ "$d" -gt 0 ] && echo "UPDATE eld_history SET annotation = 'edit on day $d', status = 'on_duty' WHERE id IN (SELECT 1 + (hashint4(g * $((d + 7))) & 2147483647) % $lo FROM generate_series(1, $((PER / 14))) g);"
    # The audited record: event 4242, edited on days 60, 150 and the last.
    if [ "$d" = 60 ] || [ "$d" = 150 ] || [ "$d" = $((SEGMENTS - 1)) ]; then echo "UPDATE eld_history SET annotation = 'certified correction day $d' WHERE id = 4242;"; fi
    echo "COMMIT;"
    echo "SELECT pg_sleep(0.35);"
  done
} | psql "$HDB" -q > /dev/null
END=$(psql "$HDB" -Atc "SELECT pg_current_wal_lsn()")
until [ "$(psql "$HDB" -Atc "SELECT confirmed_flush_lsn >= '$END' FROM pg_replication_slots WHERE slot_name = 'hist'")" = t ]; do sleep 0.2; done
kill -TERM $RUN; wait $RUN || true
NSEG=$(ls "$B/archive-history/segments" | grep -c '\.seg$')
ARCH_MB=$(du -sm "$B/archive-history/segments" | cut -f1)
CHANGES=$("$LOGBOOK" status --archive "$B/archive-history" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["changes"])')

timed() { # command...; sets T (seconds)
  local s e; s=$(date +%s.%N); "$@" > "$B/history-out.txt" 2> "$B/history-err.txt"; e=$(date +%s.%N)
  T=$(awk "BEGIN{printf \"%.3f\", $e - $s}")
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
I=(); F=()
for round in 1 2 3; do
  timed "$LOGBOOK" history --archive "$B/archive-history" --table public.eld_history --key id=4242 --format json
  I+=("$T"); VERSIONS=$(wc -l < "$B/history-out.txt"); READ=$(tail -1 "$B/history-err.txt")
  cp "$B/history-out.txt" "$B/history-indexed.json"
  timed "$LOGBOOK" history --archive "$B/archive-history" --table public.eld_history --key id=4242 --format json --no-index
  F+=("$T")
  cmp -s "$B/history-out.txt" "$B/history-indexed.json" && SAME=identical || SAME=DIFFERENT
done
I_SECS=$(median "${I[@]}"); F_SECS=$(median "${F[@]}")
PCT=$(awk "BEGIN{printf \"%.1f\", 100*$I_SECS/$F_SECS}")
timed "$LOGBOOK" history --archive "$B/archive-history" --table public.eld_history --where driver_id=7 --format csv
W_SECS=$T; W_ROWS=$(($(wc -l < "$B/history-out.txt") - 1))
cat > "$B/history.md" <<MD

## History: one record across six months of segments

An archive of **$NSEG segments** ($ARCH_MB MB compressed, $CHANGES changes): one "day" per segment for a
fleet of 20 trucks — $PER new ELD events and $((PER / 14)) edits of earlier ones a day — captured live by
\`logbook run\`. The audited record (event 4242) was inserted on day 0 and corrected on days 60, 150 and
$((SEGMENTS - 1)). Three rounds, medians:

| \`logbook history --key id=4242\` | time (median) | runs (s) |
|---|---|---|
| with the segments' key indexes ($READ) | **${I_SECS} s** | ${I[*]} |
| full scan of the same archive (\`--no-index\`) | ${F_SECS} s | ${F[*]} |
| indexed ÷ full scan | **${PCT} %** | |

Both list the same $VERSIONS versions ($SAME output). Target: ≤ 5 % of the full scan and under 1 s. The indexed
lookup reads each segment's footer and key index (a blocked Bloom filter, ≈10 bits per key) and decodes only
the segments that may hold the key. \`--where driver_id=7\` over the whole archive (every version of every
row that driver ever had, $W_ROWS versions) cannot use the key index and reads every segment: ${W_SECS} s.
MD
cat "$B/history.md"
