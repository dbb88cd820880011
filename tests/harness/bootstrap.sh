#!/usr/bin/env bash
# Installs what the test suite and the sandbox need on a Debian 12 controller:
# apt packages, a running Docker engine and the project's virtualenv (.venv).
# Safe to run again: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/../.."

APT_PACKAGES=(docker.io docker-compose debootstrap xz-utils zip unzip wrk make postgresql)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing apt packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

tests/harness/start_docker.sh

if [ ! -x .venv/bin/ansible-playbook ] || ! cmp -s requirements-test.txt .venv/.requirements-test.txt \
   || ! cmp -s requirements.txt .venv/.requirements.txt; then
  echo "bootstrap: creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -r requirements-test.txt -r apps/requirements-dev.txt
  cp requirements-test.txt .venv/.requirements-test.txt
  cp requirements.txt .venv/.requirements.txt
fi
echo "bootstrap: ready"
