#!/usr/bin/env bash
# The admin console over a large audit log (issue 17): the dashboard (read
# from the hourly summary, migration 0012) and filtered audit pages (the
# filter indexes, migration 0013), one signed-in admin, requests one after
# another, p50/p99/max. The ROWS audit rows are written straight into the
# database by SQL (a month of mostly OTP checks; their chain hashes are
# placeholders, so "verify the chain" is not measured), then the hourly
# summary is rebuilt as the migration does and the tables are analysed.
# SQLite in a fresh data folder, or a fresh database on PostgreSQL with
# PG_ADMIN_URL=postgres://…/DB (dropped afterwards). Loopback only.
#   bench/console.sh [ROWS=1000000] [REQUESTS=200] [PG_ADMIN_URL=…]
#   [SERVER_BIN=target/release/latchkey; BUILD=debug uses target/debug]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
REQUESTS=${REQUESTS:-200}
if [ -z "${SERVER_BIN:-}" ]; then
  if [ "${BUILD:-release}" = debug ]; then
    cargo build -q -p latchkey-server
    SERVER_BIN=./target/debug/latchkey
  else
    cargo build --release -q -p latchkey-server
    SERVER_BIN=./target/release/latchkey
  fi
fi
args=(--server-bin "$SERVER_BIN" --rows "$ROWS" --requests "$REQUESTS")
[ -n "${PG_ADMIN_URL:-}" ] && args+=(--postgres "$PG_ADMIN_URL")
exec python3 bench/lib/console.py "${args[@]}"
