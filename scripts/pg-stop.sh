#!/usr/bin/env bash
# Stops a cluster started by pg-start.sh:  scripts/pg-stop.sh DATADIR [BINDIR]
set -euo pipefail
DATA=$1; BIN=${2:-/usr/lib/postgresql/15/bin}
RUNAS=(); [ "$(id -u)" -eq 0 ] && RUNAS=(runuser -u postgres --)
[ -f "$DATA/postmaster.pid" ] || exit 0
"${RUNAS[@]}" env LD_LIBRARY_PATH="$(dirname "$BIN")/lib" "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true
