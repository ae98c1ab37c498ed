"""Names are matched whole (a final newline is not part of a valid name), over HTTP and the
CLI; an export's `Content-Disposition` is a valid header whatever the bank's name holds."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from safeguard.store import Bank
from safeguard.store.database import normalize_url
from safeguard.store.models import utcnow
from tests.api.conftest import Deployment
from tests.conftest import run_safeguard

BAD_NAMES = ["X\n", "X\r\n", "\nX", "X\nY", "X\x00", "X ", ""]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_http_refuses_names_that_are_not_whole(
    deployment: Deployment, bank_name: str, bad: str
) -> None:
    c = deployment.client()
    name = bank_name + bad if bad else ""
    r = c.post("/v1/banks", json={"name": name})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request", r.text
    assert "invalid bank name" in r.json()["message"]
    assert c.post("/v1/banks", json={"name": bank_name}).status_code == 201
    r = c.patch(f"/v1/banks/{bank_name}", json={"name": name})
    assert r.status_code == 400 and "invalid bank name" in r.json()["message"], r.text
    assert c.get(f"/v1/banks/{bank_name}").json()["name"] == bank_name
    # HMA's face checks its own (stricter) pattern in full too
    assert c.post("/c/banks", json={"name": name}).status_code == 400
    key = f"k-{uuid.uuid4().hex[:8]}{bad}" if bad else ""
    r = c.post("/v1/keys", json={"name": key, "scopes": ["hash"]})
    assert r.status_code == 400 and "invalid key name" in r.json()["message"], r.text
    names = [b["name"] for b in c.get("/v1/banks").json()]
    assert not [n for n in names if n.strip() != n or "\x00" in n]


def test_cli_refuses_a_name_ending_in_a_newline(deployment: Deployment, bank_name: str) -> None:
    env = deployment.env
    for args in (
        ["bank", "create", bank_name + "\n"],
        ["keys", "create", f"k-{uuid.uuid4().hex[:8]}\n", "--scope", "hash"],
    ):
        result = run_safeguard(args, env)
        assert result.returncode != 0, (args, result.stdout)
        assert "invalid" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert run_safeguard(["bank", "create", bank_name], env).returncode == 0
    result = run_safeguard(["bank", "rename", bank_name, bank_name + "\n"], env)
    assert result.returncode != 0 and "invalid bank name" in result.stderr, result.stderr
    assert run_safeguard(["bank", "show", bank_name], env).returncode == 0


def store_bank(deployment: Deployment, name: str) -> None:
    """A bank as an older version could store it (its name was not matched whole)."""
    engine = create_engine(normalize_url(deployment.env["SAFEGUARD_DATABASE_URL"]))
    try:
        with Session(engine) as s, s.begin():
            now = utcnow()
            s.add(Bank(name=name, created_at=now, created_by="old", updated_at=now))
    finally:
        engine.dispose()


def test_export_header_is_valid_for_any_stored_name(deployment: Deployment) -> None:
    c = deployment.client()
    name = f"OLD_{uuid.uuid4().hex[:8]}\n"
    store_bank(deployment, name)
    r = c.get(f"/v1/banks/{quote(name)}/export", params={"format": "csv"})
    assert r.status_code == 200, r.text
    base = name.strip()
    assert r.headers["content-disposition"] == (
        f"attachment; filename=\"{base}_.csv\"; filename*=UTF-8''{base}%0A.csv"
    )
    # the bank can be removed by its exact name
    assert c.delete(f"/v1/banks/{quote(name)}").status_code == 204


def test_export_header_of_an_ordinary_name(deployment: Deployment, bank_name: str) -> None:
    c = deployment.client()
    name = bank_name + "-v1.2"
    assert c.post("/v1/banks", json={"name": name}).status_code == 201
    r = c.get(f"/v1/banks/{name}/export")
    assert r.status_code == 200 and r.text == ""
    assert r.headers["content-disposition"] == (
        f"attachment; filename=\"{name}.jsonl\"; filename*=UTF-8''{name}.jsonl"
    )
