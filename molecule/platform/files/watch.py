#!/usr/bin/env python3
"""Time a fault's effect by polling an API every 0.1 s (test-side helper, stdlib only).

The platform scenario starts it on the controller just before it injects a fault, so
the figures do not depend on how fast Ansible can poll. It writes, as JSON, the epoch
times at which each expected state was first seen, and exits 0 when the last one was.

    watch.py leader --consul https://ADDRESS:8501 --old IP:8300 --out PATH [--timeout 60]
        A Consul server (GET /v1/status/leader) reports a leader other than --old:
        writes new_leader_at and new_leader.
    watch.py routing --api URL --service NAME --server URL --out PATH [--timeout 90]
        One server of a Traefik service (GET <api>/http/services/<service>) leaves
        routing (absent from the load balancer, or DOWN) and comes back (UP): writes
        out_at and back_at. Credentials: TRAEFIK_API_USER and TRAEFIK_API_PASSWORD.

Certificates are not verified: they are the test platform's own CA and the edge's
self-signed one, and the answers are only compared.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import time
import urllib.request
from collections.abc import Callable

CONTEXT = ssl._create_unverified_context()  # noqa: S323  the test platform's own certificates


def get_json(url: str, headers: dict | None = None, timeout: float = 2):
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310  scheme checked above
    with urllib.request.urlopen(request, timeout=timeout, context=CONTEXT) as response:  # noqa: S310
        return json.load(response)


def poll(observe: Callable[[], object], record: Callable[[dict, object, float], bool],
         result: dict, timeout: float, out: str) -> int:
    """Call observe() every 0.1 s until record(result, state, now) says done or time is up."""
    result.update(started_at=time.time(), errors=0)
    deadline = result["started_at"] + timeout
    done = False
    while not done and time.time() < deadline:
        try:
            state = observe()
        except (OSError, ValueError):
            result["errors"] += 1
            state = None
        done = record(result, state, time.time())
        if not done:
            time.sleep(0.1)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0 if done else 1


def watch_leader(args) -> int:
    def observe():
        return get_json(f"{args.consul}/v1/status/leader", timeout=1)

    def record(result, leader, now):
        if leader and leader != args.old:
            result["new_leader_at"], result["new_leader"] = now, leader
            return True
        return False

    return poll(observe, record, {"new_leader_at": None, "new_leader": None},
                args.timeout, args.out)


def watch_routing(args) -> int:
    credentials = f"{os.environ['TRAEFIK_API_USER']}:{os.environ['TRAEFIK_API_PASSWORD']}"
    headers = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    def observe():
        data = get_json(f"{args.api}/http/services/{args.service}", headers)
        urls = [entry["url"] for entry in data.get("loadBalancer", {}).get("servers", [])]
        if args.server not in urls:
            return "ABSENT"
        return data.get("serverStatus", {}).get(args.server, "UP")

    def record(result, state, now):
        if state in ("ABSENT", "DOWN") and result["out_at"] is None:
            result["out_at"] = now
        elif state == "UP" and result["out_at"] is not None:
            result["back_at"] = now
            return True
        return False

    return poll(observe, record, {"out_at": None, "back_at": None}, args.timeout, args.out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    leader = commands.add_parser("leader", help="a Consul server reports a new leader")
    leader.add_argument("--consul", required=True)
    leader.add_argument("--old", required=True)
    leader.add_argument("--timeout", type=float, default=60)
    leader.set_defaults(run=watch_leader)
    routing = commands.add_parser("routing", help="a Traefik server leaves routing and returns")
    routing.add_argument("--api", required=True)
    routing.add_argument("--service", required=True)
    routing.add_argument("--server", required=True)
    routing.add_argument("--timeout", type=float, default=90)
    routing.set_defaults(run=watch_routing)
    for command in (leader, routing):
        command.add_argument("--out", required=True)
    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
