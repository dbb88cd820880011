"""Test helpers: real HTTP servers on 127.0.0.1 (threads or processes), scripted upstreams."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

APPS = Path(__file__).resolve().parent.parent
REPO = APPS.parent
API_KEY = "test-key-0123456789"
API_KEYS = (("tests", hashlib.sha256(API_KEY.encode()).hexdigest()),)
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class ServerThread:
    """A WSGI app served by werkzeug on 127.0.0.1 in a daemon thread."""

    def __init__(self, app, port: int = 0):
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ScriptedUpstream:
    """An upstream whose answers the test chooses: ``behaviour(request) -> Response``.

    It counts the requests it got by method, so tests see retries (or their absence)."""

    def __init__(self, behaviour: Callable[[Request], Response]):
        self.hits: list[tuple[str, str, dict]] = []
        self.behaviour = behaviour
        self._lock = threading.Lock()

        @Request.application
        def app(request: Request) -> Response:
            with self._lock:
                self.hits.append((request.method, request.path, dict(request.headers)))
            return self.behaviour(request)

        self.server = ServerThread(app)
        self.url = self.server.url

    def count(self, method: str | None = None) -> int:
        return sum(1 for m, _, _ in self.hits if method in (None, m))

    def stop(self) -> None:
        self.server.stop()


def json_response(body: str, status: int = 200, delay: float = 0.0):
    def behaviour(_request):
        if delay:
            time.sleep(delay)
        return Response(body, status=status, content_type="application/json")

    return behaviour


class ServiceProcess:
    """A service under gunicorn (``flaskfleet serve``) or Flask's dev server, in a subprocess."""

    def __init__(self, service: str, env: dict[str, str], *, server: str = "gunicorn",
                 workers: int = 1, log_path: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.service = service
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("FLASKFLEET_", "OTEL_", "PROMETHEUS_"))}
        full_env.update(env)
        full_env.update({"FLASKFLEET_BIND": f"127.0.0.1:{self.port}",
                         "WEB_CONCURRENCY": str(workers), "FLASKFLEET_THREADS": "8",
                         "FLASKFLEET_GRACEFUL_TIMEOUT": "10"})
        if server == "gunicorn":
            argv = [sys.executable, "-m", "flaskfleet_services.cli", "serve", service]
        else:
            module = service.replace("-", "_")
            argv = [sys.executable, "-m", "flask", "--app", f"flaskfleet_services.{module}",
                    "run", "--port", str(self.port), "--host", "127.0.0.1", "--with-threads",
                    "--no-reload", "--no-debugger"]
        self.log_path = log_path
        self.log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(argv, env=full_env, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=APPS)

    def wait_ready(self, timeout: float = 30.0, path: str = "/health/live") -> ServiceProcess:
        def answers() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.service} exited with {self.proc.returncode}; "
                                     f"log: {self.log_tail()}")
            try:
                return requests.get(self.url + path, timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, timeout, f"{self.service} on {self.url}")
        return self

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def terminate(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.log is not subprocess.DEVNULL:
            self.log.close()
        return self.proc.returncode
