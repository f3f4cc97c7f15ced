"""The admin console over a large audit log: p50/p99 of the dashboard and of
filtered audit pages. Driven by bench/console.sh (see there)."""
import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from otp import hotp  # noqa: E402

PASSWORD = "console-bench-password-1"

# The log's rows: a month of traffic, mostly OTP checks. Subjects are
# 100,000 serials; sources 50,000 addresses.
SPAN = 30 * 24 * 3600
SQLITE_FILL = """
WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {rows})
INSERT INTO audit (id, at, actor, action, subject, source, outcome, detail, prev_hash, hash)
SELECT h.last_id + n, {now} - ({rows} - n) * {span} / {rows},
  CASE WHEN n % 50 = 0 THEN 'helpdesk' ELSE 'api:vpn' END,
  CASE WHEN n % 1000 = 1 THEN 'unlock.issue' WHEN n % 1000 = 2 THEN 'portal.recovery'
       WHEN n % 500 = 3 THEN 'token.lock' WHEN n % 20 = 4 THEN 'portal.password'
       ELSE 'otp.verify' END,
  printf('%010d', n % 100000), '10.' || (n % 200) || '.' || (n % 250) || '.1',
  CASE WHEN n % 7 = 0 THEN 'failure' ELSE 'success' END, '', zeroblob(32), zeroblob(32)
FROM c, audit_head h WHERE h.id = 1;
UPDATE audit_head SET last_id = last_id + {rows} WHERE id = 1;
DELETE FROM audit_hourly;
INSERT INTO audit_hourly (hour, action, outcome, count)
  SELECT at - (at % 3600), action, outcome, COUNT(*) FROM audit GROUP BY 1, 2, 3;
ANALYZE;
"""
POSTGRES_FILL = """
INSERT INTO audit (id, at, actor, action, subject, source, outcome, detail, prev_hash, hash)
SELECT h.last_id + n, {now} - ({rows} - n) * {span}::bigint / {rows},
  CASE WHEN n % 50 = 0 THEN 'helpdesk' ELSE 'api:vpn' END,
  CASE WHEN n % 1000 = 1 THEN 'unlock.issue' WHEN n % 1000 = 2 THEN 'portal.recovery'
       WHEN n % 500 = 3 THEN 'token.lock' WHEN n % 20 = 4 THEN 'portal.password'
       ELSE 'otp.verify' END,
  lpad((n % 100000)::text, 10, '0'), '10.' || (n % 200) || '.' || (n % 250) || '.1',
  CASE WHEN n % 7 = 0 THEN 'failure' ELSE 'success' END, '', '\\x00'::bytea, '\\x00'::bytea
FROM generate_series(1, {rows}) AS n, audit_head h WHERE h.id = 1;
UPDATE audit_head SET last_id = last_id + {rows} WHERE id = 1;
DELETE FROM audit_hourly;
INSERT INTO audit_hourly (hour, action, outcome, count)
  SELECT at - (at % 3600), action, outcome, COUNT(*) FROM audit GROUP BY 1, 2, 3;
ANALYZE;
"""

PAGES = [
    ("dashboard", "/admin"),
    ("audit, one serial", "/admin/audit?serial=0000012345"),
    ("audit, rare action", "/admin/audit?action=portal.recovery"),
    ("audit, source + outcome", "/admin/audit?source=10.7.7.1&outcome=failure"),
    ("audit, actor", "/admin/audit?actor=helpdesk"),
    ("audit, unfiltered", "/admin/audit"),
]


class Visitor:
    """Cookies and the CSRF token by hand, as the server tests' visitor."""

    def __init__(self, base):
        self.base = base
        self.cookies = {}
        self.csrf = None
        opener = urllib.request.build_opener(NoRedirect)
        self.opener = opener

    def request(self, method, path, fields=None):
        data = None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if fields is not None:
            fields = dict(fields, csrf=self.csrf or "")
            data = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            response = self.opener.open(req)
        except urllib.error.HTTPError as e:
            response = e
        body = response.read().decode()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.split(";")[0].partition("=")
            self.cookies[name] = rest
        found = re.search(r'name="csrf" value="([^"]+)"', body)
        if found:
            self.csrf = found.group(1)
        return response.status, response.headers.get("Location"), body


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def run(cmd, stdin=None):
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: {out.stderr}")
    return out.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", help="a PostgreSQL admin URL; SQLite if absent")
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="latchkey-console-bench-")
    database = None
    if args.postgres:
        name = f"latchkey_console_bench_{os.getpid()}"
        run(["psql", "-q", args.postgres, "-c", f"CREATE DATABASE {name}"])
        database = args.postgres.rsplit("/", 1)[0] + "/" + name
    else:
        database = f"sqlite://{data}/latchkey.db?mode=rwc"
    location = ["--data-dir", data, "--database", database]
    server = None
    try:
        admin = [args.server_bin, "admin", *location]
        run([*admin, "user", "add", "root", "--email", "root@example.org", "--password-stdin"],
            PASSWORD + "\n")
        run([*admin, "user", "set-role", "root", "admin"])
        issued = json.loads(run([*admin, "token", "issue", "root", "--kind", "hotp", "--json"]))
        secret = re.search(r"secret=([A-Z2-7]+)", issued["otpauth_uri"]).group(1)
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        started = time.time()
        fill = (POSTGRES_FILL if args.postgres else SQLITE_FILL).format(
            rows=args.rows, now=int(time.time()), span=SPAN)
        if args.postgres:
            run(["psql", "-q", "-v", "ON_ERROR_STOP=1", database], fill)
        else:
            run(["sqlite3", f"{data}/latchkey.db"], fill)
        print(f"filled {args.rows} audit rows in {time.time() - started:.0f} s", flush=True)
        server = subprocess.Popen(
            [args.server_bin, "serve", *location, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, LATCHKEY_LOG="warn"))
        line = server.stdout.readline()
        url = re.search(r"(http://[0-9.:]+)", line).group(1)
        visitor = Visitor(url)
        visitor.request("GET", "/login")
        status, where, _ = visitor.request("POST", "/login",
                                           {"username": "root", "password": PASSWORD})
        assert status == 303 and where == "/login/otp", (status, where)
        status, where, _ = visitor.request("POST", "/login/otp", {"otp": hotp(key, 0)})
        assert status == 303, status
        if where == "/self-service/questions":
            visitor.request("GET", where)
            answers = {}
            for i in range(1, 6):
                answers[f"question_{i}"] = str(i)
                answers[f"answer_{i}"] = f"answer {i}"
            status, _, body = visitor.request("POST", where, answers)
            assert status == 303, body
        print(f"{'page':<26} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  rows shown")
        for label, path in PAGES:
            status, _, body = visitor.request("GET", path)
            assert status == 200, (path, status, body[:300])
            times = []
            for _ in range(args.requests):
                t = time.perf_counter()
                status, _, body = visitor.request("GET", path)
                times.append((time.perf_counter() - t) * 1000)
                assert status == 200
            times.sort()
            p50 = statistics.median(times)
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            shown = body.count("<tr data-id=")
            print(f"{label:<26} {p50:8.1f} {p99:8.1f} {times[-1]:8.1f}  {shown}", flush=True)
    finally:
        if server:
            server.terminate()
            server.wait()
        if args.postgres:
            subprocess.run(["psql", "-q", args.postgres, "-c",
                            f"DROP DATABASE IF EXISTS latchkey_console_bench_{os.getpid()}"],
                           capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
