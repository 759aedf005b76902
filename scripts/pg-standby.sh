#!/usr/bin/env bash
# Starts a hot standby of a throwaway primary (scripts/pg-start.sh) on loopback, streaming from it
# through a physical slot, with what logical slot synchronization needs (PostgreSQL 17+):
# sync_replication_slots, hot_standby_feedback, primary_slot_name, a dbname in primary_conninfo.
# Prints the standby's connection string.
#   scripts/pg-standby.sh PRIMARY_PORT DATADIR PORT BINDIR PHYSICAL_SLOT
set -euo pipefail
PRIMARY_PORT=$1; DATA=$2; PORT=$3; BIN=$4; SLOT=$5
RUNAS=()
if [ "$(id -u)" -eq 0 ]; then RUNAS=(runuser -u postgres --); fi
LIBDIR="$(dirname "$BIN")/lib"
export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
rm -rf "$DATA"
mkdir -p "$(dirname "$DATA")"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$(dirname "$DATA")" 2>/dev/null || true
"${RUNAS[@]}" env LD_LIBRARY_PATH="$LD_LIBRARY_PATH" "$BIN/pg_basebackup" -D "$DATA" -R -C -S "$SLOT" -X stream \
    -d "host=127.0.0.1 port=$PRIMARY_PORT user=postgres dbname=postgres" >/dev/null
cat >> "$DATA/postgresql.conf" <<CONF
port = $PORT
unix_socket_directories = '$DATA'
hot_standby = on
hot_standby_feedback = on
sync_replication_slots = on
CONF
"${RUNAS[@]}" env LD_LIBRARY_PATH="$LD_LIBRARY_PATH" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >/dev/null
echo "host=127.0.0.1 port=$PORT user=postgres dbname=postgres"
