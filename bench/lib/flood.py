#!/usr/bin/env python3
"""A sign-in flood: CONCURRENCY connections opened at once, then each sends one
POST /api/v1/authenticate with password + the first HOTP code of its own
account, all at the same moment. Prints one JSON line: answered, accepted,
failed (no 200 answer), p50/p99/max latency. Standard library only."""
import argparse
import asyncio
import json
import os
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from otp import hotp, seed, username  # noqa: E402


async def sign_in(host, port, key, password, i, start, connected, timeout):
    reader, writer = await asyncio.open_connection(host, port)
    connected.append(i)
    await start.wait()
    body = json.dumps({"username": username(i), "password": password,
                       "otp": hotp(seed(i), 0)})
    request = (f"POST /api/v1/authenticate HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")
    began = time.perf_counter()
    try:
        writer.write(request.encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, asyncio.TimeoutError) as error:
        return ("error", str(error), time.perf_counter() - began)
    finally:
        writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head else "none"
    if status != "200":
        return ("error", f"HTTP {status}", time.perf_counter() - began)
    result = json.loads(payload).get("result")
    return (result, "", time.perf_counter() - began)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    url = urlparse(args.url)
    assert url.hostname in ("127.0.0.1", "localhost"), "loopback only"
    start, connected = asyncio.Event(), []
    tasks = [asyncio.create_task(sign_in(url.hostname, url.port, args.key, args.password, i,
                                         start, connected, args.timeout))
             for i in range(args.concurrency)]
    # Every connection is open before the first request goes out (a task
    # that failed to connect ends early and is counted as failed).
    while len(connected) < sum(1 for t in tasks if not t.done()):
        await asyncio.sleep(0.05)
    began = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - began
    latencies = sorted(r[2] for r in results if isinstance(r, tuple))
    errors = [r if isinstance(r, BaseException) else r[1] for r in results
              if isinstance(r, BaseException) or r[0] == "error"]
    print(json.dumps({
        "requests": args.concurrency,
        "accepted": sum(1 for r in results if isinstance(r, tuple) and r[0] == "accept"),
        "rejected": sum(1 for r in results if isinstance(r, tuple) and r[0] == "reject"),
        "failed": len(errors),
        "first_errors": [str(e) for e in errors[:3]],
        "seconds": round(elapsed, 2),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1) if latencies else None,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
    }))


if __name__ == "__main__":
    asyncio.run(main())
