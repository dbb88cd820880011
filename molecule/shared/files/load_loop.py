#!/usr/bin/env python3
"""Bounded load loop for fault-injection tests (test-side helper, stdlib only).

Sends requests to one URL back to back, from a few threads, until a stop file
appears or a deadline passes, and writes a JSON summary: total requests, failures
(any non-2xx answer or connection error) with their first few reasons, the time
from the first failure to the last, and the longest request. The scenarios start
it in the background, inject a fault (rolling deploy, killed instance, stopped
Consul server), touch the stop file and assert on the summary.

    load_loop.py --url URL [--header 'Name: value'] --stop-file PATH --out PATH
                 [--threads 4] [--max-seconds 300] [--timeout 10] [--insecure]
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify the server certificate (a test edge's self-signed one)",
    )
    args = parser.parse_args()
    if not args.url.startswith(("http://", "https://")):
        parser.error(f"--url must be http(s), got {args.url!r}")
    headers = dict(h.split(": ", 1) for h in args.header)
    context = ssl._create_unverified_context() if args.insecure else None  # noqa: S323  test edge
    deadline = time.monotonic() + args.max_seconds
    lock = threading.Lock()
    stats = {"requests": 0, "failures": 0, "reasons": [], "max_seconds": 0.0}
    failed_at: list[float] = []  # monotonic time of the first and the last failure

    def worker() -> None:
        while time.monotonic() < deadline and not os.path.exists(args.stop_file):
            started = time.monotonic()
            reason = None
            try:
                request = urllib.request.Request(args.url, headers=headers)  # noqa: S310  checked above
                with urllib.request.urlopen(  # noqa: S310
                    request, timeout=args.timeout, context=context
                ) as response:
                    response.read()
                    if not 200 <= response.status < 300:
                        reason = f"HTTP {response.status}"
            except urllib.error.HTTPError as error:
                reason = f"HTTP {error.code}: {error.read()[:200]!r}"
            except OSError as error:
                reason = f"{type(error).__name__}: {error}"
            elapsed = time.monotonic() - started
            with lock:
                stats["requests"] += 1
                stats["max_seconds"] = max(stats["max_seconds"], round(elapsed, 3))
                if reason:
                    stats["failures"] += 1
                    now = time.monotonic()
                    failed_at[:] = [failed_at[0] if failed_at else now, now]
                    if len(stats["reasons"]) < 10:
                        stats["reasons"].append(f"{time.strftime('%H:%M:%S')} {reason}")

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats["stopped_by"] = "stop file" if os.path.exists(args.stop_file) else "deadline"
    # How long requests kept failing: from the first failure to the last one.
    stats["failure_window_seconds"] = round(failed_at[-1] - failed_at[0], 3) if failed_at else 0.0
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(stats, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
