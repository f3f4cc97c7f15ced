#!/usr/bin/env bash
# Accepted OTP verifications per second through POST /api/v1/authenticate.
# Starts a release `latchkey serve` on a fresh SQLite data folder (or on
# PostgreSQL with DATABASE=postgres://…), seeds TOKENS users with HOTP tokens
# and drives them with latchkey-load; then a second run paced at half the
# measured peak, for p99 at half load. Loopback only; stops what it started.
#   bench/authenticate.sh [TOKENS=1000] [CONCURRENCY=64] [DURATION=10]
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENS=${TOKENS:-1000}
CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-10}
cargo build --release -q -p latchkey-server -p latchkey-loadgen
data=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
location=(--data-dir "$data")
[ -n "${DATABASE:-}" ] && location+=(--database "$DATABASE")
key=$(./target/release/latchkey admin "${location[@]}" apikey create "bench-$$" --role admin --json | sed 's/.*"key":"\([^"]*\)".*/\1/')
LATCHKEY_LOG=warn ./target/release/latchkey serve "${location[@]}" --listen 127.0.0.1:0 > "$data/serve.out" &
server=$!
for _ in $(seq 1 100); do grep -q listening "$data/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(head -n 1 "$data/serve.out" | awk '{print $4}')
echo "== peak: $TOKENS tokens, $CONCURRENCY workers, ${DURATION}s against $url"
peak=$(./target/release/latchkey-load --server "$url" --admin-key "$key" --tokens "$TOKENS" --concurrency "$CONCURRENCY" --duration "$DURATION" --json)
echo "$peak"
half=$(echo "$peak" | sed 's/.*"accepted_per_second":\([0-9.]*\).*/\1/' | awk '{printf "%d", $1 / 2}')
echo "== paced at half the peak: $half/s"
./target/release/latchkey-load --server "$url" --admin-key "$key" --tokens "$TOKENS" --concurrency "$CONCURRENCY" --duration "$DURATION" --rate "$half" --json
