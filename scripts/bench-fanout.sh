#!/usr/bin/env bash
# Fan-out benchmark: one archive's changes published by `logbook publish` to librdkafka's mock cluster
# (3 brokers on loopback, 6 partitions), once per event format; kcat counts what arrived.
#   ARCHIVE=… LOGBOOK=… B=… bash scripts/bench-fanout.sh   → $B/fanout.md
set -euo pipefail
: "${ARCHIVE:?}" "${LOGBOOK:?}" "${B:?}"
CHANGES=${CHANGES:-1000000}
out="$B/fanout.md"
{
  echo "| format | messages | time | messages/s | peak RSS | CPU seconds | bytes/message | target |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$out"
for format in json json-schema; do
  echo "fan-out: publishing $CHANGES changes as $format" >&2
  rm -f "$B/kafka.txt"
  "$LOGBOOK" kafka-mock --brokers 3 --topics logbook.public.eld_events --partitions 6 > "$B/kafka.txt" &
  MOCK=$!
  until [ -s "$B/kafka.txt" ]; do sleep 0.1; done
  BOOT=$(cat "$B/kafka.txt")
  /usr/bin/time -f "%e %M %U %S" -o "$B/time.txt" "$LOGBOOK" publish --archive "$ARCHIVE" --kafka-brokers "$BOOT" \
      --kafka-format "$format" --from 0/0 > "$B/stdout.txt" 2> "$B/stderr.txt" || { cat "$B/stderr.txt" >&2; kill $MOCK; exit 1; }
  read -r SECS RSS_KB USER SYS < "$B/time.txt"
  # The mock cluster keeps only the newest few MB of each partition: count by end offsets, size one message.
  ARRIVED=$(kcat -b "$BOOT" -Q $(for p in 0 1 2 3 4 5; do printf -- '-t logbook.public.eld_events:%d:-1 ' $p; done) -X log_level=0 | awk '{s += $NF} END {print s}')
  BYTES=$(kcat -b "$BOOT" -C -t logbook.public.eld_events -p 0 -o -1 -c 1 -e -q -X log_level=0 -f '%S' 2>/dev/null || echo 0)
  kill $MOCK; wait $MOCK 2>/dev/null || true
  RATE=$(awk "BEGIN{printf \"%.0f\", $ARRIVED/$SECS}")
  TARGET=$([ "$format" = json ] && echo "≥ 100,000" || echo "≥ 60,000")
  printf '| `%s` | %s | %s s | **%s** | %.0f MiB | %.1f s | %s | %s |\n' "$format" "$ARRIVED" "$SECS" "$RATE" \
      "$(awk "BEGIN{print $RSS_KB/1024}")" "$(awk "BEGIN{print $USER+$SYS}")" "$BYTES" "$TARGET" >> "$out"
done
cat "$out"
