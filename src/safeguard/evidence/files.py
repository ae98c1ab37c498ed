"""Evidence files on disk: private (mode 0600 in a 0700 directory), written atomically
(a temporary file, fsync, rename over, fsync of the directory), named by a random id.

A record's path is relative to the evidence directory and must look like one this module
made (`ab/ab…32 hex….sgev`): a path from the database never leaves the directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from safeguard.errors import FileProblem

SUFFIX = ".sgev"
_RELATIVE = re.compile(r"([0-9a-f]{2})/(\1[0-9a-f]{30})\.sgev")


def new_file_id() -> str:
    """A random file id (128 bits, hex)."""
    return secrets.token_hex(16)


def relative_path(file_id: str) -> str:
    return f"{file_id[:2]}/{file_id}{SUFFIX}"


def file_id_of(relative: str) -> str:
    """The file id in a record's relative path; FileProblem if it is not one of ours."""
    m = _RELATIVE.fullmatch(relative)
    if not m:
        raise FileProblem(f"not an evidence file path: {relative!r}", code="evidence_unreadable")
    return m.group(2)


def locate(directory: Path, relative: str) -> Path:
    file_id_of(relative)  # refuses anything that could leave the directory
    return directory / relative


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, readable by this user only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _sync_dir(path.parent)


def remove(path: Path) -> bool:
    """Delete the file; False when it was already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    _sync_dir(path.parent)
    return True


def _sync_dir(directory: Path) -> None:
    """Make a rename or removal in `directory` durable (where the platform allows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
