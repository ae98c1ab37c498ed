"""Each server worker's faiss (OpenMP) threads get their share of the cores
(api/server.py `share_cores`): with every worker's threads on every core, a multi-worker
start that builds a word index took ten times as long. An OMP_NUM_THREADS the operator set
wins. Real `safeguard serve` processes; what each worker started with is read from /proc."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.api.conftest import Server
from tests.api.test_lifecycle import banked_env, worker_pids


def _omp(pid: int) -> str | None:
    for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        if item.startswith(b"OMP_NUM_THREADS="):
            return item.split(b"=", 1)[1].decode()
    return None


@pytest.mark.parametrize("operator", [None, "3"])
def test_each_worker_gets_its_share_of_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operator: str | None
) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = banked_env(tmp_path, 10)
    if operator is not None:
        env["OMP_NUM_THREADS"] = operator
    server = Server(env, workers=2)
    try:
        pids = worker_pids(server.proc.pid)
        assert len(pids) == 2
        share = str(max(1, len(os.sched_getaffinity(0)) // 2))
        assert {_omp(pid) for pid in pids} == {operator or share}
    finally:
        server.stop()
