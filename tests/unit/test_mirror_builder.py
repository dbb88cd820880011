"""The offline mirror builder: upstream names and layouts, cache, reproducibility.

The tests that read the built mirror need `tests/mirror/build.py` to have run
(the harness's mirror stage does it before the unit stage).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from source_module import load_source

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tests" / "mirror" / "build.py"
MIRROR = REPO / ".cache" / "mirror"
CACHE = REPO / ".cache" / "downloads"

mirror_build = load_source("mirror_build", BUILD)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def sample_files(tmp_path: Path) -> list[tuple[str, Path]]:
    binary = tmp_path / "tool"
    binary.write_bytes(b"\x7fELF fake binary")
    binary.chmod(0o755)
    doc = tmp_path / "LICENSE"
    doc.write_text("license text\n")
    return [("LICENSE", doc), ("tool", binary)]


def test_tar_archives_are_byte_identical_across_builds(tmp_path: Path, sample_files) -> None:
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    mirror_build.write_tar_gz(first, sample_files, "tool-1.0.linux-amd64")
    sample_files[1][1].touch()  # a newer mtime must not change the archive
    mirror_build.write_tar_gz(second, sample_files, "tool-1.0.linux-amd64")
    assert _sha(first) == _sha(second)


def test_tar_archive_has_the_upstream_top_directory_and_modes(tmp_path: Path, sample_files) -> None:
    archive = tmp_path / "tool.tar.gz"
    mirror_build.write_tar_gz(archive, sample_files, "tool-1.0.linux-amd64")
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == [
        "tool-1.0.linux-amd64",
        "tool-1.0.linux-amd64/LICENSE",
        "tool-1.0.linux-amd64/tool",
    ]
    assert members["tool-1.0.linux-amd64/tool"].mode == 0o755
    assert members["tool-1.0.linux-amd64/LICENSE"].mode == 0o644
    assert {m.uid for m in members.values()} == {0}


def test_zip_archives_are_byte_identical_and_keep_the_exec_bit(
    tmp_path: Path, sample_files
) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    mirror_build.write_zip(first, sample_files[1:], None)
    sample_files[1][1].touch()
    mirror_build.write_zip(second, sample_files[1:], None)
    assert _sha(first) == _sha(second)
    with zipfile.ZipFile(first) as archive:
        info = archive.getinfo("tool")
    assert (info.external_attr >> 16) & 0o777 == 0o755


def test_manifest_uses_the_upstream_file_names() -> None:
    names = {a.filename for a in mirror_build.ARTIFACTS}
    assert names == {
        "consul_1.8.7_linux_amd64.zip",
        "traefik_v3.7.15_linux_amd64.tar.gz",
        "prometheus-2.24.1.linux-amd64.tar.gz",
        "prometheus-3.5.3.linux-amd64.tar.gz",
        "node_exporter-1.9.0.linux-amd64.tar.gz",
        "alertmanager-0.28.1.linux-amd64.tar.gz",
    }
    for artifact in mirror_build.ARTIFACTS:
        assert artifact.version in artifact.filename


def test_a_debian_version_other_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    builder = mirror_build.Builder(tmp_path / "m", tmp_path / "c")
    builder._indexes["sid"] = {
        "consul": {"Version": "1.9.0+dfsg1-1", "Filename": "x", "SHA256": "0"}
    }
    with pytest.raises(mirror_build.MirrorError, match=r"ships consul 1\.9\.0"):
        builder._deb(mirror_build.Deb("sid", "consul", "1.8.7"))


@pytest.fixture
def built_mirror() -> Path:
    if not (MIRROR / "SHA256SUMS").exists():
        pytest.fail("no mirror in .cache/mirror: run tests/mirror/build.py (make mirror) first")
    return MIRROR


def test_a_second_build_downloads_and_rebuilds_nothing() -> None:
    before = (MIRROR / "SHA256SUMS").read_text()
    result = subprocess.run(
        [sys.executable, str(BUILD), "--mirror-dir", str(MIRROR), "--cache-dir", str(CACHE)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "0 downloads, 0 archives rebuilt" in result.stdout
    assert (MIRROR / "SHA256SUMS").read_text() == before


def test_a_rebuild_from_the_cache_gives_the_published_checksum(
    built_mirror: Path, tmp_path: Path
) -> None:
    name = "node_exporter-1.9.0.linux-amd64.tar.gz"
    subprocess.run(
        [
            sys.executable,
            str(BUILD),
            "--mirror-dir",
            str(tmp_path),
            "--cache-dir",
            str(CACHE),
            "--only",
            name,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    published = dict(
        reversed(line.split("  ")) for line in (MIRROR / "SHA256SUMS").read_text().splitlines()
    )
    assert _sha(tmp_path / name) == published[name]


def test_every_archive_holds_its_runnable_binary(built_mirror: Path) -> None:
    expected = {
        "consul_1.8.7_linux_amd64.zip": "consul",
        "traefik_v3.7.15_linux_amd64.tar.gz": "traefik",
        "prometheus-2.24.1.linux-amd64.tar.gz": "prometheus-2.24.1.linux-amd64/promtool",
        "prometheus-3.5.3.linux-amd64.tar.gz": "prometheus-3.5.3.linux-amd64/promtool",
        "node_exporter-1.9.0.linux-amd64.tar.gz": "node_exporter-1.9.0.linux-amd64/node_exporter",
        "alertmanager-0.28.1.linux-amd64.tar.gz": "alertmanager-0.28.1.linux-amd64/amtool",
    }
    for archive, member in expected.items():
        path = MIRROR / archive
        if archive.endswith(".zip"):
            with zipfile.ZipFile(path) as zipped:
                assert member in zipped.namelist(), archive
        else:
            with tarfile.open(path) as tar:
                assert tar.getmember(member).mode == 0o755, archive


def test_a_standin_directory_is_packed_in_its_upstream_layout_and_rebuilt_when_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    standins = tmp_path / "standins"
    program = standins / "tool" / "tool_standin.py"
    program.parent.mkdir(parents=True)
    program.write_text("#!/usr/bin/env python3\nprint('tool stand-in')\n")
    program.chmod(0o755)
    (program.parent / "__pycache__").mkdir()
    (program.parent / "__pycache__" / "junk.pyc").write_bytes(b"x")
    (program.parent / "artifact.json").write_text(
        '{"name": "tool", "version": "1.0", "filename": "tool-1.0.linux-amd64.tar.gz",'
        ' "top": "tool-1.0", "members": {"bin/tool": [0, "tool_standin.py"]}}'
    )
    monkeypatch.setattr(mirror_build, "STANDINS", standins)
    [artifact] = mirror_build.standin_artifacts(standins)
    builder = mirror_build.Builder(tmp_path / "mirror", tmp_path / "cache")
    (tmp_path / "mirror").mkdir()
    (tmp_path / "cache").mkdir()
    out = builder.build(artifact)
    with tarfile.open(out) as tar:
        members = {m.name: m.mode for m in tar.getmembers() if m.isfile()}
    assert members == {"tool-1.0/bin/tool": 0o755}
    first = _sha(out)
    builder.build(artifact)
    assert builder.rebuilt == 1, "an unchanged stand-in must not be repacked"
    program.write_text("#!/usr/bin/env python3\nprint('tool stand-in, edited')\n")
    builder.build(artifact)
    assert builder.rebuilt == 2
    assert _sha(out) != first
