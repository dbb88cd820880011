#!/usr/bin/env python3
"""Test probe run on the Traefik test host (Molecule verify).

roundrobin N: send N requests through Traefik, print the count of each answer.
failover UNIT PORT: keep sending requests while UNIT (one backend, listening on PORT)
is stopped; print how many failed and how long Traefik kept that backend in its
service, read from its API.
Only talks to 127.0.0.1.
"""

from __future__ import annotations

import base64
import collections
import json
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

EDGE = "https://127.0.0.1:443/"
HOST = "whoami.test"
API = "https://127.0.0.1:8080/api/http/services/whoami@consulcatalog"
AUTH = base64.b64encode(b"admin:flaskfleet-test-dashboard").decode()
# The test certificate is self-signed: the probe checks routing, not the chain.
CONTEXT = ssl._create_unverified_context()  # noqa: S323


def ask_edge() -> str:
    request = urllib.request.Request(EDGE, headers={"Host": HOST})
    try:
        with urllib.request.urlopen(request, timeout=5, context=CONTEXT) as response:  # noqa: S310  constant https URL
            return response.read().decode().strip()
    except (urllib.error.URLError, OSError) as error:
        return f"FAILED: {error}"


def servers() -> list[str]:
    request = urllib.request.Request(API, headers={"Authorization": f"Basic {AUTH}"})
    try:
        with urllib.request.urlopen(request, timeout=2, context=CONTEXT) as response:  # noqa: S310  constant https URL
            service = json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise
    return [s["url"] for s in service.get("loadBalancer", {}).get("servers", [])]


def roundrobin(count: int) -> dict:
    answers = collections.Counter(ask_edge() for _ in range(count))
    return {"requests": count, "answers": dict(answers)}


def failover(unit: str, port: str) -> dict:
    results: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            results.append(ask_edge())
            time.sleep(0.02)

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(1)
    before = servers()
    sent_before = len(results)
    started = time.monotonic()
    subprocess.run(["systemctl", "stop", unit], check=True)
    removed_after = None
    while time.monotonic() - started < 15:
        if not any(url.endswith(f":{port}") for url in servers()):
            removed_after = round(time.monotonic() - started, 2)
            break
        time.sleep(0.1)
    time.sleep(2)
    stop.set()
    worker.join()
    during = results[sent_before:]
    return {
        "servers_before": before,
        "servers_after": servers(),
        "removed_after_s": removed_after,
        "requests": len(results),
        "requests_after_stop": len(during),
        "failed": [r for r in results if r.startswith("FAILED")][:5],
        "failed_count": sum(r.startswith("FAILED") for r in results),
        "answers_after_stop": dict(collections.Counter(during)),
    }


def main() -> None:
    if sys.argv[1] == "roundrobin":
        print(json.dumps(roundrobin(int(sys.argv[2]))))
    elif sys.argv[1] == "failover":
        print(json.dumps(failover(sys.argv[2], sys.argv[3])))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
