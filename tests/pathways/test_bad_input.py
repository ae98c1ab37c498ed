"""Bad files give one clear line naming file, row and column; exit 2; nothing scored."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_safeguard

ACCOUNTS = """account_id,created_at,age_band,country
a1,2024-01-01T00:00:00Z,adult,GB
k1,2023-06-01T00:00:00Z,13_15,GB
k2,2023-06-01T00:00:00Z,under_13,
"""
EVENTS = """ts,kind,actor,target
2025-03-01T10:00:00Z,contact_request,a1,k1
2025-03-01T10:05:00Z,message,a1,k2
2025-03-01T11:00:00Z,contact_accept,k1,a1
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def score(cli, accounts: Path, events: Path):  # type: ignore[no-untyped-def]
    return cli("pathways", "score", "--accounts", accounts, "--events", events, "--json")


def assert_error(result, *parts: str) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: ")
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in line, line
    return line


def test_good_input_scores(cli, tmp_path: Path) -> None:
    r = score(cli, write(tmp_path, "a.csv", ACCOUNTS), write(tmp_path, "e.csv", EVENTS))
    assert r.exit_code == 0, r.output
    assert [x["account_id"] for x in json.loads(r.stdout)] == ["a1"]


def test_missing_column(cli, tmp_path: Path) -> None:
    ev = write(tmp_path, "e.csv", EVENTS.replace("ts,kind", "time,kind"))
    assert_error(score(cli, write(tmp_path, "a.csv", ACCOUNTS), ev), "e.csv", "'ts'")


def test_unparseable_timestamp_names_row_and_column(cli, tmp_path: Path) -> None:
    bad = EVENTS.replace("2025-03-01T10:05:00Z", "yesterday at noon")
    line = assert_error(
        score(cli, write(tmp_path, "a.csv", ACCOUNTS), write(tmp_path, "e.csv", bad)),
        "e.csv",
        "row 2 (line 3)",
        "column 'ts'",
        "yesterday at noon",
    )
    assert "nothing was scored" in line


def test_bad_created_at(cli, tmp_path: Path) -> None:
    bad = ACCOUNTS.replace("2023-06-01T00:00:00Z,under_13", "2023-13-45,under_13")
    assert_error(
        score(cli, write(tmp_path, "a.csv", bad), write(tmp_path, "e.csv", EVENTS)),
        "a.csv",
        "row 3 (line 4)",
        "column 'created_at'",
    )


def test_unknown_account(cli, tmp_path: Path) -> None:
    bad = EVENTS + "2025-03-01T12:00:00Z,message,a1,ghost\n"
    assert_error(
        score(cli, write(tmp_path, "a.csv", ACCOUNTS), write(tmp_path, "e.csv", bad)),
        "row 4 (line 5)",
        "column 'target'",
        "'ghost'",
    )


def test_duplicate_account_id(cli, tmp_path: Path) -> None:
    bad = ACCOUNTS + "k1,2023-06-01T00:00:00Z,16_17,GB\n"
    assert_error(
        score(cli, write(tmp_path, "a.csv", bad), write(tmp_path, "e.csv", EVENTS)),
        "a.csv",
        "row 4 (line 5)",
        "column 'account_id'",
        "duplicate",
        "first at row 2",
    )


def test_bad_age_band_and_country(cli, tmp_path: Path) -> None:
    ev = write(tmp_path, "e.csv", EVENTS)
    bad = ACCOUNTS.replace("13_15,GB", "teen,GB")
    assert_error(score(cli, write(tmp_path, "a.csv", bad), ev), "row 2", "column 'age_band'")
    bad = ACCOUNTS.replace("adult,GB", "adult,Britain")
    assert_error(score(cli, write(tmp_path, "b.csv", bad), ev), "row 1", "column 'country'")


def test_files_swapped(cli, tmp_path: Path) -> None:
    a, e = write(tmp_path, "a.csv", ACCOUNTS), write(tmp_path, "e.csv", EVENTS)
    assert_error(score(cli, e, a), "e.csv", "looks like an events file")


def test_binary_and_empty_files(cli, tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", ACCOUNTS)
    png = tmp_path / "e.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert_error(score(cli, a, png), "e.csv", "not a CSV, JSON Lines or Parquet")
    assert_error(score(cli, a, write(tmp_path, "empty.csv", "")), "empty.csv", "empty")
    assert_error(score(cli, a, tmp_path / "nope.csv"), "nope.csv", "no such file")


def test_ragged_csv_row(cli, tmp_path: Path) -> None:
    bad = EVENTS + "2025-03-01T12:00:00Z,message,a1\n"
    assert_error(
        score(cli, write(tmp_path, "a.csv", ACCOUNTS), write(tmp_path, "e.csv", bad)),
        "e.csv",
        "row 4 (line 5)",
        "expected 4 fields, found 3",
    )


def test_bad_json_line(cli, tmp_path: Path) -> None:
    lines = [
        json.dumps(dict(zip(("ts", "kind", "actor", "target"), r.split(","), strict=True)))
        for r in EVENTS.splitlines()[1:]
    ]
    lines.insert(1, '{"ts": "2025-03-01T10:00:00Z", "kind": ')
    assert_error(
        score(
            cli, write(tmp_path, "a.csv", ACCOUNTS), write(tmp_path, "e.jsonl", "\n".join(lines))
        ),
        "e.jsonl",
        "row 2",
        "invalid JSON",
    )


def test_truncated_parquet(cli, tmp_path: Path) -> None:
    df = pl.read_csv(write(tmp_path, "e.csv", EVENTS))
    full = tmp_path / "e.parquet"
    df.write_parquet(full)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert_error(score(cli, write(tmp_path, "a.csv", ACCOUNTS), cut), "cut.parquet", "Parquet")


def test_unknown_kinds_are_counted_not_fatal(cli, tmp_path: Path) -> None:
    ev = EVENTS + "2025-03-01T12:00:00Z,video_call,a1,k1\n2025-03-01T12:01:00Z,video_call,a1,k2\n"
    r = score(cli, write(tmp_path, "a.csv", ACCOUNTS), write(tmp_path, "e.csv", ev))
    assert r.exit_code == 0, r.output
    assert "skipped 2 event(s) of unknown kind" in r.stderr and "video_call" in r.stderr
    assert len(json.loads(r.stdout)) == 1


def test_same_scores_from_csv_jsonl_parquet_and_offsets(cli, tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", ACCOUNTS)
    csv = write(tmp_path, "e.csv", EVENTS)
    df = pl.read_csv(csv)
    df.write_ndjson(tmp_path / "e.jsonl")
    df.with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ")).write_parquet(
        tmp_path / "e.parquet"
    )
    # the same instants written with a +02:00 offset
    shifted = EVENTS.replace("T10:00:00Z", "T12:00:00+02:00").replace(
        "T11:00:00Z", "T13:00:00+02:00"
    )
    off = write(tmp_path, "off.csv", shifted)
    outs = [
        json.loads(score(cli, a, p).stdout)
        for p in (csv, tmp_path / "e.jsonl", tmp_path / "e.parquet", off)
    ]
    assert all(o == outs[0] for o in outs)


@pytest.mark.slow
def test_real_process_prints_one_line(tmp_path: Path, home: Path) -> None:
    a = write(tmp_path, "a.csv", ACCOUNTS)
    e = write(tmp_path, "e.csv", EVENTS.replace("a1,k2", "a1,"))
    r = run_safeguard(
        ["pathways", "score", "--accounts", str(a), "--events", str(e), "--json"],
        {"SAFEGUARD_HOME": str(home)},
    )
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.strip().count("\n") == 0
    assert "row 2" in r.stderr and "column 'target'" in r.stderr and "empty value" in r.stderr
