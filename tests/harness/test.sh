#!/usr/bin/env bash
# The whole test suite: installs what it needs, then lint, unit tests, every role's
# Molecule scenario and the platform scenario's core (FLASKFLEET_PLATFORM_SCOPE=core:
# molecule/platform/verify.yml). Prints each stage's time and exits non-zero if any failed.
#   tests/harness/test.sh                 every stage
#   tests/harness/test.sh lint unit       only these stages
# Stages: bootstrap image mirror lint unit apps molecule platform
set -uo pipefail
cd "$(dirname "$0")/../.."
export NO_COLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1

stage_bootstrap() { tests/harness/bootstrap.sh; }
stage_image() { tests/image/build.sh; }
stage_mirror() { tests/mirror/serve.sh; }
stage_lint() {
  local rc=0
  .venv/bin/yamllint --strict . || rc=1
  .venv/bin/ruff check . || rc=1
  (source .venv/bin/activate && ansible-lint --profile production) || rc=1
  return $rc
}
stage_unit() { .venv/bin/python -m pytest -q tests; }
stage_apps() { (cd apps && ../.venv/bin/python -m pytest -q); }
stage_molecule() { tests/harness/molecule.sh; }
# Last: it needs the machine to itself (three hosts with the whole platform on 2 cores).
stage_platform() { FLASKFLEET_PLATFORM_SCOPE=core tests/harness/molecule.sh platform; }

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(bootstrap image mirror lint unit apps molecule platform)
passed=0
failed=0
report=()
suite_start=$(date +%s)
for stage in "${stages[@]}"; do
  if ! declare -F "stage_$stage" >/dev/null; then
    echo "test: unknown stage '$stage' (stages: bootstrap image mirror lint unit apps molecule platform)" >&2
    exit 2
  fi
  echo "=== stage $stage"
  start=$(date +%s)
  if "stage_$stage"; then
    result=passed; passed=$((passed + 1))
  else
    result=FAILED; failed=$((failed + 1))
    # Later stages need the earlier ones' installs.
    case $stage in bootstrap|image|mirror) report+=("$stage FAILED in $(( $(date +%s) - start )) s"); break ;; esac
  fi
  report+=("$stage $result in $(( $(date +%s) - start )) s")
done
echo "=== summary ($(( $(date +%s) - suite_start )) s)"
printf '  %s\n' "${report[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
