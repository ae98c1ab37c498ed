"""`safeguard bank add` banks images only: other files in a directory are skipped and reported,
a named one or a corrupt image is an error and is not banked, unless `--any-file` (both stores)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import Cli


@pytest.fixture
def mixed(tmp_path: Path, train_images: list[Path]) -> Path:
    d = tmp_path / "listed"
    (d / "nested").mkdir(parents=True)
    shutil.copy(train_images[0], d / "a.jpg")
    shutil.copy(train_images[1], d / "nested" / "b.jpg")
    (d / "readme.txt").write_text("how these files were collected\n")
    (d / "nested" / "notes.jpg").write_text("a text file with an image's name\n")
    (d / "truncated.jpg").write_bytes(train_images[2].read_bytes()[:4000])
    (d / "empty.jpg").write_bytes(b"")
    return d


def _rows(cli: Cli, *args: object) -> tuple[int, dict[str, dict], str]:  # type: ignore[type-arg]
    result = cli("bank", "add", *args, "--json")
    assert "Traceback" not in result.output
    rows = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    return result.exit_code, rows, result.stderr


def _matched(cli: Cli, path: Path) -> list[str]:
    [line] = cli.lines("match", path)
    return [m["signal_type"] for m in line["matches"]]


def test_directory_of_mixed_files(cli: Cli, mixed: Path) -> None:
    cli("bank", "create", "known")
    code, rows, stderr = _rows(cli, "known", mixed)
    assert code == 1  # the truncated and the empty file are errors
    assert set(rows) == {"a.jpg", "b.jpg", "readme.txt", "notes.jpg", "truncated.jpg", "empty.jpg"}
    for name in ("a.jpg", "b.jpg"):
        assert rows[name]["created"] is True and rows[name]["signals"] == ["md5", "pdq", "sha256"]
    for name in ("readme.txt", "notes.jpg"):  # judged by content, not by name
        assert rows[name]["skipped"] is True and rows[name]["reason_code"] == "not_an_image"
        assert rows[name]["reason"] and "content_id" not in rows[name] and "error" not in rows[name]
        assert f"skipped: {mixed}" in stderr and name in stderr
    assert rows["truncated.jpg"]["error_code"] == "corrupt_image"
    assert "not banked" in rows["truncated.jpg"]["error"]
    assert rows["empty.jpg"]["error_code"] == "empty_file"
    assert not any("content_id" in rows[n] for n in ("truncated.jpg", "empty.jpg"))
    assert "known: 2 added, 0 already present, 2 skipped (not images), 2 error(s)" in stderr
    assert cli.json("bank", "show", "known")["content_count"] == 2
    # the text file is not in the bank: an upload of it matches nothing
    assert _matched(cli, mixed / "readme.txt") == []
    assert _matched(cli, mixed / "truncated.jpg") == []

    # named on the command line, a non-image file is refused, not skipped
    code, rows, stderr = _rows(cli, "known", mixed / "readme.txt")
    assert code == 1 and rows["readme.txt"]["error_code"] == "not_an_image"
    assert "--any-file" in rows["readme.txt"]["error"] and "content_id" not in rows["readme.txt"]
    # human output: the same report, one line per file on stderr
    human = cli("bank", "add", "known", mixed)
    assert human.exit_code == 1
    assert "already present" in human.stdout and "readme.txt" not in human.stdout
    assert "skipped:" in human.stderr and "error:" in human.stderr
    assert cli.json("bank", "show", "known")["content_count"] == 2


def test_any_file_banks_other_files_by_their_digests(cli: Cli, mixed: Path) -> None:
    cli("bank", "create", "files")
    code, rows, stderr = _rows(cli, "files", mixed, "--any-file")
    assert code == 1  # the truncated image is still reported, and the empty file is an error
    for name in ("readme.txt", "notes.jpg"):
        assert rows[name]["created"] is True and rows[name]["digest_only"] is True
        assert rows[name]["signals"] == ["md5", "sha256"] and "error" not in rows[name]
    truncated = rows["truncated.jpg"]
    assert truncated["created"] is True and truncated["digest_only"] is True
    assert truncated["error_code"] == "corrupt_image"
    assert rows["empty.jpg"]["error_code"] == "empty_file" and "content_id" not in rows["empty.jpg"]
    assert "files: 5 added, 0 already present, 0 skipped (not images), 2 error(s)" in stderr
    assert set(_matched(cli, mixed / "readme.txt")) == {"md5", "sha256"}
    # with nothing wrong (files already present, a named text file with --any-file): exit 0
    code, rows, _ = _rows(
        cli, "files", mixed / "nested" / "b.jpg", mixed / "readme.txt", "--any-file"
    )
    assert code == 0 and {r["created"] for r in rows.values()} == {False}
