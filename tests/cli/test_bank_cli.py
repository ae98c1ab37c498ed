"""Bank curation through the `safeguard bank` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _bank(cli, name: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return cli.json("bank", "show", name)


def test_bank_lifecycle(cli) -> None:  # type: ignore[no-untyped-def]
    created = cli.json("bank", "create", "known", "--threshold", "25")
    assert created["name"] == "known" and created["pdq_threshold"] == 25
    assert cli.json("bank", "create", "fps", "--negative")["negative"] is True
    assert [b["name"] for b in cli.json("bank", "list")] == ["fps", "known"]
    assert cli.json("bank", "rename", "known", "listed")["name"] == "listed"
    assert cli.json("bank", "disable", "listed")["enabled"] is False
    assert cli.json("bank", "enable", "listed")["enabled"] is True
    assert cli.json("bank", "update", "listed", "--threshold", "40")["pdq_threshold"] == 40
    human = cli("bank", "list")
    assert human.exit_code == 0 and "listed" in human.stdout and "negative" in human.stdout
    added = cli.json("bank", "add-hash", "listed", "pdq", PDQ, "--external-id", "E1")
    assert added["created"] is True
    # deleting a bank with content needs --yes; nothing is deleted without it
    refused = cli("bank", "delete", "listed")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert _bank(cli, "listed")["content_count"] == 1
    assert cli.json("bank", "delete", "listed", "--yes")["content_removed"] == 1
    assert [b["name"] for b in cli.json("bank", "list")] == ["fps"]


def test_add_files_with_provenance(cli, train_images: list[Path]) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "known")
    rows = cli.lines(
        "bank",
        "add",
        "known",
        *train_images[:3],
        "--json",
        "--source",
        "hotline",
        "--note",
        "stand-ins",
        "--tag",
        "t1",
        "--tag",
        "t2",
    )
    assert [r["path"] for r in rows] == [str(p) for p in train_images[:3]]
    assert all(r["created"] and r["content_id"] for r in rows)
    again = cli.lines("bank", "add", "known", train_images[0], "--json")
    assert again[0]["content_id"] == rows[0]["content_id"] and again[0]["created"] is False
    items = cli.lines("bank", "content", "known", "--json")
    assert len(items) == 3
    assert items[0]["source"] == "hotline" and items[0]["tags"] == ["t1", "t2"]
    assert items[0]["added_by"] == "test" and items[0]["added_at"]
    assert set(items[0]["signals"]) == {"md5", "pdq", "sha256"}
    removed = cli("bank", "remove", "known", rows[1]["content_id"])
    assert removed.exit_code == 0
    assert _bank(cli, "known")["content_count"] == 2


def test_import_is_validated_atomic_and_idempotent(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "known")
    good = tmp_path / "list.csv"
    good.write_text(f"signal_type,signal_value,external_id\npdq,{PDQ},A\nmd5,{MD5},B\n")
    first = cli.json("bank", "import", "known", good)
    assert (first["lines"], first["added"], first["already_present"]) == (2, 2, 0)
    second = cli.json("bank", "import", "known", good)
    assert (second["added"], second["already_present"]) == (0, 2)
    bad = tmp_path / "bad.jsonl"
    new_pdq = "0" * 63 + "1"
    bad.write_text(
        json.dumps({"signal_type": "pdq", "signal_value": new_pdq})
        + "\n"
        + json.dumps({"signal_type": "pdq", "signal_value": "12"})
        + "\n"
        + "not json\n"
    )
    result = cli("bank", "import", "known", bad)
    assert result.exit_code == 2
    assert "line 2" in result.stderr and "line 3" in result.stderr
    assert "nothing was imported" in result.stderr and "Traceback" not in result.output
    assert _bank(cli, "known")["content_count"] == 2  # the valid first line was not added
    txt = tmp_path / "list.txt"
    txt.write_text(f"# comment\npdq {new_pdq}\nvideo_md5 {MD5}\n")
    assert cli.json("bank", "import", "known", txt)["added"] == 1


def test_export_formats(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "known")
    cli("bank", "add-hash", "known", "pdq", PDQ, "--external-id", "A", "--tag", "x")
    out = tmp_path / "out.csv"
    assert cli("bank", "export", "known", "-o", out, "--format", "csv").exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("signal_type,signal_value,external_id")
    assert lines[1].startswith(f"pdq,{PDQ},A")
    jsonl = cli("bank", "export", "known")
    (record,) = [json.loads(x) for x in jsonl.stdout.splitlines()]
    assert record["signals"] == {"pdq": PDQ} and record["tags"] == ["x"]
    # the export imports into another bank unchanged
    cli("bank", "create", "copy")
    src = tmp_path / "known.jsonl"
    src.write_text(jsonl.stdout)
    assert cli.json("bank", "import", "copy", src)["added"] == 1


def test_user_errors_are_one_line_and_write_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "known")
    cases = [
        (("bank", "create", "known"), "already exists"),
        (("bank", "create", "other", "--threshold", "500"), "between 0 and 128"),
        (("bank", "create", "bad name"), "invalid bank name"),
        (("bank", "show", "missing"), "no bank named 'missing'"),
        (("bank", "add-hash", "missing", "pdq", PDQ), "no bank named"),
        (("bank", "add-hash", "known", "pdq", PDQ[:10]), "64 hex characters"),
        (("bank", "add-hash", "known", "phash", PDQ), "unknown signal type"),
        (("bank", "import", "missing", tmp_path / "x.csv"), "no bank named"),
        (("bank", "import", "known", tmp_path / "absent.csv"), "no such file"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.output
    assert [b["name"] for b in cli.json("bank", "list")] == ["known"]
    assert _bank(cli, "known")["content_count"] == 0
