"""tests/harness/molecule.sh: scenario order, lanes, and the scenarios that run alone.

The runner is copied into a scratch project whose `molecule` is a recorder: each
call writes when it started and ended, so the tests can tell which scenarios ran
at the same time.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_MOLECULE = """#!/usr/bin/env bash
# molecule test -s NAME: record the start and the end; scenarios named slow* take
# longer, those named fail* fail
name=$3
echo "start $name $(date +%s.%N)" >>"$RECORD"
case $name in slow*) sleep 1.2 ;; *) sleep 0.4 ;; esac
echo "end $name $(date +%s.%N)" >>"$RECORD"
case $name in fail*) exit 1 ;; esac
"""


def make_project(tmp_path: Path, scenarios: list[str], durations: str) -> Path:
    project = tmp_path / "project"
    (project / "tests/harness").mkdir(parents=True)
    shutil.copy(ROOT / "tests/harness/molecule.sh", project / "tests/harness/molecule.sh")
    bin_dir = project / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "molecule"
    fake.write_text(FAKE_MOLECULE)
    fake.chmod(0o755)
    (project / ".venv/bin").mkdir(parents=True)
    (project / ".venv/bin/activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    for name in scenarios:
        (project / "molecule" / name).mkdir(parents=True)
        (project / "molecule" / name / "molecule.yml").write_text("---\n")
    (project / "molecule/durations").write_text(durations)
    return project


def run(project: Path, *args: str, jobs: str = "2") -> tuple[subprocess.CompletedProcess, list]:
    record = project / "record"
    result = subprocess.run(
        ["bash", str(project / "tests/harness/molecule.sh"), *args],
        env={"PATH": "/usr/bin:/bin", "RECORD": str(record), "FLASKFLEET_MOLECULE_JOBS": jobs},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    events = [line.split() for line in record.read_text().splitlines()] if record.exists() else []
    return result, [(kind, name, float(at)) for kind, name, at in events]


def spans(events: list) -> dict[str, tuple[float, float]]:
    start = {name: at for kind, name, at in events if kind == "start"}
    end = {name: at for kind, name, at in events if kind == "end"}
    return {name: (start[name], end[name]) for name in start}


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_scenarios_start_in_the_order_of_durations_and_share_two_lanes(tmp_path):
    project = make_project(tmp_path, ["a", "b", "c", "d"], "# comment\nc 300\na 200\n")
    result, events = run(project)
    assert result.returncode == 0, result.stdout + result.stderr
    starts = [name for kind, name, _ in sorted(events, key=lambda e: e[2]) if kind == "start"]
    # c and a take the two lanes (their own start order within the lanes is a race)
    assert sorted(starts[:2]) == ["a", "c"]
    assert sorted(starts) == ["a", "b", "c", "d"]
    times = spans(events)
    assert overlaps(times["c"], times["a"]), "two lanes: the first two scenarios run together"


def test_a_scenario_marked_alone_runs_first_with_no_other_scenario_beside_it(tmp_path):
    project = make_project(tmp_path, ["a", "b", "c", "solo"], "a 300\nsolo 200 alone\nb 100\n")
    result, events = run(project)
    assert result.returncode == 0, result.stdout + result.stderr
    times = spans(events)
    assert min(times, key=lambda name: times[name][0]) == "solo"
    for other in ("a", "b", "c"):
        assert not overlaps(times["solo"], times[other]), f"{other} ran beside the lone scenario"
    assert overlaps(times["a"], times["b"]), "the other scenarios still share two lanes"


def test_a_named_scenario_marked_alone_runs_alone_and_a_failure_is_reported(tmp_path):
    project = make_project(tmp_path, ["fail-x", "solo", "slow-y"], "solo 200 alone\n")
    result, events = run(project, "slow-y", "fail-x", "solo")
    assert result.returncode == 1
    assert "failed scenarios: fail-x" in result.stdout
    times = spans(events)
    assert sorted(times) == ["fail-x", "slow-y", "solo"]
    assert not overlaps(times["solo"], times["slow-y"])
    assert not overlaps(times["solo"], times["fail-x"])


@pytest.mark.parametrize("jobs", ["0", "two", "-1"])
def test_a_bad_lane_count_is_refused_before_any_scenario_runs(tmp_path, jobs):
    project = make_project(tmp_path, ["a"], "a 1\n")
    result, events = run(project, jobs=jobs)
    assert result.returncode == 2
    assert "FLASKFLEET_MOLECULE_JOBS must be a positive integer" in result.stderr
    assert events == []


def test_the_platform_scenario_is_left_out_of_the_lanes_unless_named(tmp_path):
    project = make_project(tmp_path, ["a", "platform", "b"], "")
    result, events = run(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(name for kind, name, _ in events if kind == "start") == ["a", "b"]
    (project / "record").unlink()
    result, events = run(project, "platform")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [name for kind, name, _ in events if kind == "start"] == ["platform"]
