"""`safeguard db info / upgrade` through the CLI, with --json, on every backend."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli

VERSIONS = Path(__file__).resolve().parents[2] / "src/safeguard/store/migrations/versions"


def newest_revision() -> str:
    """The head revision as the migration files name it (files are numbered 0001_...)."""
    newest = max(p.name for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    return newest.split("_", 1)[0]


def test_upgrade_reports_what_it_did(cli: Cli) -> None:
    head = newest_revision()
    first = cli("db", "upgrade", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["revision"] == head and data["upgraded"] is True
    assert data["from_revision"] != head
    again = cli.json("db", "upgrade")
    assert again == {"from_revision": head, "revision": head, "upgraded": False}
    plain = cli("db", "upgrade")
    assert plain.exit_code == 0 and f"already at revision {head}" in plain.stdout
    info = cli.json("db", "info")
    assert info["revision"] == info["latest_revision"] == head  # type: ignore[index]
