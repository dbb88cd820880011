#!/usr/bin/env python3
"""Watch whether a service has a passing instance, as the platform's clients see it.

    watch_passing.py SERVICE STOP_FILE MAX_SECONDS URL [URL ...]

Every 0.2 s it asks the agents at URL, in order, for the service's passing instances, with
Consul's default consistency (as the services' discovery and Traefik ask). The first agent that
answers counts. An answer with no instance is an outage: the gateway then says "no passing
instance" and Traefik "no available server". No answer at all (an agent restarting, an
election) is not: those clients keep serving their last answer; the longest such stretch is
reported. It stops when STOP_FILE exists or after MAX_SECONDS and prints one JSON object:
samples, none_passing (answers with no instance), their times, longest_unanswered_seconds and
the last errors. The ACL token is read from CONSUL_HTTP_TOKEN, the CA from CONSUL_CACERT.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request


def passing(url: str, service: str, context: ssl.SSLContext, token: str) -> int | str:
    """The number of passing instances, or what went wrong."""
    request = urllib.request.Request(  # noqa: S310  https only, checked in main
        f"{url}/v1/health/service/{service}?passing",
        headers={"X-Consul-Token": token},
    )
    try:
        with urllib.request.urlopen(request, timeout=1, context=context) as response:  # noqa: S310
            return len(json.load(response))
    except urllib.error.HTTPError as error:
        return f"{url}: HTTP {error.code} {error.read()[:100]!r}"
    except (OSError, ValueError) as error:
        return f"{url}: {error}"


def main() -> int:
    service, stop_file, max_seconds, *urls = sys.argv[1:]
    if not urls or not all(url.startswith("https://") for url in urls):
        sys.exit(f"watch_passing: agent URLs must be https:// (got {urls})")
    context = ssl.create_default_context(cafile=os.environ["CONSUL_CACERT"])
    context.check_hostname = False
    token = os.environ["CONSUL_HTTP_TOKEN"]
    samples = 0
    none_times: list[str] = []
    errors: list[str] = []
    unanswered_since: float | None = None
    longest_unanswered = 0.0
    deadline = time.monotonic() + float(max_seconds)
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        samples += 1
        now = time.monotonic()
        answers = (passing(url, service, context, token) for url in urls)
        seen: list[str] = []
        count = None
        for answer in answers:
            if isinstance(answer, int):
                count = answer
                break
            seen.append(answer)
        if count is None:
            unanswered_since = unanswered_since or now
            longest_unanswered = max(longest_unanswered, now - unanswered_since)
            errors = seen
        else:
            unanswered_since = None
            if count == 0:
                none_times.append(time.strftime("%H:%M:%S"))
        time.sleep(0.2)
    print(json.dumps({"samples": samples, "none_passing": len(none_times),
                      "times": none_times[:20],
                      "longest_unanswered_seconds": round(longest_unanswered, 1),
                      "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
