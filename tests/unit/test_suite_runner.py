"""tests/harness/test.sh: stage order, the lint/unit/apps stages run at the same time,
their output kept apart, failures counted, and the platform stage runs the platform
scenario's core.

The runner is copied into a scratch project whose tools are recorders: each call
writes what ran (and, for the timing tests, when it started and ended).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every tool of a stage is this script under another name. FAIL names the stage that
# fails; python is called as `python -m pytest -q tests` (unit) or from apps/ (apps).
RECORDER = """#!/usr/bin/env bash
tool=$(basename "$0")
case "$tool $PWD" in
  "python "*/apps) stage=apps ;;
  python*) stage=unit ;;
  *) stage=lint ;;
esac
echo "start $stage $tool $(date +%s.%N)" >>"$RECORD"
sleep 0.6
echo "output of $stage from $tool"
echo "end $stage $tool $(date +%s.%N)" >>"$RECORD"
[ "${FAIL:-}" = "$stage" ] && exit 1
exit 0
"""


def make_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "tests/harness").mkdir(parents=True)
    shutil.copy(ROOT / "tests/harness/test.sh", project / "tests/harness/test.sh")
    (project / "apps").mkdir()
    venv_bin = project / ".venv/bin"
    venv_bin.mkdir(parents=True)
    for tool in ("yamllint", "ruff", "ansible-lint", "python"):
        (venv_bin / tool).write_text(RECORDER)
        (venv_bin / tool).chmod(0o755)
    (venv_bin / "activate").write_text(f'export PATH="{venv_bin}:$PATH"\n')
    return project


def run(project: Path, *stages: str, **env: str) -> tuple[subprocess.CompletedProcess, list]:
    record = project / "record"
    record.unlink(missing_ok=True)
    result = subprocess.run(
        ["bash", str(project / "tests/harness/test.sh"), *stages],
        env={"PATH": "/usr/bin:/bin", "RECORD": str(record), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    events = [line.split() for line in record.read_text().splitlines()] if record.exists() else []
    return result, [(kind, stage, float(at)) for kind, stage, _tool, at in events]


def span(events: list, stage: str) -> tuple[float, float]:
    times = [at for _kind, name, at in events if name == stage]
    return min(times), max(times)


def test_lint_unit_and_apps_run_at_the_same_time_and_each_output_stays_whole(tmp_path):
    project = make_project(tmp_path)
    result, events = run(project, "lint", "unit", "apps")
    assert result.returncode == 0, result.stdout + result.stderr
    (_lint_start, lint_end), (unit_start, unit_end), (apps_start, apps_end) = (
        span(events, "lint"), span(events, "unit"), span(events, "apps"))
    # lint calls three tools in a row (1.8 s); unit and apps start before it ends.
    assert unit_start < lint_end
    assert apps_start < lint_end
    assert unit_start < apps_end
    assert apps_start < unit_end
    out = result.stdout
    # Each stage's output is printed in one piece under its own heading.
    lint_part = out[out.index("=== stage lint"):out.index("=== stage unit")]
    unit_part = out[out.index("=== stage unit"):out.index("=== stage apps")]
    assert lint_part.count("output of lint") == 3
    assert "output of unit" not in lint_part
    assert unit_part.count("output of unit") == 1
    assert "output of apps" not in unit_part
    assert "stages: 3 passed, 0 failed" in out
    assert (project / ".cache/logs/stage-unit.log").read_text() == "output of unit from python\n"


def test_a_failed_stage_of_the_group_is_named_and_fails_the_run_the_others_still_pass(tmp_path):
    project = make_project(tmp_path)
    result, _events = run(project, "lint", "unit", "apps", FAIL="unit")
    assert result.returncode == 1
    assert "unit FAILED in" in result.stdout
    assert "lint passed in" in result.stdout
    assert "apps passed in" in result.stdout
    assert "stages: 2 passed, 1 failed" in result.stdout


def test_serial_mode_runs_the_stages_one_after_the_other(tmp_path):
    project = make_project(tmp_path)
    result, events = run(project, "unit", "apps", "lint", FLASKFLEET_TEST_SERIAL="1")
    assert result.returncode == 0, result.stdout + result.stderr
    unit_end, apps_start = span(events, "unit")[1], span(events, "apps")[0]
    apps_end, lint_start = span(events, "apps")[1], span(events, "lint")[0]
    assert unit_end <= apps_start
    assert apps_end <= lint_start
    assert "stages: 3 passed, 0 failed" in result.stdout


def test_a_single_stage_runs_in_the_foreground_and_an_unknown_one_is_refused(tmp_path):
    project = make_project(tmp_path)
    result, events = run(project, "unit")
    assert result.returncode == 0
    assert "output of unit from python" in result.stdout
    assert not (project / ".cache/logs/stage-unit.log").exists()
    assert [stage for _kind, stage, _at in events] == ["unit", "unit"]

    result, events = run(project, "lint", "nosuchstage")
    assert result.returncode == 2
    assert "unknown stage 'nosuchstage'" in result.stderr
    assert events == [], "no stage runs when one of the named stages is unknown"


FAKE_RUNNER = """#!/usr/bin/env bash
# tests/harness/molecule.sh ARGS: record the arguments and the platform scope
echo "args=$* scope=${FLASKFLEET_PLATFORM_SCOPE:-unset}" >>"$RECORD"
"""


def test_the_suite_s_platform_stage_runs_the_platform_scenario_s_core(tmp_path):
    project = tmp_path / "project"
    (project / "tests/harness").mkdir(parents=True)
    shutil.copy(ROOT / "tests/harness/test.sh", project / "tests/harness/test.sh")
    runner = project / "tests/harness/molecule.sh"
    runner.write_text(FAKE_RUNNER)
    runner.chmod(0o755)
    record = project / "record"
    result = subprocess.run(
        ["bash", str(project / "tests/harness/test.sh"), "molecule", "platform"],
        env={"PATH": "/usr/bin:/bin", "RECORD": str(record), "FLASKFLEET_PLATFORM_SCOPE": "full"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert record.read_text().splitlines() == ["args= scope=full", "args=platform scope=core"]
    assert "stages: 2 passed, 0 failed" in result.stdout


ARGUMENT_RECORDER = """#!/usr/bin/env bash
# records which program ran, from where, with which arguments
echo "$(basename "$0") $* scope=${FLASKFLEET_PLATFORM_SCOPE:-unset}" >>"$RECORD"
"""


def test_the_suite_runs_every_stage_and_the_platform_core_last_by_default(tmp_path):
    project = tmp_path / "project"
    (project / "tests/harness").mkdir(parents=True)
    shutil.copy(ROOT / "tests/harness/test.sh", project / "tests/harness/test.sh")
    (project / "apps").mkdir()
    programs = [
        "tests/harness/bootstrap.sh",
        "tests/image/build.sh",
        "tests/mirror/serve.sh",
        "tests/harness/molecule.sh",
        ".venv/bin/yamllint",
        ".venv/bin/ruff",
        ".venv/bin/python",
        "fakebin/ansible-lint",
    ]
    for program in programs:
        path = project / program
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ARGUMENT_RECORDER)
        path.chmod(0o755)
    (project / ".venv/bin/activate").write_text(f'export PATH="{project / "fakebin"}:$PATH"\n')
    record = project / "record"
    result = subprocess.run(
        ["bash", str(project / "tests/harness/test.sh")],
        env={"PATH": "/usr/bin:/bin", "RECORD": str(record)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls = record.read_text().splitlines()
    assert calls[:3] == [
        "bootstrap.sh  scope=unset", "build.sh  scope=unset", "serve.sh  scope=unset"]
    # lint, unit and apps run at the same time: their calls interleave.
    assert sorted(calls[3:8]) == sorted([
        "yamllint --strict . scope=unset",
        "ruff check . scope=unset",
        "ansible-lint --profile production scope=unset",
        "python -m pytest -q tests scope=unset",
        "python -m pytest -q scope=unset",
    ])
    lint_calls = [call for call in calls if call.split()[0] in {"yamllint", "ruff", "ansible-lint"}]
    assert [call.split()[0] for call in lint_calls] == ["yamllint", "ruff", "ansible-lint"]
    assert calls[8:] == ["molecule.sh  scope=unset", "molecule.sh platform scope=core"]
    assert "stages: 8 passed, 0 failed" in result.stdout
