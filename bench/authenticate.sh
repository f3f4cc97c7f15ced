#!/usr/bin/env bash
# Accepted OTP verifications per second through POST /api/v1/authenticate.
# Starts a release `latchkey serve` on a fresh SQLite data folder (or on
# PostgreSQL with DATABASE=postgres://…), then drives it with latchkey-load:
#   1. GET /healthz as fast as CONCURRENCY connections go: the ceiling of
#      HTTP alone on this machine now, the reference for the figures below;
#   2. TOKENS users with HOTP tokens, valid never-repeated OTPs, as fast as
#      CONCURRENCY connections go (the peak);
#   3. the same, paced at half that peak, for the latency at half load.
# Each phase prints the CPU seconds the server and the generator used, and
# the load average is printed before and after (other work on the machine
# skews every figure). Loopback only; stops what it started.
#   bench/authenticate.sh [TOKENS=1000] [CONCURRENCY=64] [DURATION=10]
#   [THREADS=1: the generator's event-loop threads]
#   [SERVER_BIN=path: measure another build of `latchkey`, e.g. an older one]
#   [WITHOUT_AUDIT_FILTER_INDEXES=1: SQLite only, drop migration 0013's three remaining
#    audit indexes (0015 moved the fourth to audit_subjects) before serving, to
#    measure what they cost each write]
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENS=${TOKENS:-1000}
CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-10}
THREADS=${THREADS:-1}
cargo build --release -q -p latchkey-server -p latchkey-loadgen
server_bin=${SERVER_BIN:-./target/release/latchkey}
load_bin=./target/release/latchkey-load
data=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
location=(--data-dir "$data")
[ -n "${DATABASE:-}" ] && location+=(--database "$DATABASE")
key=$("$server_bin" admin "${location[@]}" apikey create "bench-$$" --role admin --json | sed 's/.*"key":"\([^"]*\)".*/\1/')
if [ -n "${WITHOUT_AUDIT_FILTER_INDEXES:-}" ]; then
    sqlite3 "$data/latchkey.db" 'DROP INDEX audit_actor; DROP INDEX audit_action; DROP INDEX audit_source;'
    echo "== without migration 0013's audit filter indexes"
fi
LATCHKEY_LOG=warn "$server_bin" serve "${location[@]}" --listen 127.0.0.1:0 > "$data/serve.out" &
server=$!
for _ in $(seq 1 100); do grep -q listening "$data/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(head -n 1 "$data/serve.out" | awk '{print $4}')
ticks=$(getconf CLK_TCK)
server_cpu() { awk -v t="$ticks" '{printf "%.2f", ($14 + $15) / t}' "/proc/$server/stat"; }
# Runs the generator; prints its JSON line, then the CPU both sides used.
measure() {
    local before after out
    before=$(server_cpu)
    TIMEFORMAT="%U %S"
    { time "$load_bin" --server "$url" --admin-key "$key" --concurrency "$CONCURRENCY" \
        --threads "$THREADS" --duration "$DURATION" --json "$@" > "$data/load.out"; } 2> "$data/load.time"
    after=$(server_cpu)
    cat "$data/load.out"
    printf '%.0f/s  p50 %s ms  p99 %s ms  p99 from due time %s ms  errors %s  rejected %s\n' \
        "$(field accepted_per_second)" "$(field p50_ms)" "$(field p99_ms)" "$(field p99_from_due_ms)" \
        "$(field errors)" "$(field rejected)"
    awk -v b="$before" -v a="$after" '{printf "cpu seconds: server %.2f, generator %.2f\n", a - b, $1 + $2}' "$data/load.time"
}
field() { sed "s/.*\"$1\":\([0-9.]*\).*/\1/" "$data/load.out"; }
echo "== $(uptime)"
echo "== server $server_bin at $url; $CONCURRENCY connections, $THREADS generator thread(s), ${DURATION}s per phase"
echo "== ceiling: GET /healthz"
measure --healthz
echo "== peak: $TOKENS tokens"
measure --tokens "$TOKENS"
half=$(field accepted_per_second | awk '{printf "%d", $1 / 2}')
echo "== paced at half the peak: $half/s"
measure --tokens "$TOKENS" --rate "$half"
echo "== $(uptime)"
