#!/usr/bin/env python3
"""Benchmark: GET /api/users through the api-gateway and GET /users directly on user-service,
under gunicorn (production) and under Flask's development server, in one run.

    .venv/bin/python benchmarks/services_wrk.py            # from the repository root, ~1.5 min

Needs: wrk and PostgreSQL binaries (Debian packages wrk, postgresql), the project venv. Every
service runs as it does in production: metrics on, JSON logs written (to files), traces exported
over OTLP/HTTP (to an in-process receiver). Only 127.0.0.1 is used; every run is bounded
(--seconds per target). Prints a Markdown table (requests/s, p50, p99, peak RSS of the service
process trees) and, with --json FILE, writes the raw figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "apps" / "tests"))  # the test suite's PostgreSQL and process helpers

import requests  # noqa: E402
from flaskfleet_services.devtools import OtlpReceiver  # noqa: E402
from flaskfleet_services.kit.db import Database  # noqa: E402
from helpers import ServiceProcess, wait_until  # noqa: E402
from pginstance import PostgresInstance  # noqa: E402

API_KEY = "benchmark-key"
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def tree_rss_kib(pid: int) -> int:
    """RSS of a process and all its descendants, KiB (what a container holding them uses)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return total


class PeakRss:
    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.5):
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], tree_rss_kib(pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def wrk(url: str, seconds: int, connections: int, threads: int) -> dict:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
            "--timeout", "5s", "-H", f"Authorization: Bearer {API_KEY}", url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60,
                         check=True).stdout

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return round(float(value) * UNITS[unit], 2)

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": latency("50"), "p99_ms": latency("99"),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0}


def run_mode(server: str, db_url: str, otlp: str, logs: Path, args) -> dict:
    common = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp, "FLASKFLEET_LOG_LEVEL": "info"}
    user = ServiceProcess("user-service", {"DATABASE_URL": db_url, **common}, server=server,
                          workers=args.workers, log_path=logs / f"user-{server}.log")
    user.wait_ready(60)
    gateway = ServiceProcess("api-gateway", {
        "FLASKFLEET_API_KEYS": "bench:" + hashlib.sha256(API_KEY.encode()).hexdigest(),
        "FLASKFLEET_DISCOVERY": "static", "FLASKFLEET_UPSTREAM_USER_SERVICE": user.url,
        "FLASKFLEET_UPSTREAM_ORDER_SERVICE": user.url, **common}, server=server,
        workers=args.workers, log_path=logs / f"gateway-{server}.log")
    gateway.wait_ready(60)
    results = {}
    try:
        for target, url in (("gateway", gateway.url + "/api/users"),
                            ("direct", user.url + "/users")):
            requests.get(url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5)
            pids = {"user-service": user.proc.pid}
            if target == "gateway":
                pids["api-gateway"] = gateway.proc.pid
            with PeakRss(pids) as rss:
                figures = wrk(url, args.seconds, args.connections, args.threads)
            figures["peak_rss_mib"] = {k: round(v / 1024, 1) for k, v in rss.peak.items()}
            results[target] = figures
            print(f"  {server:9} {target:8} {figures}", flush=True)
    finally:
        gateway.terminate()
        user.terminate()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration per target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per service")
    parser.add_argument("--users", type=int, default=20, help="users in the table (one page)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")

    load_before = os.getloadavg()
    logs = Path(tempfile.mkdtemp(prefix="flaskfleet-bench-"))
    postgres = PostgresInstance().start()
    try:
        db_url = postgres.create_database()
        database = Database(db_url, pool_size=2)
        database.upgrade("user_service")
        database.engine.dispose()
        with OtlpReceiver(keep=False) as receiver:
            seed = ServiceProcess("user-service", {"DATABASE_URL": db_url}, workers=1).wait_ready()
            for n in range(args.users):
                requests.post(seed.url + "/users", timeout=5,
                              json={"name": f"User {n}", "email": f"user{n}@example.org"})
            seed.terminate()
            results = {}
            for server in ("gunicorn", "devserver"):
                results[server] = run_mode(server, db_url, receiver.endpoint, logs, args)
            wait_until(lambda: receiver.requests > 0, 10, "spans at the OTLP receiver")
            spans_batches = receiver.requests
    finally:
        postgres.stop()

    log_lines = sum(len(p.read_text().splitlines()) for p in logs.glob("*.log"))
    shutil.rmtree(logs, ignore_errors=True)
    meta = {"cpus": os.cpu_count(), "python": platform.python_version(),
            "seconds": args.seconds, "connections": args.connections,
            "wrk_threads": args.threads, "gunicorn_workers": args.workers,
            "otlp_export_batches": spans_batches, "json_log_lines": log_lines,
            "loadavg_1min_before_after": [round(load_before[0], 2),
                                          round(os.getloadavg()[0], 2)]}
    print(f"\nmachine: {meta['cpus']} cores, Python {meta['python']}; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.seconds}s; OTLP batches received: {spans_batches}; "
          f"JSON log lines written: {log_lines}; load average (1 min) before/after: "
          f"{meta['loadavg_1min_before_after']}\n")
    print("| path | server | requests/s | p50 ms | p99 ms | non-2xx | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---|")
    for target in ("gateway", "direct"):
        for server in ("gunicorn", "devserver"):
            r = results[server][target]
            rss = ", ".join(f"{k} {v}" for k, v in r["peak_rss_mib"].items())
            label = "gateway → user-service" if target == "gateway" else "user-service direct"
            print(f"| {label} | {server} | {r['rps']:.0f} | {r['p50_ms']} | {r['p99_ms']} | "
                  f"{r['non_2xx'] + r['socket_errors']} | {rss} |")
    ratio = results["gunicorn"]["gateway"]["rps"] / results["devserver"]["gateway"]["rps"]
    print(f"\ngateway path, gunicorn vs development server: {ratio:.1f}x requests/s")
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
