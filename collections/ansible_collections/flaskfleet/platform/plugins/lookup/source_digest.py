"""The SHA-256 digest of a source tree's content, for image tags that follow it.

A missing directory or a missing listed path is an error, never the digest of
nothing: that digest would be the same for every build and a changed tree would
never be rolled out.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: source_digest
author: flaskfleet
short_description: Digest of the files of a build context, stable across checkouts
description:
  - Hashes every regular file under the given paths of a directory, in name order
    (its path relative to the directory, whether it is executable, and its bytes).
    Timestamps, owners and Python byte-code caches do not count, so two checkouts of
    the same commit have the same digest and any edit to a file changes it.
  - The sandbox and dev inventories tag the services image with it, so a changed
    apps/ is built and rolled out, and an unchanged one is not rebuilt.
options:
  _terms:
    description: The directory (the build context).
    required: true
  paths:
    description: The files and directories inside it that make up the image.
    type: list
    elements: str
    required: true
  length:
    description: How many leading hex digits to return (64 for the whole digest).
    type: int
    default: 64
"""

EXAMPLES = r"""
image_tag: >-
  {{ lookup('flaskfleet.platform.source_digest', 'apps', length=12,
            paths=['Dockerfile', 'flaskfleet_services']) }}
"""

RETURN = r"""
_raw:
  description: One hex digest per directory.
  type: list
  elements: str
"""

SKIPPED_DIRECTORIES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def _files(root: Path, path: str) -> list[Path]:
    start = root / path
    if not start.exists():
        raise AnsibleLookupError(f"source_digest: {path} is missing from {root}")
    if start.is_file():
        return [start]
    found = []
    for directory, subdirectories, names in os.walk(start):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRECTORIES]
        found.extend(Path(directory) / name for name in names
                     if not name.endswith(SKIPPED_SUFFIXES))
    return found


def source_digest(root: str | os.PathLike, paths: list[str]) -> str:
    base = Path(root)
    if not base.is_dir():
        raise AnsibleLookupError(f"source_digest: {root} is not a directory")
    if not paths:
        raise AnsibleLookupError("source_digest: paths names no file")
    files = sorted({file for path in paths for file in _files(base, path)},
                   key=lambda file: file.relative_to(base).as_posix())
    digest = hashlib.sha256()
    for file in files:
        mode = file.stat().st_mode
        if not stat.S_ISREG(mode):
            continue
        digest.update(file.relative_to(base).as_posix().encode() + b"\0")
        digest.update(b"x" if mode & stat.S_IXUSR else b"-")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        length = self.get_option("length")
        if not 1 <= length <= 64:
            raise AnsibleLookupError(f"source_digest: length must be 1 to 64, got {length}")
        return [source_digest(term, self.get_option("paths"))[:length] for term in terms]
