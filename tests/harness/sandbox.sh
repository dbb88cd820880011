#!/usr/bin/env bash
# The README's main command: from a fresh machine, install what is needed, build the
# test image and the offline mirror, create the sandbox hosts as containers, run
# site.yml on them and print what is there. Running it again changes nothing.
#   tests/harness/sandbox.sh            create or update the sandbox
#   tests/harness/sandbox.sh --destroy  remove it
set -euo pipefail
cd "$(dirname "$0")/../.."
inventory=inventories/sandbox
if [ "${1:-}" = "--destroy" ]; then
  tests/harness/start_docker.sh
  .venv/bin/ansible-playbook -i "$inventory" playbooks/sandbox_destroy.yml
  exit 0
fi
tests/harness/bootstrap.sh
tests/image/build.sh
tests/mirror/serve.sh
# shellcheck disable=SC1091
source .venv/bin/activate
ansible-playbook -i "$inventory" playbooks/sandbox.yml
ansible-playbook -i "$inventory" site.yml
ansible-playbook -i "$inventory" playbooks/sandbox_report.yml
