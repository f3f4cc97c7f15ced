#!/usr/bin/env bash
# Memory under a sign-in flood: USERS accounts (password + HOTP) each sign in
# through POST /api/v1/authenticate over their own connection, all at the
# same moment. Passes when every request is answered 200 and accepted (they
# queue on the Argon2 pool) and the server's peak resident memory (VmHWM in
# /proc/PID/status) stays under LIMIT_MIB. HOTP rather than TOTP: the last
# requests wait their turn for longer than a TOTP window lasts. Release build, fresh SQLite data
# folder, loopback only; stops what it starts.
#   bench/signin_flood.sh            [USERS=1000] [LIMIT_MIB=512]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-1000}
LIMIT_MIB=${LIMIT_MIB:-512}
PASSWORD='flood-password-1'
# LATCHKEY_BIN runs another build (say target/debug/latchkey) instead.
if [ -z "${LATCHKEY_BIN:-}" ]; then cargo build --release -q -p latchkey-server; fi
bin=${LATCHKEY_BIN:-./target/release/latchkey}
data=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
export LATCHKEY_LOG=warn
# One real Argon2id hash (19 MiB, t=2, as latchkey makes them), given to
# every account: the flood costs the same per request, and seeding takes
# one hash instead of a thousand.
echo "$PASSWORD" | $bin admin --data-dir "$data" user add flood-seed --password-stdin > /dev/null
python3 - "$data" "$USERS" > "$data/accounts.jsonl" <<'PY'
import json, sqlite3, sys
sys.path.insert(0, "bench/lib")
from otp import seed_base32, username
data, users = sys.argv[1], int(sys.argv[2])
hash_ = sqlite3.connect(f"{data}/latchkey.db").execute(
    "SELECT password_hash FROM users WHERE username = 'flood-seed'").fetchone()[0]
for i in range(users):
    print(json.dumps({"username": username(i), "password_hash": hash_,
                      "otpauth_uri": f"otpauth://hotp/Flood:{username(i)}?secret={seed_base32(i)}&counter=0"}))
PY
$bin admin --data-dir "$data" import "$data/accounts.jsonl" > /dev/null
key=$($bin admin --data-dir "$data" apikey create flood --json | sed 's/.*"key":"\([^"]*\)".*/\1/')
$bin serve --data-dir "$data" --listen 127.0.0.1:0 > "$data/serve.out" &
server=$!
for _ in $(seq 1 100); do grep -q listening "$data/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(head -n 1 "$data/serve.out" | awk '{print $4}')
before=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
echo "== $USERS concurrent password + OTP sign-ins against $url (RSS peak before: $((before / 1024)) MiB)"
result=$(python3 bench/lib/flood.py --url "$url" --key "$key" --password "$PASSWORD" --concurrency "$USERS")
echo "$result"
peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
peak_mib=$((peak_kib / 1024))
echo "server peak resident memory (VmHWM): $peak_mib MiB (limit $LIMIT_MIB MiB)"
accepted=$(echo "$result" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])')
failed=$(echo "$result" | python3 -c 'import json,sys; print(json.load(sys.stdin)["failed"])')
status=0
[ "$peak_mib" -lt "$LIMIT_MIB" ] || { echo "FAIL: peak memory $peak_mib MiB >= $LIMIT_MIB MiB"; status=1; }
[ "$failed" -eq 0 ] || { echo "FAIL: $failed requests got no 200 answer"; status=1; }
[ "$accepted" -eq "$USERS" ] || { echo "FAIL: $accepted of $USERS accepted"; status=1; }
[ $status -eq 0 ] && echo "PASS"
exit $status
