"""Reading the audit log: admins and auditors only, a page at a time, filtered; and what
bank and key changes write to it (one entry per operation, an import of many lines too)."""

from __future__ import annotations

import json
from pathlib import Path

from safeguard.access.people import Actor
from safeguard.audit.reader import AuditReader
from safeguard.errors import Forbidden, InvalidRequest
from safeguard.store import Database
from tests.audit.conftest import LOGGED_ACTIONS, MD5, PDQ
from tests.conftest import Cli


def _list(cli: Cli, *args: object) -> list[dict]:  # type: ignore[type-arg]
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_an_auditor_reads_the_log_and_a_moderator_cannot(logged: Cli) -> None:
    entries = _list(logged, "--user", "aud", "audit", "list")
    assert [e["action"] for e in entries] == LOGGED_ACTIONS
    assert [e["seq"] for e in entries] == list(range(1, len(LOGGED_ACTIONS) + 1))
    assert entries[0]["actor"] == "test" and entries[0]["subject"] == "user:aud"
    assert entries[0]["detail"] == {"roles": ["auditor"]}
    for command in (("audit", "list"), ("audit", "verify"), ("audit", "checkpoint")):
        refused = logged("--user", "mod", *command)
        assert refused.exit_code == 2, refused.output
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: user:mod (moderator) may not")
    assert logged("--user", "aud", "audit", "verify").exit_code == 0
    human = logged("--user", "aud", "audit", "list", "--limit", "1")
    assert human.exit_code == 0 and "user.create  user:aud  roles=['auditor']" in human.stdout


def test_paging_and_filters(logged: Cli) -> None:
    page = _list(logged, "audit", "list", "--after", "2", "--limit", "2")
    assert [e["seq"] for e in page] == [3, 4]
    keys = _list(logged, "audit", "list", "--action", "key.*")
    assert [(e["action"], e["subject"]) for e in keys] == [
        ("key.create", "key:ingest"),
        ("key.revoke", "key:ingest"),
    ]
    assert keys[0]["detail"] == {"scopes": ["match"], "rate_limit": None, "user": None}
    bank = _list(logged, "audit", "list", "--subject", "bank:known")
    assert [e["action"] for e in bank] == ["bank.create", "content.import", "bank.disable"]
    assert _list(logged, "audit", "list", "--action", "bank.create", "--by", "nobody") == []
    bad = logged("audit", "list", "--limit", "0")
    assert bad.exit_code == 2 and "limit must be 1 to 1000" in bad.stderr


def test_the_reader_checks_roles_and_arguments(logged: Cli, db_url: str) -> None:
    db = Database.open(db_url)
    try:
        auditor = Actor("user:aud", frozenset({"auditor"}), user="aud")
        assert len(AuditReader(db, auditor).entries(limit=3)) == 3
        for nobody in (Actor.service("key:ingest"), Actor("user:m", frozenset({"moderator"}))):
            try:
                AuditReader(db, nobody).entries()
            except Forbidden as e:
                assert "may not read the audit log" in e.message
            else:
                raise AssertionError(f"{nobody.name} read the audit log")
        for bad in ({"after_seq": -1}, {"limit": 1001}, {"limit": True}):
            try:
                AuditReader(db, auditor).entries(**bad)  # type: ignore[arg-type]
            except InvalidRequest:
                pass
            else:
                raise AssertionError(f"{bad} was accepted")
    finally:
        db.close()


def test_every_bank_and_key_change_is_one_audit_entry(cli: Cli, tmp_path: Path) -> None:
    assert cli("bank", "create", "known").exit_code == 0
    added = cli.json("bank", "add-hash", "known", "pdq", PDQ)
    listed = tmp_path / "list.txt"
    listed.write_text(f"md5 {MD5}\n" + "".join(f"pdq {i:064x}\n" for i in range(1, 301)))
    assert cli.json("bank", "import", "known", listed)["added"] == 301
    assert cli.json("bank", "import", "known", listed)["added"] == 0  # nothing changed
    for args in (
        ("bank", "update", "known", "--threshold", "40"),
        ("bank", "remove", "known", added["content_id"]),
        ("keys", "create", "k1", "--scope", "match"),
        ("keys", "revoke", "k1"),
        ("keys", "revoke", "k1"),  # revoked already: no change, no entry
        ("bank", "delete", "known", "--yes"),
    ):
        assert cli(*args).exit_code == 0, args
    entries = _list(cli, "audit", "list")
    assert [(e["action"], e["subject"]) for e in entries] == [
        ("bank.create", "bank:known"),
        ("content.add", "bank:known"),
        ("content.import", "bank:known"),
        ("bank.update", "bank:known"),
        ("content.remove", "bank:known"),
        ("key.create", "key:k1"),
        ("key.revoke", "key:k1"),
        ("bank.delete", "bank:known"),
    ]
    assert entries[1]["detail"]["content_id"] == added["content_id"]
    assert entries[2]["detail"]["added"] == 301
    assert entries[7]["detail"] == {"content_removed": 301}
    assert all(e["actor"] == "test" for e in entries)
