#!/usr/bin/env bash
# Builds the offline mirror (cached) and serves it over HTTP on loopback for the
# Molecule scenarios, unless a server already answers there.
#   FLASKFLEET_MIRROR_PORT  port on 127.0.0.1 (default 8765)
#   FLASKFLEET_MIRROR_DIR   where the archives are (default .cache/mirror)
# Stop it with: tests/mirror/serve.sh --stop
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${FLASKFLEET_MIRROR_PORT:-8765}
dir=${FLASKFLEET_MIRROR_DIR:-.cache/mirror}
pidfile=.cache/mirror-server.pid
python=${PYTHON:-python3}
[ -x .venv/bin/python ] && python=.venv/bin/python

if [ "${1:-}" = "--stop" ]; then
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  exit 0
fi

"$python" tests/mirror/build.py --mirror-dir "$dir"
if "$python" - "$port" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/SHA256SUMS", timeout=2)
except OSError:
    sys.exit(1)
PY
then
  echo "mirror: already served on http://127.0.0.1:$port"
  exit 0
fi
nohup "$python" -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >.cache/mirror-server.log 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 20); do
  if "$python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/SHA256SUMS', timeout=2)" 2>/dev/null; then
    echo "mirror: serving $dir on http://127.0.0.1:$port"
    exit 0
  fi
  sleep 0.5
done
echo "mirror: the HTTP server did not start (see .cache/mirror-server.log)" >&2
exit 1
