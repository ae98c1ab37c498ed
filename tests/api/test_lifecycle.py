"""The server's lifecycle with real processes: SIGTERM drains without dropping a request,
and a worker restarted after a crash takes no lookup before its index is loaded."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.api.conftest import TLS, Server, make_key, store_env
from tests.conftest import run_safeguard

# a fast machine sends more than the default 6000 requests a minute: not what is tested
UNLIMITED = ("--rate-limit", "1000000000")
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def banked_env(tmp_path: Path, size: int, **extra: str) -> dict[str, str]:
    """A SQLite store with one bank of `size` random PDQ hashes plus PDQ."""
    env = store_env(tmp_path / "home", f"sqlite:///{tmp_path / 'sg.db'}", **extra)
    rng = random.Random(size)
    hashes = [PDQ] + [f"{rng.getrandbits(256):064x}" for _ in range(size - 1)]
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"pdq {h}\n" for h in hashes))
    for args in (["bank", "create", "known"], ["bank", "import", "known", str(listing)]):
        result = run_safeguard(args, env)
        assert result.returncode == 0, result.stderr
    return env


class LookupStream:
    """Threads sending `GET /v1/match?pdq=PDQ` back to back, each recording every outcome:
    (time, status, matched, retry-after) or (time, exception class name)."""

    def __init__(self, server: Server, key: str, threads: int, keep_alive: bool) -> None:
        self.outcomes: list[tuple] = []
        self.stop = threading.Event()
        limits = httpx.Limits(max_keepalive_connections=1 if keep_alive else 0)
        self.threads = [
            threading.Thread(target=self._run, args=(server, key, limits), daemon=True)
            for _ in range(threads)
        ]
        self.keep_alive = keep_alive
        for t in self.threads:
            t.start()

    def _run(self, server: Server, key: str, limits: httpx.Limits) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(
            base_url=server.url, headers=headers, limits=limits, timeout=30, verify=TLS
        ) as c:
            while not self.stop.is_set():
                try:
                    r = c.get("/v1/match", params={"pdq": PDQ})
                except httpx.ConnectError as e:
                    self.outcomes.append((time.monotonic(), type(e).__name__))
                    if self.keep_alive:
                        return  # refused after the drain: the stream is over
                    time.sleep(0.01)
                    continue
                except httpx.HTTPError as e:
                    self.outcomes.append((time.monotonic(), type(e).__name__))
                    continue
                matched = r.status_code == 200 and r.json()["matched"]
                self.outcomes.append(
                    (time.monotonic(), r.status_code, matched, r.headers.get("retry-after"))
                )

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=40)


def test_sigterm_drains_a_steady_stream_without_dropping_a_request(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    env = banked_env(tmp_path, 1000, SAFEGUARD_DRAIN_SECONDS="2", SAFEGUARD_DRAIN_TIMEOUT="10")
    key = make_key(env, "match", "match", *UNLIMITED)
    server = start_server(env)
    stream = LookupStream(server, key, threads=3, keep_alive=True)
    time.sleep(1.0)
    sent_term = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    probes: list[tuple[float, int, str]] = []
    while server.proc.poll() is None and time.monotonic() - sent_term < 30:
        try:
            r = httpx.get(server.url + "/readyz", timeout=5, verify=TLS)
            probes.append((time.monotonic() - sent_term, r.status_code, r.text))
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    assert server.proc.wait(timeout=30) == 0
    stream.finish()

    answered = [o for o in stream.outcomes if len(o) == 4]
    failed = [o for o in stream.outcomes if len(o) == 2]
    # every request that reached the server was answered, and rightly
    assert all(status == 200 and matched for _, status, matched, _ in answered), answered[-5:]
    assert {name for _, name in failed} <= {"ConnectError"}, failed
    # the server went on answering through the drain, and said it was draining
    during = [t for t, *_ in answered if t - sent_term > 1.0]
    assert len(during) > 10
    assert probes and probes[0][1:] == (503, "DRAINING"), probes[:3]
    assert all(status == 503 for _, status, _ in probes)
    # each connection was refused only once the drain was over
    assert all(t - sent_term > 1.9 for t, _ in failed)


def worker_pids(supervisor: int) -> set[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    pids = set()
    for pid in map(int, children):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            pids.add(pid)
    return pids


def test_a_restarted_worker_takes_no_lookup_before_its_index_is_loaded(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    env = banked_env(tmp_path, 30_000, SAFEGUARD_DRAIN_SECONDS="0")
    key = make_key(env, "match", "match", *UNLIMITED)
    server = start_server(env, workers=2)
    deadline = time.monotonic() + 30
    while len(workers := worker_pids(server.proc.pid)) < 2:
        assert time.monotonic() < deadline, "two workers did not start"
        time.sleep(0.1)
    # a new connection for every request, so the kernel hands them to both workers
    stream = LookupStream(server, key, threads=2, keep_alive=False)
    probes: list[int] = []
    time.sleep(0.5)
    victim = min(workers)
    killed = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    replaced = None
    while time.monotonic() - killed < 15:
        probes.append(httpx.get(server.url + "/readyz", timeout=10, verify=TLS).status_code)
        now = worker_pids(server.proc.pid)
        if replaced is None and len(now) == 2 and victim not in now:
            replaced = time.monotonic()
        if replaced is not None and time.monotonic() - replaced > 4:
            break  # the replacement has had time to load and to take requests
        time.sleep(0.05)
    stream.finish()
    assert replaced is not None, "the killed worker was not replaced"

    answered = [o for o in stream.outcomes if len(o) == 4]
    failed = [o for o in stream.outcomes if len(o) == 2]
    # no lookup was answered 503 (or wrongly) by a worker that had no index yet
    assert all(status == 200 and matched for _, status, matched, _ in answered), [
        o for o in answered if o[1] != 200 or not o[2]
    ][:5]
    assert sum(1 for t, *_ in answered if t > replaced) > 20
    assert all(p == 200 for p in probes), probes
    # only requests caught on the killed worker itself went unanswered
    assert all(t - killed < 1.0 for t, _ in failed), failed
