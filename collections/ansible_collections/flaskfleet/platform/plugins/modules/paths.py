#!/usr/bin/python
"""Ensure a list of directories, symbolic links and small files in one module call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: paths
short_description: Ensure several directories, symbolic links and small files in one call
description:
  - Creates missing directories (with their parents) and symbolic links, replaces a link
    that points elsewhere, writes a file whose content differs (atomically, through a
    temporary file in the same directory), and sets owner, group and mode where they
    differ.
  - One call instead of one M(ansible.builtin.file) or M(ansible.builtin.copy) call per
    path; the shared release installer (role C(_release)) uses it for the install tree
    of every program, the shared PKI role (C(_pki)) for a host's certificate files.
  - A path that exists as something else (a file where a directory is wanted, a
    directory where a link or a file is wanted) is an error; nothing is removed.
  - File contents never appear in the result or the diff (certificate keys go through
    it); the diff names the file and the SHA-256 of its content before and after.
  - Supports check mode and diff mode.
options:
  paths:
    description: The directories and links, applied in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the directory or the link.
        type: path
        required: true
      state:
        description: V(directory), V(link) or V(file).
        type: str
        choices: [directory, link, file]
        default: directory
      src:
        description: Target of the link (required with O(paths[].state=link)).
        type: path
      content:
        description:
          - Content of the file (required with O(paths[].state=file)); text, written
            as UTF-8 exactly as given.
        type: str
      owner:
        description: Owner of the directory or the file, or of the link itself.
        type: str
      group:
        description: Group of the directory or the file, or of the link itself.
        type: str
      mode:
        description:
          - Mode of the directory or the file (ignored for links), as for
            M(ansible.builtin.file). A new file without a mode gets V(0600).
        type: raw
author:
  - flaskfleet
"""

EXAMPLES = r"""
- name: Install tree of node_exporter
  flaskfleet.platform.paths:
    paths:
      - path: /opt/node_exporter/current
        state: link
        src: /opt/node_exporter/1.9.1
      - path: /usr/local/bin/node_exporter
        state: link
        src: /opt/node_exporter/current/node_exporter
      - {path: /etc/node_exporter, owner: root, group: node_exporter, mode: "0750"}

- name: A certificate and its key
  flaskfleet.platform.paths:
    paths:
      - {path: /etc/app/tls, owner: root, group: app, mode: "0750"}
      - path: /etc/app/tls/app.pem
        state: file
        content: "{{ lookup('ansible.builtin.file', 'pki/app.pem', rstrip=false) }}"
        mode: "0644"
      - path: /etc/app/tls/app-key.pem
        state: file
        content: "{{ lookup('ansible.builtin.file', 'pki/app-key.pem', rstrip=false) }}"
        group: app
        mode: "0640"
  no_log: true
"""

RETURN = r"""
changed_paths:
  description: The paths that were (or, in check mode, would be) changed.
  returned: always
  type: list
  elements: str
"""

import hashlib
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule


def _kind(path):
    if os.path.islink(path):
        return "link"
    if os.path.isdir(path):
        return "directory"
    if os.path.lexists(path):
        return "file"
    return "absent"


def _make_dirs(module, path):
    """mkdir -p, remembering which directories were created (for their attributes)."""
    missing = []
    current = path
    while not os.path.lexists(current):
        missing.append(current)
        current = os.path.dirname(current)
    if _kind(current) != "directory":
        module.fail_json(msg=f"{current} exists and is not a directory (needed for {path})")
    for directory in reversed(missing):
        os.mkdir(directory, 0o755)


def _link(module, entry):
    """Point entry['path'] at entry['src'], replacing an existing link atomically."""
    path, src = entry["path"], entry["src"]
    kind = _kind(path)
    if kind not in ("absent", "link"):
        module.fail_json(msg=f"{path} exists and is a {kind}, not a link; remove it first")
    before = os.readlink(path) if kind == "link" else None
    if before == src:
        return None
    if not module.check_mode:
        _make_dirs(module, os.path.dirname(path))
        staging = f"{path}.flaskfleet-tmp"
        if os.path.lexists(staging):
            os.unlink(staging)
        os.symlink(src, staging)
        os.rename(staging, path)
    return {
        "before": {"path": path, "state": kind, "src": before or ""},
        "after": {"path": path, "state": "link", "src": src},
    }


def _directory(module, entry):
    path = entry["path"]
    kind = _kind(path)
    if kind == "link" and os.path.isdir(path):
        kind = "directory"  # a link to a directory serves, as with ansible.builtin.file
    if kind not in ("absent", "directory"):
        module.fail_json(msg=f"{path} exists and is a {kind}, not a directory; remove it first")
    if kind == "absent":
        if not module.check_mode:
            _make_dirs(module, path)
        return {
            "before": {"path": path, "state": "absent"},
            "after": {"path": path, "state": "directory"},
        }
    return None


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _file(module, entry):
    """Write entry['content'] to entry['path'] when the bytes differ."""
    path = entry["path"]
    wanted = entry["content"].encode("utf-8")
    kind = _kind(path)
    if kind == "link" and os.path.isfile(path):
        kind = "file"  # a link to a file is written through, as ansible.builtin.copy does
    if kind not in ("absent", "file"):
        module.fail_json(msg=f"{path} exists and is a {kind}, not a file; remove it first")
    before = None
    if kind == "file":
        with open(path, "rb") as handle:
            before = _sha256(handle.read())
    after = _sha256(wanted)
    if before == after:
        return None
    if not module.check_mode:
        directory = os.path.dirname(path)
        _make_dirs(module, directory)
        descriptor, staging = tempfile.mkstemp(prefix=".flaskfleet-", dir=directory)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(wanted)
            module.atomic_move(staging, os.path.realpath(path))
        finally:
            if os.path.lexists(staging):
                os.unlink(staging)
    return {
        "before": {"path": path, "state": kind, "sha256": before or ""},
        "after": {"path": path, "state": "file", "sha256": after},
    }


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "state": {
                        "type": "str",
                        "choices": ["directory", "link", "file"],
                        "default": "directory",
                    },
                    "src": {"type": "path"},
                    "content": {"type": "str", "no_log": True},
                    "owner": {"type": "str"},
                    "group": {"type": "str"},
                    "mode": {"type": "raw"},
                },
                "required_if": [("state", "link", ["src"]), ("state", "file", ["content"])],
            },
        },
        supports_check_mode=True,
    )
    for entry in module.params["paths"]:
        if not os.path.isabs(entry["path"]):
            module.fail_json(msg=f"paths: '{entry['path']}' is not an absolute path")

    diffs = []
    changed_paths = []
    for entry in module.params["paths"]:
        path = entry["path"]
        created = WRITERS[entry["state"]](module, entry)
        mode = entry["mode"]
        if entry["state"] == "link":
            mode = None
        elif entry["state"] == "file" and mode is None and created is not None:
            mode = "0600"
        attributes = {
            "path": path,
            "owner": entry["owner"],
            "group": entry["group"],
            "mode": mode,
            "attributes": None,
            "secontext": [None, None, None],
        }
        diff = {"before": {"path": path}, "after": {"path": path}}
        if created is not None:
            diff = created
        # In check mode a path that is still absent has no attributes to compare.
        exists = os.path.lexists(path)
        changed = created is not None
        if exists:
            changed = module.set_fs_attributes_if_different(attributes, changed, diff)
        if changed:
            changed_paths.append(path)
            diffs.append(diff)

    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths, diff=diffs)


WRITERS = {"directory": _directory, "link": _link, "file": _file}


if __name__ == "__main__":
    main()
