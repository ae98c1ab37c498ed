"""Several workers share a platform's keep-alive connections: a pool of connections opened
at once is spread over the workers, not left on the first one awake (api/server.py,
TakeTurns), even while one of them is busy. Real processes; which worker holds a
connection is read from /proc."""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.api.conftest import Server
from tests.api.test_lifecycle import banked_env, worker_pids

POOL = 8


def owners(port: int, clients: list[socket.socket], workers: set[int]) -> Counter[int]:
    """How many of `clients` (connected to `port`) each worker process holds."""
    ours = {c.getsockname()[1] for c in clients}
    inodes: dict[str, int] = {}  # the socket inode of each server-side connection of ours
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
            if local == port and remote in ours:
                inodes[fields[9]] = remote
    held: Counter[int] = Counter()
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held[pid] += 1
    return held


def open_pool(port: int, answered: bool = True) -> list[socket.socket]:
    """POOL keep-alive connections opened at once (as a client's pool opens them: all
    started before any is answered), each with one request answered."""
    clients = [socket.socket() for _ in range(POOL)]
    for c in clients:
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
    for c in clients:
        select.select([], [c], [], 10)
        c.setblocking(True)
        c.settimeout(10)
    return answer(clients) if answered else clients


def answer(clients: list[socket.socket]) -> list[socket.socket]:
    """`clients` once each has had one request answered."""
    for c in clients:
        c.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
    for c in clients:
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
    return clients


def test_a_pool_of_keep_alive_connections_is_spread_over_the_workers(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    server = start_server(banked_env(tmp_path, 10, SAFEGUARD_DRAIN_SECONDS="0"), workers=2)
    port = int(server.url.rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while len(workers := worker_pids(server.proc.pid)) < 2:
        assert time.monotonic() < deadline, "two workers did not start"
        time.sleep(0.1)
    # until both workers have loaded their index, one of them takes every connection
    while True:
        clients = open_pool(port)
        held = owners(port, clients, workers)
        for c in clients:
            c.close()
        if len(held) == 2:
            break
        assert time.monotonic() < deadline, f"one worker never took a connection: {held}"
        time.sleep(0.2)
    seen = []
    for trial in range(4):
        time.sleep(0.2)  # the closed pool's connections are gone from the workers
        # the pool arrives while one worker is busy (here: stopped for a moment): the
        # other stands back instead of taking every connection, so the busy one gets its
        # share when it comes back
        busy = sorted(workers)[trial % 2]
        os.kill(busy, signal.SIGSTOP)
        try:
            clients = open_pool(port, answered=False)
            time.sleep(0.015)
        finally:
            os.kill(busy, signal.SIGCONT)
        answer(clients)
        held = owners(port, clients, workers)
        for c in clients:
            c.close()
        assert sum(held.values()) == POOL, held
        seen.append(held[busy])
    assert min(seen) >= POOL // 4, f"connections the busy worker got, of {POOL}: {seen}"
