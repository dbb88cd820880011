"""/health/live (the process answers) and /health/ready (its dependencies answer).

Checks are ``name -> callable() -> (ok, detail)``; a check marked optional is reported but does
not make the service unready (order-service keeps serving reads when user-service is down).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, jsonify

from .errors import error_response
from .openapi import operation

log = logging.getLogger("flaskfleet.health")
Check = Callable[[], tuple[bool, str]]


def install(app: Flask, checks: dict[str, tuple[Check, bool]]) -> None:
    """checks: {name: (callable, required)}."""

    @app.get("/health/live")
    @operation("Liveness: the process answers", responses={200: None})
    def health_live():
        return jsonify({"status": "live"})

    @app.get("/health/ready")
    @operation("Readiness: the dependencies answer", responses={200: None, 503: None})
    def health_ready():
        results = {}
        ready = True
        for name, (check, required) in checks.items():
            try:
                ok, detail = check()
            except Exception as exc:  # noqa: BLE001  a failing check is a result, not a crash
                ok, detail = False, exc.__class__.__name__
            results[name] = {"ok": ok, "detail": detail, "required": required}
            if required and not ok:
                ready = False
        if not ready:
            log.warning("not ready", extra={"checks": results})
            return error_response(503, "not_ready", "a required dependency is unavailable",
                                  {"checks": results})
        return jsonify({"status": "ready", "checks": results})
