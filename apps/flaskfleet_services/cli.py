"""``flaskfleet``: the one command of the image.

    flaskfleet serve [SERVICE]          run SERVICE under gunicorn (SERVICE or $FLASKFLEET_SERVICE)
    flaskfleet migrate [SERVICE|all]    create/migrate the schema(s) in $DATABASE_URL
    flaskfleet healthcheck [--url URL]  exit 0 when /health/live answers (image HEALTHCHECK)
    flaskfleet hash-api-key             read an API key on stdin, print its sha256 digest
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import urllib.request

SERVICES = {
    "user-service": "flaskfleet_services.user_service",
    "order-service": "flaskfleet_services.order_service",
    "api-gateway": "flaskfleet_services.api_gateway",
}
DATABASE_SERVICES = ("user-service", "order-service")


def _service(name: str | None) -> str:
    name = name or os.environ.get("FLASKFLEET_SERVICE", "")
    if name not in SERVICES:
        sys.exit(f"flaskfleet: name a service ({', '.join(SERVICES)}) as argument or in "
                 "FLASKFLEET_SERVICE")
    return name


def serve(args) -> None:
    service = _service(args.service)
    os.environ["FLASKFLEET_SERVICE"] = service
    argv = [sys.executable, "-m", "gunicorn", "--config",
            "python:flaskfleet_services.gunicorn_conf", f"{SERVICES[service]}:create_app()"]
    os.execv(sys.executable, argv)  # noqa: S606  gunicorn replaces us: signals go to it


def migrate(args) -> None:
    import importlib

    services = DATABASE_SERVICES if args.service == "all" else (_service(args.service),)
    for service in services:
        if service not in DATABASE_SERVICES:
            sys.exit(f"flaskfleet: {service} has no database")
        module = importlib.import_module(SERVICES[service])
        app = module.create_app()
        app.extensions["flaskfleet.db"].upgrade(module.MIGRATIONS)
        print(f"{service}: schema is at the latest revision", flush=True)


def healthcheck(args) -> None:
    port = os.environ.get("FLASKFLEET_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
    url = args.url or f"http://127.0.0.1:{port}/health/live"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:  # noqa: S310  http(s) URL we build
            sys.exit(0 if response.status == 200 else 1)
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        sys.exit(1)


def hash_api_key(_args) -> None:
    key = sys.stdin.readline().strip()
    if not key:
        sys.exit("flaskfleet: give the key on stdin")
    print(hashlib.sha256(key.encode()).hexdigest())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="flaskfleet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("serve")
    sub.add_argument("service", nargs="?", choices=list(SERVICES))
    sub.set_defaults(func=serve)
    sub = commands.add_parser("migrate")
    sub.add_argument("service", nargs="?", choices=[*DATABASE_SERVICES, "all"])
    sub.set_defaults(func=migrate)
    sub = commands.add_parser("healthcheck")
    sub.add_argument("--url")
    sub.add_argument("--timeout", type=float, default=3.0)
    sub.set_defaults(func=healthcheck)
    commands.add_parser("hash-api-key").set_defaults(func=hash_api_key)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
