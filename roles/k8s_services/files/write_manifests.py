"""Write rendered manifests to a directory, one file per object, in one pass.

Reads JSON on stdin: {"dir": "/abs/path", "ranks": {"Deployment": "60", ...}, "manifests":
[{...}, ...]}. Each object goes to <rank>-<kind>-<name>.yaml (mode 0600 for Secrets, else
0644). Writes a file only when its content or mode differs (atomically: temporary file,
then rename), removes files of earlier renders (NN-*.yaml) that are not in the list, and
prints {"changed": [...], "removed": [...]}.
Used by the k8s_services role's render mode: one process instead of one module run per file.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile

import yaml

RENDERED = re.compile(r"^[0-9]{2}-[a-z0-9-]+\.yaml$")


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key (what yamllint's default expects)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def render(manifest: dict) -> str:
    return "---\n" + yaml.dump(
        manifest,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )


def write(directory: str, name: str, content: str, mode: int) -> bool:
    path = os.path.join(directory, name)
    try:
        with open(path, encoding="utf-8") as current:
            same = current.read() == content and (os.stat(path).st_mode & 0o7777) == mode
    except FileNotFoundError:
        same = False
    if same:
        return False
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


def file_name(manifest: dict, ranks: dict) -> str:
    kind = manifest["kind"]
    return f"{ranks[kind]}-{kind.lower()}-{manifest['metadata']['name']}.yaml"


def main() -> None:
    request = json.load(sys.stdin)
    directory = request["dir"]
    os.makedirs(directory, mode=0o750, exist_ok=True)
    files = {file_name(m, request["ranks"]): m for m in request["manifests"]}
    if len(files) != len(request["manifests"]):
        sys.exit("two manifests map to one file name")
    wanted = set(files)
    changed = [
        name
        for name, manifest in files.items()
        if write(
            directory, name, render(manifest), 0o600 if manifest["kind"] == "Secret" else 0o644
        )
    ]
    removed = sorted(
        name for name in os.listdir(directory) if RENDERED.match(name) and name not in wanted
    )
    for name in removed:
        os.unlink(os.path.join(directory, name))
    json.dump({"changed": changed, "removed": removed}, sys.stdout)


if __name__ == "__main__":
    main()
