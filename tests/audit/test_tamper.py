"""The audit log is tamper-evident: after real operations it verifies; every change a
database administrator makes to it behind safeguard's back is found by `safeguard audit
verify` (exit 1, the first entry found wrong and why), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, create_engine, delete, insert, select, text
from sqlalchemy.exc import DBAPIError

from safeguard.audit import signing
from safeguard.store.models import utcnow
from tests.audit.conftest import (
    CHECKPOINTS,
    LOG,
    LOGGED_ACTIONS,
    checkpoint_rows,
    edit,
    rehash_from,
    remove,
    tampered,
    verify,
)
from tests.conftest import Cli

N = len(LOGGED_ACTIONS)


def test_the_log_of_real_operations_verifies(logged: Cli) -> None:
    code, report = verify(logged)
    assert code == 0
    assert report == {
        "ok": True,
        "entries": N,
        "first_bad": None,
        "reason": None,
        "checkpoints": 0,
        "signed_through": 0,
    }
    assert logged.json("audit", "checkpoint")["seq"] == N
    code, report = verify(logged)
    assert (code, report["checkpoints"], report["signed_through"]) == (0, 1, N)
    human = logged("audit", "verify")
    assert human.exit_code == 0 and human.stdout.startswith(f"ok: {N} entries")


def test_an_empty_log_verifies(cli: Cli) -> None:
    assert verify(cli) == (
        0,
        {
            "ok": True,
            "entries": 0,
            "first_bad": None,
            "reason": None,
            "checkpoints": 0,
            "signed_through": 0,
        },
    )


def test_the_database_refuses_changes_while_its_triggers_stand(logged: Cli, db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        for statement in (
            "UPDATE audit_log SET actor = 'someone' WHERE seq = 2",
            "DELETE FROM audit_log WHERE seq = 2",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()
    assert verify(logged)[0] == 0


def test_an_edited_entry_is_found(logged: Cli, attacker: Connection) -> None:
    original = attacker.execute(select(LOG).where(LOG.c.seq == 3)).one()
    edit(attacker, 3, actor="cli:someone-else")
    tampered(logged, 3, "entry 3 was changed")
    edit(attacker, 3, actor=original.actor)
    assert verify(logged)[0] == 0  # put back exactly, it verifies again
    edit(attacker, 4, detail={**original.detail, "added": 1})
    tampered(logged, 4, "entry 4 was changed (its hash does not match its content)")


def test_a_deleted_entry_is_found(logged: Cli, attacker: Connection) -> None:
    remove(attacker, 3)
    report = tampered(logged, 3, "entry 3 is missing", "jumps from 2 to 4")
    assert report["entries"] == N - 1
    remove(attacker, 1)
    tampered(logged, 1, "entry 1 is missing", "starts at entry 2")


def test_a_truncated_tail_is_found_through_the_checkpoints_file(
    logged: Cli, attacker: Connection, home: Path, tmp_path: Path
) -> None:
    assert logged.json("audit", "checkpoint")["seq"] == N
    copy = tmp_path / "checkpoints-copy.jsonl"
    shutil.copy(home / "audit" / "checkpoints.jsonl", copy)
    # the newest entries and the checkpoint rows covering them go
    remove(attacker, N - 1, N)
    attacker.execute(delete(CHECKPOINTS))
    assert checkpoint_rows(attacker) == 0
    report = tampered(logged, N - 1, f"ends at entry {N - 2}", f"covers {N} entries", "truncated")
    assert report["entries"] == N - 2
    # no new checkpoint is signed over the cut
    refused = logged("audit", "checkpoint", "--json")
    assert refused.exit_code == 2 and "nothing was signed" in refused.stderr
    # the file in the home gone too: a copy kept elsewhere still tells
    (home / "audit" / "checkpoints.jsonl").unlink()
    code, report = verify(logged, "--checkpoints", copy)
    assert (code, report["first_bad"]) == (1, N - 1) and "truncated" in str(report["reason"])


def test_a_forged_checkpoint_is_found(logged: Cli, attacker: Connection) -> None:
    ours = logged.json("audit", "checkpoint")
    head = attacker.execute(select(LOG.c.seq, LOG.c.hash).order_by(LOG.c.seq.desc())).first()
    assert head is not None and head.seq == ours["seq"]
    forger = Ed25519PrivateKey.generate()
    row = {
        "seq": 2,
        "head_hash": head.hash,
        "signature": forger.sign(signing.message(2, head.hash)).hex(),
        "key_id": signing.key_id(forger.public_key()),
        "at": utcnow(),
    }
    attacker.execute(insert(CHECKPOINTS).values(row))
    tampered(logged, None, "(entry 2) is signed by another key", "forged")
    # one that claims this installation's key but whose signature is not its own
    attacker.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.seq == 2))
    assert verify(logged)[0] == 0
    forged = {**row, "key_id": ours["key_id"], "signature": "00" * 64}
    attacker.execute(insert(CHECKPOINTS).values(forged))
    tampered(logged, None, "(entry 2) has a bad signature")


def test_a_rewritten_chain_is_found_by_its_signed_checkpoint(
    logged: Cli, attacker: Connection
) -> None:
    """An attacker edits an entry and recomputes every hash after it: the chain is
    consistent again, but the checkpoint's signed head no longer matches."""
    assert logged.json("audit", "checkpoint")["seq"] == N
    original = attacker.execute(select(LOG).where(LOG.c.seq == 5)).one()
    edit(attacker, 5, detail={**original.detail, "scopes": ["admin"]})
    rehash_from(attacker, 5)
    tampered(logged, N, "rewritten between entries 1 and 7", "differs from the one signed")


def test_a_malformed_checkpoints_file_is_reported(logged: Cli, home: Path) -> None:
    assert logged.json("audit", "checkpoint")["seq"] == N
    with (home / "audit" / "checkpoints.jsonl").open("a") as f:
        f.write(json.dumps({"seq": "seven"}) + "\n")
    tampered(logged, None, "line 2 is not a checkpoint")
