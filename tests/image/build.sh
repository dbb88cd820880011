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
#
# The test image also carries flaskfleet_test_module_bytecode_cache.py (see its
# docstring: Ansible's module payloads are compiled once per host instead of once
# per task). Its recipe digest is a label of the image: an image built from an older
# recipe is built again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TEST_IMAGE=${FLASKFLEET_TEST_IMAGE:-flaskfleet/debian-systemd:bookworm}
PYTHON_IMAGE=${FLASKFLEET_PYTHON_IMAGE:-flaskfleet/python:3.11-bookworm}
SUITE=bookworm

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# image_current NAME RECIPE: the image exists and was built from RECIPE.
image_current() {
  [ "$(docker image inspect --format '{{ index .Config.Labels "org.flaskfleet.recipe" }}' "$1" 2>/dev/null)" = "$2" ]
}

# The test image's recipe: this script and the file it adds.
TEST_RECIPE=$(cat "$here/build.sh" "$here/flaskfleet_test_module_bytecode_cache.py" | sha256sum | cut -c1-16)

# add_module_bytecode_cache ROOT: the test hosts' cache of compiled module payloads.
add_module_bytecode_cache() {
  local root=$1 site
  site=$(chroot "$root" python3 -c 'import site; print(site.getsitepackages()[0])')
  mkdir -p "$root$site"
  install -m 0644 "$here/flaskfleet_test_module_bytecode_cache.py" "$root$site/"
  echo 'import flaskfleet_test_module_bytecode_cache' >"$root$site/flaskfleet_test_module_bytecode_cache.pth"
}

# build_image NAME PACKAGES ROOT_SETUP DOCKERFILE_INSTRUCTIONS...
# ROOT_SETUP: a function run with the unpacked root before it is imported ("" for none).
build_image() {
  local name=$1 packages=$2 setup=$3; shift 3
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
  [ -z "$setup" ] || "$setup" "$root"
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

if [ -n "${FLASKFLEET_TEST_IMAGE:-}" ]; then
  if have_image "$TEST_IMAGE"; then echo "image: reusing $TEST_IMAGE"; else docker pull "$TEST_IMAGE"; fi
elif image_current "$TEST_IMAGE" "$TEST_RECIPE"; then
  echo "image: reusing $TEST_IMAGE"
else
  build_image "$TEST_IMAGE" systemd,systemd-sysv,python3,python3-apt,sudo,iproute2,ca-certificates,gnupg \
    add_module_bytecode_cache \
    'CMD ["/lib/systemd/systemd"]' 'STOPSIGNAL SIGRTMIN+3' "LABEL org.flaskfleet.recipe=$TEST_RECIPE"
fi

if have_image "$PYTHON_IMAGE"; then
  echo "image: reusing $PYTHON_IMAGE"
elif [ -n "${FLASKFLEET_PYTHON_IMAGE:-}" ]; then
  docker pull "$PYTHON_IMAGE"
else
  build_image "$PYTHON_IMAGE" python3,python3-venv,ca-certificates "" \
    'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' 'ENV LANG=C.UTF-8' 'CMD ["python3"]'
fi
