"""The README's first command on a bare clone: `git clone` into an empty folder (nothing beside
it, no SAFEGUARD_* settings), then `make demo`, as a new user would. Slow (it builds a virtual
environment with the base install); it tests what is committed, not the working tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int) -> str:
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, (
        f"{' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_make_demo_on_a_bare_clone(tmp_path: Path) -> None:
    if not (REPO / ".git").exists():
        pytest.fail("the repository has no .git: this test clones it")
    empty = tmp_path / "empty"
    empty.mkdir()
    home = tmp_path / "user"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),  # no per-user safeguard data, no pip configuration of ours
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
        # pip may reuse downloads already on this machine; it changes nothing that is installed
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
    }
    _run(["git", "clone", "--quiet", str(REPO), "x"], empty, env, 120)
    clone = empty / "x"
    assert sorted(p.name for p in empty.iterdir()) == ["x"]  # nothing beside the clone
    out = _run(["make", "demo"], clone, env, 1200)
    table = " ".join(out.split())
    assert "never banked │ 0 │ 128" in table, out[-3000:]
    assert "every edited copy matched its original; no unseen photo matched" in table
    # the demo installs the base package only: no Spark, no web server
    python = str(clone / ".venv" / "bin" / "python")
    for module in ("pyspark", "fastapi", "matplotlib", "sklearn", "pytest"):
        proc = subprocess.run([python, "-c", f"import {module}"], capture_output=True, env=env)
        assert proc.returncode != 0, f"{module} is installed by make demo"
    serve = subprocess.run(
        [str(clone / ".venv" / "bin" / "safeguard"), "serve"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert serve.returncode == 2
    assert "needs safeguard's 'server' extra" in serve.stderr and "pip install" in serve.stderr
    # the demo cleaned up after itself
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("safeguard-")] == []
