"""The OpenAPI spec is served, and schemathesis, run over the whole spec against a real
server, finds no 5xx, no undocumented status and no response that breaks the schema."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.api.conftest import Server, make_key, store_env
from tests.conftest import BACKENDS, temporary_database

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_schemathesis_over_the_whole_spec(
    backend: str, tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    with temporary_database(backend, tmp_path) as url:
        env = store_env(tmp_path / "home", url, SAFEGUARD_RATE_LIMIT="1000000")
        key = make_key(env, "fuzzer", "hash,match,curate,admin")
        server = start_server(env)
        c = server.client(key)
        # some data, so that lookups and content routes have something to find
        c.post("/c/banks", json={"name": "FUZZ"})
        c.post("/c/bank/FUZZ/signal", json={"pdq": "f" * 64})
        spec = c.get("/openapi.json").json()
        assert spec["openapi"].startswith("3.") and len(spec["paths"]) >= 25
        st = Path(sys.executable).with_name("schemathesis")
        result = subprocess.run(
            [
                str(st),
                "run",
                f"{server.url}/openapi.json",
                "-H",
                f"Authorization: Bearer {key}",
                "--checks",
                CHECKS,
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "25",
                "--seed",
                "20261123",
                # one worker: hypothesis's lambda descriptions are not thread-safe
                "--workers",
                "1",
                "--request-timeout",
                "30",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NO_COLOR": "1"},
        )
        out = result.stdout + result.stderr
        assert result.returncode == 0, out[-6000:]
        assert "passed" in out
