"""A real `safeguard serve` process (uvicorn on a free loopback port) for the API tests.

`server` is one process per backend for the whole module, with an all-scopes admin key;
tests use their own bank names, so they do not disturb each other. `start_server` starts
extra processes with their own settings (replicas, small limits, URL fetching).
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, Cli, safeguard_exe, temporary_database

ALL_SCOPES = "hash,match,curate,events,review,audit,admin,exchange"
#: one TLS context for every test client: httpx builds one per client otherwise, loading the
#: CA bundle each time (tens of ms of CPU; the suite makes thousands of clients, all speaking
#: plain HTTP to loopback)
TLS = ssl.create_default_context()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # the server's output goes to a file: a pipe nobody reads would block it once full
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [safeguard_exe(), "serve", "--port", str(self.port), "--workers", str(workers)],
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=self.url, timeout=1, verify=TLS) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.output()}")
                try:
                    if probe.get("/status").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not become ready within 60 s")

    def output(self) -> str:
        """What the server has printed so far."""
        self.log.seek(0)
        return self.log.read()

    def client(self, token: str | None = None, source: str | None = None) -> httpx.Client:
        """A client with `token` as its key, connecting from the loopback address `source`
        (127.0.0.N: the server sees each as a client of its own) when given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = httpx.HTTPTransport(verify=TLS, local_address=source)
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, transport=transport)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def make_key(env: dict[str, str], name: str, scopes: str, *extra: str) -> str:
    """A new API key, made through the CLI (in this process: the tests that need the
    command as a real process run it so themselves)."""
    made = Cli(env).json("keys", "create", name, "--scope", scopes, *extra)
    assert isinstance(made, dict)
    return str(made["key"])


class Deployment:
    """One store with a running server and an admin key."""

    def __init__(self, env: dict[str, str], backend: str) -> None:
        self.env = env
        self.backend = backend
        self.admin_key = make_key(env, "admin", ALL_SCOPES)
        self.server = Server(env)

    def client(self, token: str | None = None) -> httpx.Client:
        return self.server.client(self.admin_key if token is None else token)

    def key(self, scopes: str, rate_limit: int | None = None) -> str:
        """A new key, made through the admin API."""
        body = {"name": f"k-{uuid.uuid4().hex[:8]}", "scopes": scopes.split(",")}
        if rate_limit is not None:
            body["rate_limit"] = rate_limit
        r = self.client().post("/v1/keys", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["key"])


def store_env(home: Path, url: str, **extra: str) -> dict[str, str]:
    return {
        "SAFEGUARD_HOME": str(home),
        "SAFEGUARD_DATABASE_URL": url,
        "SAFEGUARD_ACTOR": "test",
        "SAFEGUARD_SYNC_INTERVAL": "0.1",
        "SAFEGUARD_DRAIN_SECONDS": "0",  # stop at once (test_lifecycle.py tests the drain)
        **extra,
    }


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("api")
    with temporary_database(request.param, tmp) as url:
        dep = Deployment(store_env(tmp / "home", url), request.param)
        try:
            yield dep
        finally:
            dep.server.stop()


@pytest.fixture
def start_server(
    tmp_path: Path,
) -> Iterator[Callable[..., Server]]:
    """Start servers on a store of the test's own: start_server(env, workers=1)."""
    started: list[Server] = []

    def start(env: dict[str, str], workers: int = 1) -> Server:
        s = Server(env, workers)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def bank_name() -> str:
    return f"B_{uuid.uuid4().hex[:10].upper()}"
