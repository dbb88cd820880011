#!/usr/bin/env python3
"""Watch one server of a Traefik service leave routing and come back (test-side helper).

Polls Traefik's API (GET /api/http/services/<service>) every 0.1 s and writes, as JSON,
the epoch times at which the server was first seen out of routing (absent from the load
balancer, or marked DOWN by Traefik's health check) and first seen back (UP). The
platform scenario starts it before it kills an instance, so the figure does not depend
on how fast Ansible can poll. Credentials come from the environment:
TRAEFIK_API_USER and TRAEFIK_API_PASSWORD.

    watch_routing.py --api URL --service NAME --server URL --out PATH [--timeout 90]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import time
import urllib.request


def server_state(api: str, service: str, server: str, auth: str, context) -> str:
    if not api.startswith(("http://", "https://")):
        raise ValueError(f"--api must be an http(s) URL, got {api!r}")
    request = urllib.request.Request(  # noqa: S310  scheme checked above
        f"{api}/http/services/{service}", headers={"Authorization": f"Basic {auth}"}
    )
    with urllib.request.urlopen(request, timeout=2, context=context) as response:  # noqa: S310
        data = json.load(response)
    urls = [entry["url"] for entry in data.get("loadBalancer", {}).get("servers", [])]
    if server not in urls:
        return "ABSENT"
    return data.get("serverStatus", {}).get(server, "UP")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()
    credentials = f"{os.environ['TRAEFIK_API_USER']}:{os.environ['TRAEFIK_API_PASSWORD']}"
    auth = base64.b64encode(credentials.encode()).decode()
    context = ssl._create_unverified_context()  # noqa: S323  the test edge's self-signed certificate
    result = {"started_at": time.time(), "out_at": None, "back_at": None, "errors": 0}
    deadline = result["started_at"] + args.timeout
    while time.time() < deadline:
        try:
            state = server_state(args.api, args.service, args.server, auth, context)
        except OSError:
            result["errors"] += 1
            state = None
        now = time.time()
        if state in ("ABSENT", "DOWN") and result["out_at"] is None:
            result["out_at"] = now
        elif state == "UP" and result["out_at"] is not None:
            result["back_at"] = now
            break
        time.sleep(0.1)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(result, out)
    return 0 if result["back_at"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
