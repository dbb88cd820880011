"""The logstash role's pipeline on the services' real log lines.

A Flask request with an OpenTelemetry span logs through the apps kit's JsonFormatter
(apps/flaskfleet_services/kit/logging.py), so the line carries exactly the fields the
services write. The pipeline the role renders is compiled and run by the Logstash stand-in's
filter engine (json, date, mutate and conditionals, as the pipeline uses them): the ids,
service and level stay, the event time is the service's timestamp, lines that are not JSON
pass untouched, and the index name is the daily platform index.
"""

from __future__ import annotations

import copy
import io
import json
import logging

import pytest
from flask import Flask, g
from flaskfleet_services.kit import logging as kit_logging
from opentelemetry.sdk.trace import TracerProvider
from source_module import load_source
from test_standin_logstash import STANDIN, render, role_vars, write_pki

standin = load_source("logstash_standin", STANDIN)


@pytest.fixture
def pipeline(tmp_path):
    variables = role_vars()
    variables["__logstash_tls_dir"] = str(tmp_path)
    write_pki(tmp_path, ["logstash"])
    text = render("etc/logstash/conf.d/flaskfleet.conf.j2", variables)
    return standin.compile_pipeline(text.replace("${LOGSTASH_ELASTICSEARCH_PASSWORD}", "x"))


def service_line(with_request: bool = True) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(kit_logging.JsonFormatter("order-service"))
    logger = logging.getLogger("flaskfleet.unit")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    app = Flask("unit")
    tracer = TracerProvider().get_tracer("unit")
    if with_request:
        with app.test_request_context("/orders"), tracer.start_as_current_span("GET /orders"):
            g.request_id = "req-42"
            logger.warning("order %s created", 7, extra={"order_id": 7})
    else:
        logger.info("started")
    return json.loads(stream.getvalue())


def beats_event(message: str) -> dict:
    return {
        "@timestamp": "2026-11-27T12:00:00.000Z",
        "message": message,
        "host": {"name": "app-1"},
        "log": {"file": {"path": "/var/lib/docker/containers/abc/abc-json.log"}},
        "tags": ["beats_input_codec_plain_applied"],
        "@metadata": {"beat": "filebeat"},
    }


def run(pipeline: dict, event: dict) -> dict:
    event = copy.deepcopy(event)
    standin.run_filters(pipeline["filter"], event)
    return event


def test_a_service_line_keeps_its_ids_service_and_level(pipeline) -> None:
    line = service_line()
    assert line["trace_id"]
    assert line["span_id"]
    event = run(pipeline, beats_event(json.dumps(line)))
    assert event["trace_id"] == line["trace_id"]
    assert event["span_id"] == line["span_id"]
    assert event["request_id"] == "req-42"
    assert event["service"] == "order-service"
    assert event["level"] == "warning"
    assert event["message"] == "order 7 created"
    assert event["order_id"] == 7
    assert event["host"] == {"name": "app-1"}
    assert "flaskfleet_json" in event["tags"]


def test_the_event_time_is_the_services_timestamp(pipeline) -> None:
    line = service_line()
    event = run(pipeline, beats_event(json.dumps(line)))
    assert "ts" not in event
    assert event["@timestamp"].endswith("Z")
    assert event["@timestamp"][:23] == line["ts"][:23]


def test_empty_ids_outside_a_request_are_dropped(pipeline) -> None:
    line = service_line(with_request=False)
    assert line["trace_id"] is None
    event = run(pipeline, beats_event(json.dumps(line)))
    assert "trace_id" not in event
    assert "span_id" not in event
    assert "request_id" not in event
    assert event["service"] == "order-service"


def test_a_plain_system_log_line_passes_untouched(pipeline) -> None:
    original = beats_event("Started session 3 of user root.")
    event = run(pipeline, original)
    assert event == original


def test_the_index_is_the_daily_platform_index(pipeline) -> None:
    event = run(pipeline, beats_event(json.dumps(service_line())))
    (output,) = standin.outputs_for(pipeline["output"], event)
    index = standin.sprintf(output["config"]["index"], event)
    assert index == "flaskfleet-logs-" + event["@timestamp"][:10].replace("-", ".")
    assert output["config"]["user"] == "logstash_writer"
    assert output["config"]["hosts"] == ["https://logs-1:9200"]
