"""Signed checkpoints: the key kept outside the database (0600), one checkpoint per new
head in the database and in the checkpoints file, the worker's periodic task, and a key
that is missing, open to others or public only."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from safeguard.access.people import Actor, UserService
from safeguard.audit.checkpoints import checkpoint, checkpoint_task
from safeguard.audit.verify import verify
from safeguard.config import Settings
from safeguard.errors import ConfigError, FileProblem, Forbidden
from safeguard.store import Database
from tests.audit.conftest import LOGGED_ACTIONS
from tests.conftest import Cli

N = len(LOGGED_ACTIONS)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_checkpoints_are_signed_once_per_head_and_kept_outside_the_database(
    logged: Cli, home: Path
) -> None:
    first = logged.json("audit", "checkpoint")
    key = home / "keys" / "audit-signing.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert b"BEGIN PRIVATE KEY" in key.read_bytes()  # PEM, PKCS8
    file = home / "audit" / "checkpoints.jsonl"
    assert _lines(file) == [first]
    assert first["seq"] == N and len(str(first["signature"])) == 128
    # the head has not moved: the same checkpoint, nothing written
    assert logged.json("audit", "checkpoint") == first
    assert len(_lines(file)) == 1
    assert logged("users", "add", "another", "--role", "moderator").exit_code == 0
    second = logged.json("audit", "checkpoint")
    assert second["seq"] == N + 1 and second["key_id"] == first["key_id"]
    assert _lines(file) == [first, second]
    human = logged("audit", "checkpoint")
    assert human.exit_code == 0 and f"(entry {N + 1})" in human.stdout


def test_the_key_file_can_be_set_and_an_empty_log_is_not_signed(cli: Cli, tmp_path: Path) -> None:
    key = tmp_path / "elsewhere" / "audit.pem"
    cli.env["SAFEGUARD_AUDIT_KEY_FILE"] = str(key)
    empty = cli("audit", "checkpoint")
    assert empty.exit_code == 2 and "empty" in empty.stderr and "Traceback" not in empty.output
    assert cli("users", "add", "aud", "--role", "auditor").exit_code == 0
    assert cli.json("audit", "checkpoint")["seq"] == 1
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_the_worker_task_checkpoints_a_log_that_moved(
    db_url: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFEGUARD_AUDIT_KEY_FILE", raising=False)
    settings = Settings.from_env().with_(home=home, database_url=db_url, actor="test")
    task = checkpoint_task(settings)
    now = datetime.now(UTC)
    task(now)  # an empty log: nothing to sign, no key made
    assert not (home / "keys").exists()
    db = Database.open(db_url)
    try:
        users = UserService(db, Actor.operator("test"))
        users.create("a", ["auditor"])
        task(now)
        task(now)
        users.create("b", ["moderator"])
        task(now)
        assert [c["seq"] for c in _lines(home / "audit" / "checkpoints.jsonl")] == [1, 2]
        report = verify(db, settings)
        assert (report.ok, report.checkpoints, report.signed_through) == (True, 2, 2)
        # a user who may not read the audit log may neither verify nor sign it
        moderator = Actor("user:m", frozenset({"moderator"}), user="m")
        with pytest.raises(Forbidden, match="may not verify the audit log"):
            verify(db, settings, actor=moderator)
        with pytest.raises(Forbidden, match="may not checkpoint the audit log"):
            checkpoint(db, settings, actor=moderator)
    finally:
        db.close()


def test_a_key_open_to_others_missing_or_public_only(
    db_url: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFEGUARD_AUDIT_KEY_FILE", raising=False)
    settings = Settings.from_env().with_(home=home, database_url=db_url, actor="test")
    db = Database.open(db_url)
    try:
        UserService(db, Actor.operator("test")).create("a", ["auditor"])
        checkpoint(db, settings)
        key = home / "keys" / "audit-signing.pem"
        private = key.read_bytes()
        key.chmod(0o644)
        with pytest.raises(ConfigError, match="open to other users"):
            checkpoint(db, settings)
        # an auditor's copy holds the public key only: it verifies, it cannot sign
        public = serialization.load_pem_private_key(private, None).public_key()
        key.write_bytes(
            public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        assert verify(db, settings).ok
        UserService(db, Actor.operator("test")).create("b", ["auditor"])
        with pytest.raises(ConfigError, match="only a public key"):
            checkpoint(db, settings)
        key.unlink()
        report = verify(db, settings)
        assert not report.ok and "no audit signing key" in str(report.reason)
        with pytest.raises(FileProblem, match="no such checkpoints file"):
            verify(db, settings, extra_checkpoints=home / "absent.jsonl")
    finally:
        db.close()
