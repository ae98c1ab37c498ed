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
from safeguard.rules.default import DEFAULT_TEXT
from tests.api.conftest import ALL_SCOPES, Server, make_key, store_env
from tests.conftest import Cli, run_safeguard
from tests.events.helpers import drain


def ok(env: dict[str, str], *args: object) -> str:
    """Run a command in this process (the test of a bad setting below runs one as its own)."""
    result = Cli(env)(*args)
    assert result.exit_code == 0, result.output
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


PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _listed(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    """A store whose bank `listed` holds PDQ (external id L-9), and its environment."""
    env = store_env(tmp_path / "home", db_url, **extra)
    listing = tmp_path / "list.csv"
    listing.write_text(f"signal_type,signal_value,external_id\npdq,{PDQ},L-9\n")
    ok(env, "bank", "create", "listed")
    ok(env, "bank", "import", "listed", listing)
    return env


# PostgreSQL: the recorder's COPY path (the CLI test above covers both stores)
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_http_matches_are_recorded_and_can_be_switched_off(db_url: str, tmp_path: Path) -> None:
    env = _listed(tmp_path, db_url)
    admin = make_key(env, "admin", ALL_SCOPES)
    matcher = make_key(env, "matcher", "match")
    server = Server(env)
    try:
        with server.client(matcher) as c:
            near = f"{int(PDQ, 16) ^ 0b111:064x}"  # 3 bits away
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
            assert c.get("/v1/match", params={"pdq": PDQ}).json()["matched"]
    finally:
        off.stop()
    with open_store(env) as sg:
        assert len(recorded(sg)) == 1
    bad = run_safeguard(["bank", "list"], {**env, "SAFEGUARD_RECORD_MATCHES": "maybe"})
    assert bad.returncode == 2 and "SAFEGUARD_RECORD_MATCHES must be 1 or 0" in bad.stderr
    assert json.loads(ok(env, "bank", "show", "listed", "--json"))["content_count"] == 1


# the default rule set and, after it, a rule that counts reports on the account
REPORTS_RULE = (
    DEFAULT_TEXT
    + """\
  - name: block-known-reported
    when:
      kind: upload
      match: {}
      reports: {at_least: 1, within: 1h}
    then:
      verdict: block
"""
)


def _recorded_over_http(server: Server, admin: str, at_least: int) -> list[dict[str, object]]:
    """The match records, read once `at_least` are there and again a second later (so that
    one too many would show)."""
    with server.client(admin) as c:
        deadline, settled = time.monotonic() + 10, None
        while time.monotonic() < (settled or deadline):
            changes = c.get("/v1/changes", params={"after": 0, "limit": 1000}).json()
            rows = [r for r in changes["items"] if r["action"] == MATCH_RECORDED]
            if len(rows) >= at_least and settled is None:
                settled = time.monotonic() + 1
            time.sleep(0.1)
    return rows


def test_an_upload_event_over_http_records_its_match_once(db_url: str, tmp_path: Path) -> None:
    """The events route judges on the event loop when it can and else on a thread; either
    way each matching upload is one lookup, recorded once: when the loop gives up after
    matching (the second event, more than the flood pause list's cache time after the first,
    finds its matched item cached but not the list; a rule counts reports)."""
    env = _listed(tmp_path, db_url, SAFEGUARD_WORKERS="1")
    admin = make_key(env, "admin", ALL_SCOPES)
    submitter = make_key(env, "submitter", "events")
    server = Server(env)
    try:
        with server.client(submitter) as c:
            for n, account in enumerate(["a-1", "a-2"]):
                time.sleep(1.5 * n)
                event = {"kind": "upload", "account_id": account, "hashes": {"pdq": PDQ}}
                answer = c.post("/v1/events", json={"events": [event]})
                assert answer.status_code == 200, answer.text
                assert answer.json()["verdicts"][0]["verdict"] == "hold", n
        rows = _recorded_over_http(server, admin, 2)
        assert [r["actor"] for r in rows] == ["key:submitter"] * 2, rows
    finally:
        server.stop()

    # a rule that counts reports: the loop gives up on the event after matching it (the
    # second: the first is judged on a thread, its matched item not yet cached)
    rules = tmp_path / "rules.yaml"
    rules.write_text(REPORTS_RULE)
    ok(env, "rules", "apply", rules)
    server = Server(env)
    try:
        with server.client(submitter) as c:
            for account in ["a-3", "a-4"]:
                event = {"kind": "upload", "account_id": account, "hashes": {"pdq": PDQ}}
                answer = c.post("/v1/events", json={"events": [event]})
                assert answer.json()["verdicts"][0]["rules"] == ["default-known-match"], answer.text
        assert len(_recorded_over_http(server, admin, 4)) == 4
    finally:
        server.stop()
