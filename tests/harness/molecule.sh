#!/usr/bin/env bash
# Runs `molecule test` for the given scenarios (default: every scenario in
# molecule/ except shared/ and the platform one, see below) and prints each one's time.
# Exits non-zero when any scenario fails; the others still run.
#   FLASKFLEET_MOLECULE_JOBS   scenarios run at the same time (default 2). Each
#                              scenario has its own containers, network and CAs, and
#                              spends most of its time waiting on its hosts, so two
#                              lanes on two cores finish the suite sooner than one.
# Scenarios start longest first (the order of molecule/durations, then the rest).
# A scenario marked `alone` in molecule/durations runs before the others with the
# machine to itself: its time is its own, not shared with a second lane (for a
# scenario whose timing checks need both cores; none is marked now).
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
source .venv/bin/activate
export NO_COLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1
jobs_max=${FLASKFLEET_MOLECULE_JOBS:-2}
case $jobs_max in '' | *[!0-9]* | 0)
  echo "molecule: FLASKFLEET_MOLECULE_JOBS must be a positive integer (got '$jobs_max')" >&2
  exit 2 ;;
esac

# Not in the lanes: the multi-host platform scenario keeps both cores busy, so it runs
# by itself, named (`tests/harness/test.sh platform`: its core; `make platform`: all
# of it, about 60 minutes; docs/platform.md).
by_itself=(platform)

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  declare -A seen=()
  for name in "${by_itself[@]}"; do seen[$name]=1; done
  # Known long scenarios first, so the lanes finish together.
  while read -r name _; do
    [ -f "molecule/$name/molecule.yml" ] && [ -z "${seen[$name]:-}" ] && scenarios+=("$name") && seen[$name]=1
  done < <(grep -v '^#' molecule/durations 2>/dev/null)
  for dir in molecule/*/; do
    name=$(basename "$dir")
    [ -f "$dir/molecule.yml" ] && [ -z "${seen[$name]:-}" ] && scenarios+=("$name")
  done
fi
for scenario in "${scenarios[@]}"; do
  if [ ! -f "molecule/$scenario/molecule.yml" ]; then
    echo "molecule: no scenario '$scenario' (no molecule/$scenario/molecule.yml)" >&2
    exit 2
  fi
done

# Those marked `alone` go first: the lanes fill once they are done.
declare -A alone=()
while read -r name _ mark _; do
  [ "${mark:-}" = alone ] && alone[$name]=1
done < <(grep -v '^#' molecule/durations 2>/dev/null)
ordered=()
for scenario in "${scenarios[@]}"; do [ -n "${alone[$scenario]:-}" ] && ordered+=("$scenario"); done
for scenario in "${scenarios[@]}"; do [ -z "${alone[$scenario]:-}" ] && ordered+=("$scenario"); done
scenarios=("${ordered[@]}")

mkdir -p .cache/logs
results=$(mktemp)
trap 'rm -f "$results"' EXIT

run_one() {
  local scenario=$1 start result
  start=$(date +%s)
  if molecule test -s "$scenario" >".cache/logs/molecule-$scenario.log" 2>&1; then
    result=passed
  else
    result=FAILED
    tail -n 60 ".cache/logs/molecule-$scenario.log" | sed "s/^/[$scenario] /"
  fi
  echo "molecule: $scenario $result in $(( $(date +%s) - start )) s (log: .cache/logs/molecule-$scenario.log)"
  echo "$scenario $result" >>"$results"
}

suite_start=$(date +%s)
for scenario in "${scenarios[@]}"; do
  if [ -n "${alone[$scenario]:-}" ]; then
    wait
    run_one "$scenario"
    continue
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
    wait -n
  done
  run_one "$scenario" &
done
wait
failed=$(awk '$2 == "FAILED" { print $1 }' "$results" | sort | tr '\n' ' ')
lanes=$(( ${#scenarios[@]} < jobs_max ? ${#scenarios[@]} : jobs_max ))
echo "molecule: ${#scenarios[@]} scenario(s) in $(( $(date +%s) - suite_start )) s, $lanes at a time at most"
if [ -n "$failed" ]; then
  echo "molecule: failed scenarios: $failed"
  exit 1
fi
