"""The OpenAPI spec is served, and schemathesis, run over the whole spec against a real
server, finds no 5xx, no undocumented status, no response that breaks the schema, and a
spec exactly as strict as the server: what it allows is accepted, what it forbids refused
(exceptions, each with its reason, in schemathesis.toml), and `Allow` names its methods."""

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
        "response_headers_conformance",
        "positive_data_acceptance",  # "valid request rejected"
        "negative_data_rejection",  # "invalid request accepted"
        "missing_required_header",
        "unsupported_method",  # 405 with `Allow` for a method the spec does not list
        "allow_header_conformance",  # `Allow` lists exactly the spec's methods
    ]
)
CONFIG = Path(__file__).with_name("schemathesis.toml")
#: the random fuzzing finds what the routes do wrong whatever the store, so it runs once; on
#: PostgreSQL the coverage phase's boundary values (the longest strings, the largest
#: numbers, the characters a column refuses) are what find what that store refuses
PHASES = {"sqlite": "examples,coverage,fuzzing", "postgresql": "examples,coverage"}


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
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.url}/openapi.json",
                "-H",
                f"Authorization: Bearer {key}",
                "--checks",
                CHECKS,
                "--phases",
                PHASES[backend],
                "--max-examples",
                "15",
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
