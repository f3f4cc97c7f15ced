#!/usr/bin/env python3
"""The driver behind bench/scale.sh: verification latency with 1,000 accounts
and with ACCOUNTS (default 1,000,000), on SQLite and on PostgreSQL, and how
long `latchkey admin import` took to seed them.

For each backend: a fresh database seeded with the small set; a paced run of
valid codes (each sent once) for SAMPLE tokens, p50/p99 noted; then the rest
of the accounts imported into the same database, the node restarted, and the
same paced run on SAMPLE other tokens. Pacing keeps both runs at the same
request rate, so the latency compares the work per request, not queueing.
Loopback only; stops what it started, drops the database it made.
"""
import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
from compare import log  # noqa: E402
from otp import seed_base32, serial, username  # noqa: E402


def write_accounts(path, first, count):
    with open(path, "w") as f:
        for i in range(first, first + count):
            f.write(json.dumps({
                "username": username(i), "serial": serial(i),
                "otpauth_uri": f"otpauth://totp/Bench:{username(i)}?secret={seed_base32(i)}"
                               "&algorithm=SHA1&digits=6&period=30"}) + "\n")


def paced_run(url, key, tokens, rate, connections, work):
    compare.fresh_step(15)
    delay = max(1, round(connections * 1000 / rate))
    return compare.measure(f"valid OTP @{rate}/s", "", [dict(
        url=url, path="/api/v1/authenticate", auth=f"Bearer {key}",
        lists=compare.valid_bodies("latchkey", tokens, 2), connections=connections,
        seconds=10, once=True, delay_ms=delay, work=work)])


def backend_run(name, location, master_key, small, total, sample, rate, connections, work):
    accounts = os.path.join(work, f"{name}-small.jsonl")
    write_accounts(accounts, 0, small)
    t0 = time.monotonic()
    compare.latchkey_admin(location, master_key, "import", accounts, "--json")
    small_seconds = time.monotonic() - t0
    key = json.loads(compare.latchkey_admin(location, master_key, "apikey", "create", "bench",
                                            "--json").stdout)["key"]
    _, url = compare.latchkey_serve(location, master_key, work, f"{name}-small")
    at_small = paced_run(url, key, list(range(0, sample)), rate, connections, work)
    compare.stop_all()
    compare.started.clear()

    accounts = os.path.join(work, f"{name}-large.jsonl")
    t0 = time.monotonic()
    write_accounts(accounts, small, total - small)
    written = time.monotonic() - t0
    t0 = time.monotonic()
    out = json.loads(compare.latchkey_admin(location, master_key, "import", accounts,
                                            "--json").stdout)
    seeding = time.monotonic() - t0
    os.remove(accounts)
    log(f"{name}: {total - small} accounts imported in {seeding:.1f} s "
        f"({out['imported'] / seeding:.0f}/s; the file took {written:.1f} s to write)")
    _, url = compare.latchkey_serve(location, master_key, work, f"{name}-large")
    # Tokens spread over the whole table, not only the newest rows.
    stride = max(1, (total - small) // sample)
    at_large = paced_run(url, key, list(range(small, total, stride))[:sample], rate,
                         connections, work)
    compare.stop_all()
    compare.started.clear()
    return dict(backend=name, small=small, total=total, small_seconds=small_seconds,
                seeding_seconds=seeding, at_small=at_small, at_large=at_large)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=int(os.environ.get("ACCOUNTS", 1_000_000)))
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=int(os.environ.get("RATE", 1000)))
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--backends", default=os.environ.get("BACKENDS", "sqlite,postgres"))
    ap.add_argument("--postgres", default=os.environ.get(
        "PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/test"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="latchkey-scale-")
    master_key = secrets.token_hex(32)
    pg_name = None
    results = []
    try:
        for backend in a.backends.split(","):
            if backend == "sqlite":
                location = ["--data-dir", os.path.join(work, "sqlite")]
            else:
                pg_name, pg_url = compare.postgres_create(a.postgres)
                location = ["--data-dir", os.path.join(work, "pg"), "--database", pg_url]
            results.append(backend_run(backend, location, master_key, a.small, a.accounts,
                                       a.sample, a.rate, a.connections, work))
            if pg_name:
                compare.postgres_drop(a.postgres, pg_name)
                pg_name = None
            shutil.rmtree(os.path.join(work, "sqlite"), ignore_errors=True)
    finally:
        compare.stop_all()
        if pg_name:
            compare.postgres_drop(a.postgres, pg_name)
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"{'backend':9} {'accounts':>9} {'seeding':>10} {'rate/s':>7} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'accepted':>9} {'requests':>9}")
    for r in results:
        for label, run, seconds in (("small", r["at_small"], r["small_seconds"]),
                                    ("large", r["at_large"], r["seeding_seconds"])):
            count = r["small"] if label == "small" else r["total"]
            print(f"{r['backend']:9} {count:9d} {seconds:9.1f}s {run['accept_per_s']:7.0f} "
                  f"{run['p50_ms']:7.2f} {run['p99_ms']:7.2f} {run['accept']:9.0f} "
                  f"{run['requests']:9.0f}")
        ratio = r["at_large"]["p50_ms"] / r["at_small"]["p50_ms"]
        met = "met" if ratio <= 1.5 else "NOT met"
        print(f"  [{met}] {r['backend']}: p50 at {r['total']:,} accounts is {ratio:.2f}× "
              f"the p50 at {r['small']:,} (goal ≤ 1.5×); p99 ratio "
              f"{r['at_large']['p99_ms'] / r['at_small']['p99_ms']:.2f}×")
    print(f"\nload average: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
