#!/usr/bin/env bash
# Accepted RADIUS Access-Requests per second (otp-only mode, valid codes,
# each once) through Latchkey's RADIUS listener, Latchkey's
# POST /api/v1/authenticate in the same run, and FreeRADIUS 3.2 (Debian
# `freeradius`) answering PAP from a static `users` file: the ceiling of a
# RADIUS server on this machine with no second factor and nothing durable.
# Then Latchkey's RADIUS paced at half its peak, for the latency there.
# Loopback only; a private FreeRADIUS configuration in a temporary folder;
# stops what it started.
#   bench/radius.sh [TOKENS=1000] [CONCURRENCY=64] [DURATION=10]
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENS=${TOKENS:-1000}
CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-10}
command -v freeradius >/dev/null || { echo "needs FreeRADIUS: apt-get install freeradius" >&2; exit 1; }
cargo build --release -q -p latchkey-server -p latchkey-loadgen
server_bin=./target/release/latchkey
load_bin=./target/release/latchkey-load
data=$(mktemp -d)
# FreeRADIUS drops to its own user, which must read its folder.
frdir=$(mktemp -d)
chmod 755 "$frdir"
fr=""
cleanup() {
    kill "$server" 2>/dev/null || true
    [ -n "$fr" ] && kill "$fr" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$data" "$frdir"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
secret=bench-radius-secret
key=$("$server_bin" admin --data-dir "$data" apikey create "bench-$$" --role admin --json | sed 's/.*"key":"\([^"]*\)".*/\1/')
echo "$secret" | "$server_bin" admin --data-dir "$data" radius-client add load --address 127.0.0.1 --mode otp-only --secret-stdin >/dev/null
radius_port=$(port)
LATCHKEY_LOG=warn LATCHKEY_RADIUS_LISTEN=127.0.0.1:$radius_port "$server_bin" serve --data-dir "$data" --listen 127.0.0.1:0 > "$data/serve.out" &
server=$!
for _ in $(seq 1 100); do grep -q listening "$data/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(head -n 1 "$data/serve.out" | awk '{print $4}')

# FreeRADIUS: the Debian configuration, copied, with one static user and
# the default site listening on a free loopback port.
rmdir "$frdir"
cp -a /etc/freeradius/3.0 "$frdir"
chmod 755 "$frdir"
fr_port=$(port)
sed -i "s|^raddbdir = .*|raddbdir = $frdir|" "$frdir/radiusd.conf"
printf 'bench\tCleartext-Password := "bench-password"\n\n' | cat - "$frdir/mods-config/files/authorize" > "$data/authorize"
cp "$data/authorize" "$frdir/mods-config/files/authorize"
rm -f "$frdir/sites-enabled/inner-tunnel"
python3 - "$frdir/sites-enabled/default" "$fr_port" <<'PY'
import re, sys
path, port = sys.argv[1], sys.argv[2]
s = open(path).read()
s = s.replace("\tipaddr = *\n", "\tipaddr = 127.0.0.1\n")
s = re.sub(r"(type = auth\n(?:.*\n)*?\s*)port = 0", r"\g<1>port = " + port, s, count=1)
open(path, "w").write(s)
PY
sed -i "s|secret = testing123|secret = $secret|" "$frdir/clients.conf"
chown -R freerad:freerad "$frdir" 2>/dev/null || true
freeradius -f -d "$frdir" -l "$data/freeradius.log" &
fr=$!
sleep 2
kill -0 "$fr" 2>/dev/null || { cat "$data/freeradius.log" >&2; exit 1; }

echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== FreeRADIUS $(freeradius -v | head -n1 | awk '{print $4}' | tr -d ,), static PAP"
"$load_bin" --server "$url" --admin-key "$key" --radius "127.0.0.1:$fr_port" --radius-secret "$secret" \
    --pap-user bench --pap-password bench-password --concurrency "$CONCURRENCY" --duration "$DURATION" --json
echo "== Latchkey RADIUS, otp-only, fresh valid codes"
peak=$("$load_bin" --server "$url" --admin-key "$key" --radius "127.0.0.1:$radius_port" --radius-secret "$secret" \
    --tokens "$TOKENS" --concurrency "$CONCURRENCY" --duration "$DURATION" --json)
echo "$peak"
echo "== Latchkey POST /api/v1/authenticate, fresh valid codes"
"$load_bin" --server "$url" --admin-key "$key" --tokens "$TOKENS" --concurrency "$CONCURRENCY" --duration "$DURATION" --json
half=$(echo "$peak" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted_per_second"] / 2)')
echo "== Latchkey RADIUS paced at half its peak ($half/s)"
"$load_bin" --server "$url" --admin-key "$key" --radius "127.0.0.1:$radius_port" --radius-secret "$secret" \
    --tokens "$TOKENS" --concurrency "$CONCURRENCY" --duration "$DURATION" --rate "$half" --json
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
