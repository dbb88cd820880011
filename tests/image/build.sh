#!/usr/bin/env bash
# Builds the local base images the tests need when they are absent, and reuses them
# when present. No container registry is needed: the images are debootstrapped from
# the Debian mirror in this machine's apt sources.
#
#   flaskfleet/debian-systemd:bookworm   Molecule test hosts (systemd as PID 1, python3, sudo)
#   flaskfleet/python:3.11-bookworm      base for the service images built here
#
# A user with a registry can use pulled images instead:
#   FLASKFLEET_TEST_IMAGE=<image with systemd>  (the Molecule hosts; nothing is built for it)
#   FLASKFLEET_PYTHON_IMAGE=python:3.11-slim-bookworm
# Both images copy the machine's apt sources and its locally added CA certificates,
# so apt and pip inside containers reach the same mirrors the machine reaches.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TEST_IMAGE=${FLASKFLEET_TEST_IMAGE:-flaskfleet/debian-systemd:bookworm}
PYTHON_IMAGE=${FLASKFLEET_PYTHON_IMAGE:-flaskfleet/python:3.11-bookworm}
SUITE=bookworm

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# build_image NAME PACKAGES DOCKERFILE_INSTRUCTIONS...
build_image() {
  local name=$1 packages=$2; shift 2
  local root mirror
  mirror=$("$here/../harness/apt_mirror.sh")
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  echo "image: debootstrapping $name ($SUITE, $packages)"
  debootstrap --variant=minbase --include="$packages" "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; return 1; }
  rm -f "$root.log"
  # apt inside the containers uses the machine's sources.
  rm -f "$root/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.list "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  # Trust the CAs the machine added locally (a TLS-inspecting proxy, a company CA).
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1
  fi
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  # No package lists: mark them as never updated, so cache_valid_time updates them.
  touch -d @0 "$root/var/lib/apt/lists"
  # docker import cannot set every instruction (STOPSIGNAL): finish with a build.
  tar -C "$root" -c . | docker import - "$name-rootfs" >/dev/null
  printf '%s\n' "FROM $name-rootfs" "$@" | docker build --quiet -t "$name" - >/dev/null
  docker rmi "$name-rootfs" >/dev/null
  echo "image: built $name"
}

if have_image "$TEST_IMAGE"; then
  echo "image: reusing $TEST_IMAGE"
elif [ -n "${FLASKFLEET_TEST_IMAGE:-}" ]; then
  docker pull "$TEST_IMAGE"
else
  build_image "$TEST_IMAGE" systemd,systemd-sysv,python3,python3-apt,sudo,iproute2,ca-certificates,gnupg \
    'CMD ["/lib/systemd/systemd"]' 'STOPSIGNAL SIGRTMIN+3'
fi

if have_image "$PYTHON_IMAGE"; then
  echo "image: reusing $PYTHON_IMAGE"
elif [ -n "${FLASKFLEET_PYTHON_IMAGE:-}" ]; then
  docker pull "$PYTHON_IMAGE"
else
  build_image "$PYTHON_IMAGE" python3,python3-venv,ca-certificates \
    'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' 'ENV LANG=C.UTF-8' 'CMD ["python3"]'
fi
