#!/usr/bin/env bash
# Starts the Docker engine in the background when none answers (machines without
# systemd as PID 1), then waits for its socket.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  exit 0
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl start docker
else
  log=${DOCKERD_LOG:-/var/log/dockerd.log}
  echo "start_docker: starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "start_docker: the Docker engine did not answer within 60 s" >&2
exit 1
