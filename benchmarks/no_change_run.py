#!/usr/bin/env python3
"""Time a no-change run of a playbook and say where the time goes.

Run it against a converged environment (the sandbox: ``make sandbox`` first):

    .venv/bin/python benchmarks/no_change_run.py                      # site.yml on the sandbox
    .venv/bin/python benchmarks/no_change_run.py --check              # the same in check mode
    .venv/bin/python benchmarks/no_change_run.py --playbook playbooks/consul.yml
    .venv/bin/python benchmarks/no_change_run.py --floor 20           # also: 20 bare stat tasks

It runs ``ansible-playbook`` with the JSON callback and prints: the wall time, the tasks each
host ran (skips counted apart: they cost no module call), the changes (a no-change run must
report none), the wall time per task of the busiest host, the slowest tasks and the time per
role. ``--floor N`` first times N ``ansible.builtin.stat`` tasks on the first host: the cost
of one module call on this machine, below which no task can go.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_playbook(args: list[str], extra_env: dict[str, str] | None = None) -> tuple[float, dict]:
    env = dict(
        os.environ,
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        **(extra_env or {}),
    )
    start = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - start
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        sys.exit(f"no-change-run: ansible-playbook did not print JSON:\n{proc.stderr[-3000:]}")
    if proc.returncode != 0:
        print(f"no-change-run: ansible-playbook exited {proc.returncode}", file=sys.stderr)
    return wall, report


def seconds(duration: dict) -> float:
    if "end" not in duration:  # a task no host ran (its block's condition was false)
        return 0.0
    start = datetime.fromisoformat(duration["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(duration["end"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def role_of(task_name: str) -> str:
    head, sep, _ = task_name.partition(" : ")
    return head.rsplit(".", 1)[-1] if sep else "(playbook)"


def floor(inventory: str, tasks: int) -> float:
    """Seconds per bare module call on the inventory's first host."""
    play = [
        {
            "name": "Module call floor",
            "hosts": "all[0]",
            "gather_facts": False,
            "tasks": [
                {"name": f"stat {n}", "ansible.builtin.stat": {"path": "/etc/hostname"}}
                for n in range(tasks)
            ],
        }
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as handle:
        json.dump(play, handle)
        handle.flush()
        _, report = run_playbook(["-i", inventory, handle.name])
    durations = [seconds(t["task"]["duration"]) for t in report["plays"][0]["tasks"]]
    return sum(durations) / len(durations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--inventory", default="inventories/sandbox")
    parser.add_argument("--playbook", default="site.yml")
    parser.add_argument("--check", action="store_true", help="run with --check --diff")
    parser.add_argument("--floor", type=int, default=0, metavar="N",
                        help="first time N bare stat tasks on the first host")
    parser.add_argument("--top", type=int, default=15, help="slowest tasks to list")
    args = parser.parse_args()

    if args.floor:
        print(f"module call floor: {floor(args.inventory, args.floor):.2f} s per task "
              f"({args.floor} x ansible.builtin.stat on the first host)")

    cmd = ["-i", args.inventory, args.playbook] + (["--check", "--diff"] if args.check else [])
    wall, report = run_playbook(cmd)

    ran = collections.Counter()
    skipped = collections.Counter()
    changed = collections.Counter()
    slow = []
    per_role = collections.Counter()
    for play in report["plays"]:
        for task in play["tasks"]:
            name = task["task"]["name"]
            took = seconds(task["task"]["duration"])
            slow.append((took, name))
            per_role[role_of(name)] += took
            for host, result in task["hosts"].items():
                if result.get("skipped"):
                    skipped[host] += 1
                else:
                    ran[host] += 1
                if result.get("changed"):
                    changed[host] += 1

    busiest = max(ran, key=ran.get) if ran else "-"
    print(f"{' '.join(cmd)}: {wall:.0f} s wall")
    for host in sorted(set(ran) | set(skipped)):
        print(f"  {host}: {ran[host]} tasks run, {skipped[host]} skipped, {changed[host]} changed")
    if ran:
        print(f"per task on the busiest host ({busiest}): {wall / ran[busiest]:.2f} s")
    print(f"slowest {args.top} tasks:")
    for took, name in sorted(slow, reverse=True)[: args.top]:
        print(f"  {took:6.1f} s  {name}")
    print("time per role:")
    for role, took in per_role.most_common():
        print(f"  {took:6.1f} s  {role}")
    return 1 if sum(changed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
