"""Every match made through a face (the CLI, HTTP) becomes a `match.recorded` event, with who
asked; a subscription reads them; SAFEGUARD_RECORD_MATCHES=0 turns them off."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from safeguard import Safeguard
from safeguard.config import Settings
from safeguard.events import MATCH_RECORDED, Subscription
from tests.api.conftest import ALL_SCOPES, Server, make_key, store_env
from tests.conftest import run_safeguard
from tests.events.helpers import drain


def ok(env: dict[str, str], *args: object) -> str:
    result = run_safeguard([str(a) for a in args], env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def open_store(env: dict[str, str]) -> Safeguard:
    settings = Settings.from_env(
        home=env["SAFEGUARD_HOME"], database_url=env["SAFEGUARD_DATABASE_URL"], actor="reader"
    )
    return Safeguard.open(settings.with_(record_matches=False))


def recorded(sg: Safeguard) -> list:  # type: ignore[type-arg]
    return [c for c in sg.changes(0, 1000) if c.action == MATCH_RECORDED]


def test_cli_matches_are_recorded_with_who_asked(
    db_url: str, tmp_path: Path, train_images: list[Path], val_images: list[Path]
) -> None:
    env = store_env(tmp_path / "home", db_url, SAFEGUARD_WORKERS="1")
    ok(env, "bank", "create", "known")
    ok(env, "bank", "add", "known", train_images[0], "--external-id", "E-1")
    with open_store(env) as sg:
        sub = Subscription(sg.db, "reviews", actions=(MATCH_RECORDED,))
        drain(sub)  # from now on
    ok(env, "match", train_images[0], val_images[0])
    with open_store(env) as sg:
        rows = recorded(sg)
        # one record per matching signal of the one matching file; none for the other
        assert rows and {r.bank_name for r in rows} == {"known"}
        assert {r.actor for r in rows} == {"test"}
        assert {r.detail["source"] for r in rows} == {"cli"}
        assert {r.detail["external_id"] for r in rows} == {"E-1"}
        assert {"pdq", "md5", "sha256"} <= {r.detail["signal_type"] for r in rows}
        content = {r.content_id for r in rows}
        assert len(content) == 1
        sub = Subscription(sg.db, "reviews", actions=(MATCH_RECORDED,))
        assert [r.id for r in drain(sub)] == [r.id for r in rows]


# PostgreSQL: the recorder's COPY path (the CLI test above covers both stores)
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_http_matches_are_recorded_and_can_be_switched_off(db_url: str, tmp_path: Path) -> None:
    pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    env = store_env(tmp_path / "home", db_url)
    listing = tmp_path / "list.csv"
    listing.write_text(f"signal_type,signal_value,external_id\npdq,{pdq},L-9\n")
    ok(env, "bank", "create", "listed")
    ok(env, "bank", "import", "listed", listing)
    admin = make_key(env, "admin", ALL_SCOPES)
    matcher = make_key(env, "matcher", "match")
    server = Server(env)
    try:
        with server.client(matcher) as c:
            near = f"{int(pdq, 16) ^ 0b111:064x}"  # 3 bits away
            assert c.get("/v1/match", params={"pdq": near}).json()["matched"]
            assert not c.get("/v1/match", params={"pdq": "0" * 64}).json()["matched"]
        with server.client(admin) as c:
            deadline = time.monotonic() + 10
            while True:
                changes = c.get("/v1/changes", params={"after": 0, "limit": 1000}).json()
                rows = [r for r in changes["items"] if r["action"] == MATCH_RECORDED]
                if rows or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        assert len(rows) == 1, rows
        row = rows[0]
        assert (row["actor"], row["bank_name"]) == ("key:matcher", "listed")
        assert row["detail"]["signal_type"] == "pdq" and row["detail"]["distance"] == 3
        assert row["detail"]["source"] == "http" and row["detail"]["external_id"] == "L-9"
    finally:
        server.stop()

    # switched off: lookups still answer, nothing more is written
    off = Server({**env, "SAFEGUARD_RECORD_MATCHES": "0"})
    try:
        with off.client(matcher) as c:
            assert c.get("/v1/match", params={"pdq": pdq}).json()["matched"]
    finally:
        off.stop()
    with open_store(env) as sg:
        assert len(recorded(sg)) == 1
    bad = run_safeguard(["bank", "list"], {**env, "SAFEGUARD_RECORD_MATCHES": "maybe"})
    assert bad.returncode == 2 and "SAFEGUARD_RECORD_MATCHES must be 1 or 0" in bad.stderr
    assert json.loads(ok(env, "bank", "show", "listed", "--json"))["content_count"] == 1
