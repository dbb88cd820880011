"""The shared kit: what every flaskfleet service is built from.

``create_service_app`` wires, in this order: configuration (environment, validated), JSON logging
with request/trace/span ids, OpenTelemetry tracing, Prometheus metrics, JSON errors, and for
internal services the caller restriction. Services then add their blueprints, health checks and
OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask

from . import logging as kit_logging
from . import metrics as kit_metrics
from . import tracing as kit_tracing
from .config import COMMON, Setting, load
from .errors import register_error_handlers
from .security import restrict_to_internal
from .validation import IdConverter, reject_impossible_ids


def create_service_app(import_name: str, service: str, settings: Iterable[Setting],
                       test_config: Mapping[str, Any] | None = None, *, internal: bool,
                       api_prefixes: tuple[str, ...] = ()) -> Flask:
    config = load((*COMMON, *settings), overrides=test_config)
    app = Flask(import_name)
    app.config.update(config)
    if test_config:
        app.config.update(test_config)
    app.config["SERVICE_NAME"] = service
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.converters["id"] = IdConverter
    app.url_value_preprocessor(reject_impossible_ids)
    kit_logging.configure(service, app.config["LOG_LEVEL"])
    kit_tracing.install(app, service)
    kit_logging.install_request_logging(app)
    kit_metrics.install(app, service)
    register_error_handlers(app)
    if internal:
        restrict_to_internal(app, api_prefixes)
    return app
