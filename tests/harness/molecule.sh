#!/usr/bin/env bash
# Runs `molecule test` for the given scenarios (default: every scenario in
# molecule/ except shared/), one after another, and prints each one's time.
# Exits non-zero when any scenario fails; the others still run.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
source .venv/bin/activate
export NO_COLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for dir in molecule/*/; do
    name=$(basename "$dir")
    [ -f "$dir/molecule.yml" ] && scenarios+=("$name")
  done
fi
mkdir -p .cache/logs
failed=()
for scenario in "${scenarios[@]}"; do
  start=$(date +%s)
  if molecule test -s "$scenario" >".cache/logs/molecule-$scenario.log" 2>&1; then
    result=passed
  else
    result=FAILED
    failed+=("$scenario")
    tail -n 60 ".cache/logs/molecule-$scenario.log"
  fi
  echo "molecule: $scenario $result in $(( $(date +%s) - start )) s (log: .cache/logs/molecule-$scenario.log)"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "molecule: failed scenarios: ${failed[*]}"
  exit 1
fi
