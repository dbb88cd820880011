"""JSON logs, one object per line on stdout, each with request id, trace id and span id.

``configure(service, level)`` installs the formatter on the root logger once per process;
``install_request_logging(app)`` adds the request id and one access line per request.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from opentelemetry import trace

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def current_ids() -> dict[str, str | None]:
    ctx = trace.get_current_span().get_span_context()
    ids: dict[str, str | None] = {"trace_id": None, "span_id": None}
    if ctx.is_valid:
        ids["trace_id"] = format(ctx.trace_id, "032x")
        ids["span_id"] = format(ctx.span_id, "016x")
    ids["request_id"] = g.get("request_id") if has_request_context() else None
    return ids


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": (current_app.config.get("SERVICE_NAME", self.service)
                        if has_app_context() else self.service),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        entry.update(current_ids())
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure(service: str, level: str = "INFO", stream=None) -> None:
    """Send every log record of the process through one JSON handler on stdout."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_flaskfleet", False)), None)
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stdout)
        handler._flaskfleet = True  # type: ignore[attr-defined]
        for old in list(root.handlers):
            root.removeHandler(old)
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter(service))
    root.setLevel(level)
    # Werkzeug's own access lines would duplicate ours (and are not JSON).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def install_request_logging(app: Flask) -> None:
    access = logging.getLogger("flaskfleet.access")

    @app.before_request
    def _request_id():
        g.start = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def _access_line(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        start = g.get("start")
        access.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={
                "http_method": request.method,
                "http_path": request.path,
                "http_route": request.url_rule.rule if request.url_rule else None,
                "http_status": response.status_code,
                "duration_ms": round((time.perf_counter() - start) * 1000, 3) if start else None,
                "remote_addr": request.remote_addr,
                "remote_port": request.environ.get("REMOTE_PORT"),
                "client": g.get("client_name"),
            },
        )
        return response
