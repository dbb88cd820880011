"""gunicorn settings for every flaskfleet service (``flaskfleet serve`` uses this file).

Threaded workers (gthread) behind one listening socket; SIGTERM stops accepting, lets in-flight
requests finish within ``graceful_timeout``, then exits. Tunables come from the environment:
FLASKFLEET_BIND (0.0.0.0:8000), WEB_CONCURRENCY (workers, 2), FLASKFLEET_THREADS (8),
FLASKFLEET_GRACEFUL_TIMEOUT (20 s), FLASKFLEET_TIMEOUT (30 s).
"""

import json
import logging
import os
import shutil
import tempfile
from datetime import UTC, datetime

# Prometheus multi-process mode must be chosen before prometheus_client is imported anywhere.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="flaskfleet-metrics-")


class JsonLines(logging.Formatter):
    """gunicorn's own messages as JSON lines (kept import-light: this runs in the master)."""

    def format(self, record):
        return json.dumps({
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "service": os.environ.get("FLASKFLEET_SERVICE"),
            "logger": record.name, "message": record.getMessage()})


bind = os.environ.get("FLASKFLEET_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("FLASKFLEET_THREADS", "8"))
worker_class = "gthread"
graceful_timeout = int(os.environ.get("FLASKFLEET_GRACEFUL_TIMEOUT", "20"))
timeout = int(os.environ.get("FLASKFLEET_TIMEOUT", "30"))
keepalive = 15
max_requests = 0
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
control_socket_disable = True  # no runtime control socket (it would need a writable $HOME)
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108  heartbeat files
accesslog = None  # the app writes one JSON access line per request
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonLines}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                            "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},  # replaced by the app's JSON handler
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
                "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"],
                                    "propagate": False}},
}


def on_starting(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if os.path.isdir(path):
        for name in os.listdir(path):  # stale values of a previous run
            os.unlink(os.path.join(path, name))
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
