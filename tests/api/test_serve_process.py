"""`safeguard serve` as a process: what it leaves behind when it stops."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.api.conftest import Server, store_env


def test_several_workers_share_a_metrics_folder_that_goes_with_the_server(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = store_env(tmp_path / "home", f"sqlite:///{tmp_path / 'sg.db'}", TMPDIR=str(scratch))
    server = start_server(env, workers=2)
    with server.client() as c:
        assert c.get("/livez").status_code == 200
    metrics = [p for p in scratch.iterdir() if p.name.startswith("safeguard-metrics-")]
    assert len(metrics) == 1 and metrics[0].is_dir()
    server.stop()  # SIGTERM, as a service manager sends
    assert server.proc.returncode is not None
    assert list(scratch.iterdir()) == []
