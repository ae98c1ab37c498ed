"""What `safeguard bank export` cannot carry (local features) it says, in words and in `--json`;
re-adding the files brings crop matching back; empty lists are refused (both stores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import Cli

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _local_banks(cli: Cli, path: Path) -> set[str]:
    [line] = cli.lines("match", path)
    return {m["bank"] for m in line["matches"] if m["signal_type"] == "local"}


def test_export_warns_about_local_features(
    cli: Cli, train_images: list[Path], tmp_path: Path
) -> None:
    listed = train_images[5:7]
    cli("bank", "create", "known")
    assert cli("bank", "add", "known", *listed).exit_code == 0
    cli("bank", "add-hash", "known", "pdq", PDQ)
    for fmt in ("jsonl", "csv", "txt"):
        out = tmp_path / f"known.{fmt}"
        result = cli("bank", "export", "known", "-o", out, "--json")  # format from the name
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary == {
            "bank": "known",
            "format": fmt,
            "items": 3,
            "local_features_not_exported": 2,
            "warnings": summary["warnings"],
            "output": str(out),
        }
        [warning] = summary["warnings"]
        assert "2 of 3 item(s) have local features" in warning and "bank add" in warning
        assert "warning: 2 of 3 item(s)" in result.stderr
    # to stdout: the list alone on stdout, the summary on stderr (in words, or as JSON)
    human = cli("bank", "export", "known", "--format", "csv")
    assert human.stdout.startswith("signal_type,") and len(human.stdout.splitlines()) == 1 + 7
    assert "exported 3 item(s) from known" in human.stderr
    assert "warning: 2 of 3 item(s) have local features" in human.stderr
    as_json = cli("bank", "export", "known", "--json")
    assert len([json.loads(x) for x in as_json.stdout.splitlines()]) == 3
    assert json.loads(as_json.stderr)["local_features_not_exported"] == 2

    # a bank imported from the list matches crops again once the files are added back
    with Image.open(listed[0]) as im:
        w, h = im.size
        crop = tmp_path / "crop.jpg"
        im.convert("RGB").crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(crop)
    cli("bank", "create", "copy")
    assert cli.json("bank", "import", "copy", tmp_path / "known.csv")["added"] == 3
    assert _local_banks(cli, crop) == {"known"}
    readded = cli.lines("bank", "add", "copy", *listed, "--json")
    assert [r["created"] for r in readded] == [False, False]
    assert _local_banks(cli, crop) == {"known", "copy"}
    assert (
        cli.json("bank", "export", "copy", "-o", tmp_path / "copy.jsonl")[
            "local_features_not_exported"
        ]
        == 2
    )
    # a bank without local features has nothing to warn about
    cli("bank", "create", "hashes-only")
    cli("bank", "import", "hashes-only", tmp_path / "known.txt")
    quiet = cli("bank", "export", "hashes-only", "-o", tmp_path / "h.txt")
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty.csv", ""),
        ("header.csv", "signal_type,signal_value,external_id\n"),
        ("comments.txt", "# nothing listed yet\n\n"),
        ("blank.jsonl", "\n  \n"),
    ],
)
def test_empty_import_is_an_error(cli: Cli, tmp_path: Path, name: str, text: str) -> None:
    cli("bank", "create", "known")
    path = tmp_path / name
    path.write_text(text)
    result = cli("bank", "import", "known", path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"error: {path}: no hash-list entries" in result.stderr
    as_json = cli("bank", "import", "known", path, "--json")
    assert as_json.exit_code == 2
    error = json.loads(as_json.stdout)
    assert error["error_code"] == "empty_hash_list" and "nothing was imported" in error["error"]
    assert cli.json("bank", "show", "known")["content_count"] == 0


def test_import_errors_as_json(cli: Cli, tmp_path: Path) -> None:
    cli("bank", "create", "known")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"pdq,{PDQ}\npdq,12\nmd5,zz\n")
    result = cli("bank", "import", "known", bad, "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["error_code"] == "invalid_hash_list"
    assert [p["line"] for p in error["problems"]] == [2, 3]
    assert "line 2" in result.stderr
    missing = cli("bank", "import", "nope", bad, "--json")
    assert missing.exit_code == 2 and json.loads(missing.stdout)["error_code"] == "bank_not_found"
    unknown = cli("bank", "export", "known", "--format", "xml", "-o", tmp_path / "x", "--json")
    assert unknown.exit_code == 2 and "unknown format" in json.loads(unknown.stdout)["error"]
    assert not list(tmp_path.glob("x*"))  # no file, and no .partial left behind
