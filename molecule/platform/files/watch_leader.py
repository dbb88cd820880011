#!/usr/bin/env python3
"""Watch a Consul server report a new leader (test-side helper, stdlib only).

Polls GET <consul>/v1/status/leader every 0.1 s and writes, as JSON, the epoch time
at which the answer was first a leader other than --old (and not empty). The
platform scenario starts it on the controller before it stops the leader, so the
figure does not depend on how fast Ansible can poll.

    watch_leader.py --consul https://ADDRESS:8501 --old IP:8300 --out PATH [--timeout 60]

The server's certificate is not verified (the test platform's own CA; the endpoint
needs no token and the answer is only compared).
"""

from __future__ import annotations

import argparse
import json
import ssl
import time
import urllib.request


def leader(consul: str) -> str:
    if not consul.startswith(("http://", "https://")):
        raise ValueError(f"--consul must be an http(s) URL, got {consul!r}")
    url = f"{consul}/v1/status/leader"
    context = ssl._create_unverified_context()  # noqa: S323  the test platform's own CA
    with urllib.request.urlopen(url, timeout=1, context=context) as response:  # noqa: S310  scheme checked above
        return json.load(response)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consul", required=True)
    parser.add_argument("--old", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    result = {"started_at": time.time(), "new_leader_at": None, "new_leader": None, "errors": 0}
    deadline = result["started_at"] + args.timeout
    while time.time() < deadline:
        try:
            current = leader(args.consul)
        except (OSError, ValueError):
            result["errors"] += 1
            current = ""
        if current and current != args.old:
            result["new_leader_at"], result["new_leader"] = time.time(), current
            break
        time.sleep(0.1)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(result, out)
    return 0 if result["new_leader"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
