#!/usr/bin/env bash
# Side by side: latchkey on SQLite, latchkey as two nodes on one fresh
# PostgreSQL database, and privacyIDEA 3.14 (PyPI, in a virtualenv; SQLite and
# gunicorn), each with the same ACCOUNTS users and TOTP tokens (known seeds),
# driven by wrk with the same workloads: valid OTPs (each used once), wrong
# OTPs, password + OTP (Argon2id 19 MiB, t=2 on both sides). Prints a table
# of throughput and p50/p99 latency per system and workload, the ratios
# latchkey/privacyIDEA and the goals of issue 6. Loopback only; stops
# everything it started and drops the database it created.
#   bench/compare.sh   [ACCOUNTS=10000] [DURATION=10] [CONNECTIONS=32] [PI_WORKERS=2]
#                      [PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/test]
#                      [PI_VENV=~/.cache/latchkey-bench/privacyidea-venv]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing wrk (Debian package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
  else
    echo "bench/compare.sh needs wrk (Debian package wrk)" >&2
    exit 1
  fi
fi
command -v psql >/dev/null 2>&1 || { echo "bench/compare.sh needs psql and a PostgreSQL server" >&2; exit 1; }
cargo build --release -q -p latchkey-server
exec python3 bench/lib/compare.py "$@"
