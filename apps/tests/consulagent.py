"""A real Consul agent in -dev mode on free loopback ports, for the discovery tests.

The binary: $FLASKFLEET_CONSUL_BIN, else ``consul`` on PATH, else unpacked from the repository's
mirror zip (.cache/mirror/consul_1.8.7_linux_amd64.zip, built by tests/mirror/).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path

import requests
from helpers import REPO, free_port, wait_until

MIRROR_ZIP = REPO / ".cache" / "mirror" / "consul_1.8.7_linux_amd64.zip"


class ConsulUnavailable(RuntimeError):
    pass


def find_consul(workdir: Path) -> str:
    explicit = os.environ.get("FLASKFLEET_CONSUL_BIN")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise ConsulUnavailable(f"FLASKFLEET_CONSUL_BIN={explicit} is not an executable")
        return explicit
    on_path = shutil.which("consul")
    if on_path:
        return on_path
    if MIRROR_ZIP.is_file():
        with zipfile.ZipFile(MIRROR_ZIP) as archive:
            archive.extract("consul", workdir)
        binary = workdir / "consul"
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
        return str(binary)
    raise ConsulUnavailable(
        "no Consul binary: set FLASKFLEET_CONSUL_BIN, put 'consul' on PATH, or build the mirror "
        f"so that {MIRROR_ZIP.relative_to(REPO)} exists (tests/mirror/)")


class ConsulAgent:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="flaskfleet-consul-"))
        self.binary = find_consul(self.dir)
        self.http_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ConsulAgent:
        argv = [self.binary, "agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
                "-node", f"flaskfleet-test-{self.http_port}", "-http-port", str(self.http_port),
                "-dns-port", "-1", "-grpc-port", "-1",
                "-serf-lan-port", str(free_port()), "-serf-wan-port", str(free_port()),
                "-server-port", str(free_port()), "-log-level", "warn"]
        self.log = open(self.dir / "consul.log", "wb")  # noqa: SIM115  closed in stop()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

        def has_leader() -> bool:
            if self.proc.poll() is not None:
                raise ConsulUnavailable("consul exited: "
                                        + (self.dir / "consul.log").read_text()[-2000:])
            try:
                return bool(requests.get(self.url + "/v1/status/leader", timeout=1).json())
            except (requests.RequestException, ValueError):
                return False

        wait_until(has_leader, 30, "the consul agent to elect itself leader", 0.2)
        return self

    def register(self, service_id: str, name: str, port: int, check_path: str = "/health/ready",
                 interval: str = "1s") -> None:
        response = requests.put(self.url + "/v1/agent/service/register", timeout=5, json={
            "ID": service_id, "Name": name, "Address": "127.0.0.1", "Port": port,
            "Check": {"HTTP": f"http://127.0.0.1:{port}{check_path}", "Interval": interval,
                      "Timeout": "1s"}})
        response.raise_for_status()

    def passing(self, name: str) -> list[int]:
        entries = requests.get(f"{self.url}/v1/health/service/{name}", params={"passing": "1"},
                               timeout=5).json()
        return sorted(e["Service"]["Port"] for e in entries)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
