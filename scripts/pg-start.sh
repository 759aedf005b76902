#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for tests and the demo, as the postgres user
# (the server refuses to run as root). Prints the connection string on stdout.
#   scripts/pg-start.sh DATADIR PORT [BINDIR]
set -euo pipefail
DATA=$1; PORT=$2; BIN=${3:-/usr/lib/postgresql/15/bin}
RUNAS=()
if [ "$(id -u)" -eq 0 ]; then RUNAS=(runuser -u postgres --); fi
if [ -f "$DATA/postmaster.pid" ] && "${RUNAS[@]}" "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  echo "host=127.0.0.1 port=$PORT user=postgres dbname=postgres"; exit 0
fi
rm -rf "$DATA"
mkdir -p "$DATA"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DATA" "$(dirname "$DATA")" 2>/dev/null || true
chmod 700 "$DATA"
LIBDIR="$(dirname "$BIN")/lib"
export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"${RUNAS[@]}" env LD_LIBRARY_PATH="$LD_LIBRARY_PATH" "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DATA'
wal_level = ${WAL_LEVEL:-logical}
max_wal_senders = 20
max_replication_slots = 20
wal_sender_timeout = 60s
fsync = off
synchronous_commit = on
shared_buffers = 256MB
max_connections = 100
max_prepared_transactions = 10
log_min_messages = warning
CONF
echo "host replication all 127.0.0.1/32 trust" >> "$DATA/pg_hba.conf"
"${RUNAS[@]}" env LD_LIBRARY_PATH="$LD_LIBRARY_PATH" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >/dev/null
echo "host=127.0.0.1 port=$PORT user=postgres dbname=postgres"
