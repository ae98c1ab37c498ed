"""`safeguard pathways explain` through the CLI, and reasons for every flagged account over a
whole population: a high score always says what raised it."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import Cli


def _roles(d: Path) -> dict[str, str]:
    return dict(pl.read_csv(d / "truth.csv").select("account_id", "role").iter_rows())


def _explain(cli: Cli, d: Path, account: str, *extra: str):  # type: ignore[no-untyped-def]
    return cli(
        "pathways",
        "explain",
        account,
        "--accounts",
        d / "accounts.csv",
        "--events",
        d / "events.csv",
        *extra,
    )


def test_explain_shows_the_evidence_behind_the_features(cli: Cli, small_files: Path) -> None:
    roles = _roles(small_files)
    for offender in (a for a, r in roles.items() if r.startswith("offender")):
        r = _explain(cli, small_files, offender, "--json")
        assert r.exit_code == 0, r.output
        e = json.loads(r.stdout)
        if e["flagged"]:
            break
    assert e["account_id"] == offender and e["flagged"] and e["reasons"]
    assert all(x["text"] and x["plain_words"] for x in e["reasons"])
    features = {f["name"]: f for f in e["features"]}
    contacts = e["contacts"]
    # the evidence adds up to the features it explains
    reached = [c for c in contacts if c["requests"] or c["messages_sent"] or c["handle_sent_at"]]
    assert len(reached) == features["minors_contacted"]["value"]
    handed = [c for c in contacts if c["handle_sent_at"]]
    assert len(handed) == features["off_platform_minors"]["value"]
    blocked = [c for c in contacts if c["blocked_at"]]
    assert len(blocked) == features["minors_blocking"]["value"]
    first = [c for c in contacts if c["account_moved_first"]]
    assert len(first) >= features["minors_initiated"]["value"]
    written = [c["messages_sent"] for c in contacts if c["messages_sent"]]
    silent = [
        c["messages_sent"] for c in contacts if c["messages_sent"] and not c["messages_received"]
    ]
    assert features["unanswered_persistence"]["value"] == max(silent, default=0)
    assert features["favourite_ratio"]["value"] == pytest.approx(
        max(written) / statistics.median(written)
    )
    assert features["favourite_messages"]["value"] == max(written)
    assert features["favourite_share"]["value"] == pytest.approx(max(written) / sum(written))
    assert features["closest_exchange"]["value"] == max(
        min(c["messages_sent"], c["messages_received"]) for c in contacts if c["messages_sent"]
    )
    quiet = sum(c["quiet_hours_messages"] for c in contacts)
    assert 0 < quiet < sum(written)
    assert features["quiet_hours_share"]["value"] == pytest.approx(quiet / sum(written))
    assert any(f["beyond"] for f in e["features"])
    # and the text form says the same in words
    text = _explain(cli, small_files, offender)
    assert text.exit_code == 0, text.output
    assert offender in text.stdout and "FLAGGED" in text.stdout and "Reasons:" in text.stdout
    assert e["reasons"][0]["code"] in text.stdout


def test_explain_a_benign_adult_and_bad_accounts(cli: Cli, small_files: Path) -> None:
    roles = _roles(small_files)
    teacher = next(a for a, r in roles.items() if r == "teacher")
    r = _explain(cli, small_files, teacher, "--json")
    assert r.exit_code == 0, r.output
    e = json.loads(r.stdout)
    assert not e["flagged"] and e["contacts"]
    r = _explain(cli, small_files, "no-such-account")
    assert r.exit_code == 2 and "no account 'no-such-account'" in r.stderr
    bands = pl.read_csv(small_files / "accounts.csv").filter(pl.col("age_band") == "under_13")
    child = bands["account_id"][0]
    r = _explain(cli, small_files, child)
    assert r.exit_code == 2 and "declared under_13: only accounts declaring" in r.stderr


def test_no_flagged_account_has_an_empty_reason_list(cli: Cli, small_files: Path) -> None:
    # a threshold far below the model's flags benign adults too: each must say why
    r = cli(
        "pathways",
        "score",
        "--accounts",
        small_files / "accounts.csv",
        "--events",
        small_files / "events.csv",
        "--threshold",
        "0.0000001",
        "--json",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    flagged = [x for x in rows if x["flagged"]]
    roles = _roles(small_files)
    assert len(flagged) > 50
    assert any(not roles[x["account_id"]].startswith("offender") for x in flagged)
    for x in flagged:
        assert x["reasons"], x
        assert all(reason["code"] and reason["text"] for reason in x["reasons"])


def test_explain_names_persistence_and_singled_out_children(cli: Cli, tmp_path: Path) -> None:
    """The two rules on how an account spreads its messages, in words, through the CLI."""
    from tests.pathways.test_features import SPREAD_ACCOUNTS, SPREAD_EVENTS

    pl.DataFrame(
        SPREAD_ACCOUNTS, schema=["account_id", "created_at", "age_band", "country"], orient="row"
    ).write_csv(tmp_path / "accounts.csv")
    pl.DataFrame(SPREAD_EVENTS, schema=["ts", "kind", "actor", "target"], orient="row").write_csv(
        tmp_path / "events.csv"
    )
    r = _explain(cli, tmp_path, "S", "--json")
    assert r.exit_code == 0, r.output
    reasons = {x["code"]: x["text"] for x in json.loads(r.stdout)["reasons"]}
    assert reasons["PERSISTS_WITHOUT_REPLY"] == ("sent 12 messages to a minor who never wrote back")
    assert "6.0 times as often" in reasons["SINGLED_OUT_MINORS"]
    assert "of the 5 they approached" in reasons["SINGLED_OUT_MINORS"]
