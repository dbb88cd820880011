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
for stage in "${stages[@]}"; do
  if ! declare -F "stage_$stage" >/dev/null; then
    echo "test: unknown stage '$stage' (stages: bootstrap image mirror lint unit apps molecule platform)" >&2
    exit 2
  fi
done
passed=0
failed=0
report=()
suite_start=$(date +%s)

# record STAGE RC SECONDS
record() {
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1)); report+=("$1 passed in $3 s")
  else
    failed=$((failed + 1)); report+=("$1 FAILED in $3 s")
  fi
}

# run_together STAGE...: each in the background into its log; then each log, in order.
run_together() {
  local stage pids=() starts=() rc
  mkdir -p .cache/logs
  echo "=== stages $* (at the same time; logs in .cache/logs/stage-NAME.log)"
  for stage in "$@"; do
    starts+=("$(date +%s)")
    ("stage_$stage" >".cache/logs/stage-$stage.log" 2>&1; rc=$?; echo "$(date +%s)" >".cache/logs/stage-$stage.end"; exit $rc) &
    pids+=($!)
  done
  local i=0
  for stage in "$@"; do
    rc=0; wait "${pids[$i]}" || rc=$?
    echo "=== stage $stage"
    cat ".cache/logs/stage-$stage.log"
    record "$stage" "$rc" $(( $(cat ".cache/logs/stage-$stage.end") - ${starts[$i]} ))
    rm -f ".cache/logs/stage-$stage.end"
    i=$((i + 1))
  done
}

concurrent=" lint unit apps "
i=0
while [ $i -lt ${#stages[@]} ]; do
  stage=${stages[$i]}
  # A row of stages that may run together.
  group=()
  while [ -z "${FLASKFLEET_TEST_SERIAL:-}" ] && [ $i -lt ${#stages[@]} ] \
    && [[ $concurrent == *" ${stages[$i]} "* ]]; do
    group+=("${stages[$i]}"); i=$((i + 1))
  done
  if [ ${#group[@]} -gt 1 ]; then
    run_together "${group[@]}"
    continue
  elif [ ${#group[@]} -eq 1 ]; then
    i=$((i - 1))
  fi
  i=$((i + 1))
  echo "=== stage $stage"
  start=$(date +%s)
  rc=0; "stage_$stage" || rc=$?
  record "$stage" "$rc" $(( $(date +%s) - start ))
  # Later stages need the earlier ones' installs.
  if [ "$rc" -ne 0 ]; then
    case $stage in bootstrap|image|mirror) break ;; esac
  fi
done
echo "=== summary ($(( $(date +%s) - suite_start )) s)"
printf '  %s\n' "${report[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
