#!/usr/bin/env bash
# Scale: seeds ACCOUNTS (default 1,000,000) users with a TOTP token each
# through `latchkey admin import`, on SQLite and on a fresh PostgreSQL
# database, says how long it took, and compares the verification latency
# (paced valid codes, each sent once) at that size with the latency at 1,000
# accounts. Loopback only; stops what it starts, drops the database it made.
#   bench/scale.sh   [ACCOUNTS=1000000] [RATE=1000] [BACKENDS=sqlite,postgres]
#                    [PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/test]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null 2>&1 || { echo "bench/scale.sh needs wrk (Debian package wrk)" >&2; exit 1; }
cargo build --release -q -p latchkey-server
exec python3 bench/lib/scale.py "$@"
