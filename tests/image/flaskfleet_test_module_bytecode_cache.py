"""Bytecode cache for Ansible's module payloads, on the TEST hosts only.

Ansible sends every task's module to the host as a zip file of Python sources
(AnsiballZ) and Python imports it with ``zipimport``, which cannot keep compiled
bytecode: each module call compiles ansible-core's ``module_utils`` again, about
130 ms of CPU on the 2-core test machine, a third of what a module call costs
there. This file, installed in the test image with a ``.pth`` line that imports it
at interpreter start (tests/image/build.sh), keeps the compiled code of each
payload source by the source's digest, so a source is compiled once per host.

It changes how fast a module starts, not what it does: the code object is the one
``compile`` gives for the same source bytes (same Python, same magic number), with
the file name of this run's payload. It acts only for root and only on Ansible's
payload archives (``*_payload.zip``); any failure falls back to compiling. Nothing
of it is in a role or in the hosts the roles manage.
"""

import _imp
import contextlib
import marshal
import os
import sys
import zipimport

CACHE_DIR = "/var/cache/flaskfleet-test-module-bytecode"
_PAYLOAD_MARK = "_payload.zip"
_compile_source = zipimport._compile_source


def _cache_path(source):
    # Imported here: only payload imports need them, not every interpreter start.
    import hashlib
    from importlib.util import MAGIC_NUMBER

    # The optimisation level (-O, PYTHONOPTIMIZE) changes what compile() keeps (asserts,
    # docstrings): it is part of the key with the interpreter's bytecode version.
    key = MAGIC_NUMBER + bytes([sys.flags.optimize]) + source
    digest = hashlib.sha256(key).hexdigest()
    return os.path.join(CACHE_DIR, digest[:2], digest + ".pyc")


def _store(path, code):
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as stream:
        stream.write(marshal.dumps(code))
    os.replace(temporary, path)


def compile_payload_source(pathname, source):
    """zipimport's compile step, with the cache for Ansible payload sources."""
    if _PAYLOAD_MARK not in pathname or os.geteuid() != 0:
        return _compile_source(pathname, source)
    try:
        path = _cache_path(source)
    except Exception:  # noqa: BLE001 (no cache is the worst outcome, never a failed import)
        return _compile_source(pathname, source)
    try:
        with open(path, "rb") as stream:
            # Written by root only (see the euid check), under a root-owned directory.
            code = marshal.loads(stream.read())  # noqa: S302
        _imp._fix_co_filename(code, pathname)
        return code
    except (OSError, EOFError, ValueError, TypeError):
        pass
    code = _compile_source(pathname, source)
    if code is not None:
        with contextlib.suppress(OSError):
            _store(path, code)
    return code


zipimport._compile_source = compile_payload_source
