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

# What the port serves now: "ours" (this mirror's SHA256SUMS), "other" or "none".
served() {
  "$python" - "$port" "$dir/SHA256SUMS" <<'PY'
import sys, urllib.request
from pathlib import Path
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/SHA256SUMS", timeout=2) as r:
        body = r.read()
except OSError as exc:
    print("other" if getattr(exc, "code", None) else "none")
    sys.exit(0)
print("ours" if body == Path(sys.argv[2]).read_bytes() else "other")
PY
}

state=$(served)
if [ "$state" = ours ]; then
  echo "mirror: already served on http://127.0.0.1:$port"
  exit 0
fi
# A mirror server left by a checkout that was deleted since answers 404 for
# everything: stop it (only a server of this script's own command line whose
# working directory is gone), then serve this checkout's mirror.
for pid in $(pgrep -f -- "-m http.server $port --bind 127.0.0.1 --directory" || true); do
  case $(readlink "/proc/$pid/cwd" 2>/dev/null) in
    *" (deleted)")
      echo "mirror: stopping a stale mirror server (pid $pid) whose checkout was deleted"
      kill "$pid" 2>/dev/null || true
      sleep 0.5 ;;
  esac
done
state=$(served)
if [ "$state" = other ]; then
  echo "mirror: 127.0.0.1:$port answers but does not serve this mirror; stop that server or" \
    "set FLASKFLEET_MIRROR_PORT and FLASKFLEET_MIRROR_URL to another port" >&2
  exit 1
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
