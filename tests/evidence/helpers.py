"""Helpers of the evidence tests: a case row, the audit log, a sealed file, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from safeguard.store import Database
from safeguard.store.audit_tables import AuditEntry
from safeguard.store.review_tables import Case
from tests.conftest import Cli


def open_case(db: Database, account: str = "acct-1") -> int:
    """A new open child-safety case (what a rule opens when an upload matches)."""
    with db.transaction() as s:
        case = Case(account_id=account, state="open", child_safety=True, reason="manual")
        s.add(case)
        s.flush()
        return case.id


def audit_rows(db: Database, action: str) -> list[AuditEntry]:
    with db.transaction() as s:
        q = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        return list(s.scalars(q))


def sealed_file(home: Path, info: dict[str, object]) -> Path:
    return home / "evidence" / str(info["path"])


def refused(result: Any) -> str:
    """The one-line error of a refused command (exit 2, no traceback)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def preserve(cli: Cli, case: int, path: Path) -> dict[str, object]:
    info = cli.json("evidence", "preserve", case, path)
    assert isinstance(info, dict)
    return info
