"""Long runs show a progress bar on a terminal and none in a pipe."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_safeguard, safeguard_exe
from tests.imagegen import tiny_images

BAR = "━"  # Rich's bar glyph


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("thousand")
    tiny_images(folder, 1000, size=64, seed=1)
    return folder


def _run_on_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal, as in an interactive shell."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [safeguard_exe(), *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", **env},
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            proc.kill()
            raise AssertionError("no output for 120 s")
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal(thousand: Path, tmp_path: Path) -> None:
    code, screen = _run_on_terminal(
        ["hash", str(thousand)], {"SAFEGUARD_HOME": str(tmp_path), "SAFEGUARD_WORKERS": "1"}
    )
    assert code == 0
    assert BAR in screen and "hashing" in screen and "/1000" in screen
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    records = [ln for ln in re.split(r"[\r\n]+", plain) if ln.startswith('{"path"')]
    assert len(records) == 1000  # records still printed, above the bar


def test_no_progress_bar_in_a_pipe(thousand: Path, tmp_path: Path) -> None:
    proc = run_safeguard(["hash", str(thousand)], {"SAFEGUARD_HOME": str(tmp_path)})
    assert proc.returncode == 0
    assert BAR not in proc.stderr and BAR not in proc.stdout and "\x1b[" not in proc.stdout
    assert proc.stderr == ""
    assert len([json.loads(x) for x in proc.stdout.splitlines()]) == 1000
