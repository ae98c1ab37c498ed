"""Matching through `safeguard match`: the first-hour acceptance run, hash lists, negative banks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import PHOTOS_PER_SPLIT
from tests.imagegen import edited_copies


def test_banked_photos_match_their_edited_copies_and_unseen_match_nothing(  # type: ignore[no-untyped-def]
    cli, train_images: list[Path], val_images: list[Path], tmp_path: Path
) -> None:
    n = len(train_images)
    assert n == len(val_images) == PHOTOS_PER_SPLIT
    cli("bank", "create", "known")
    train_dir = train_images[0].parent
    added = cli.lines("bank", "add", "known", train_dir, "--json")
    assert len(added) == n and all(r.get("content_id") for r in added)
    content_of = {Path(r["path"]).stem: r["content_id"] for r in added}
    copies = edited_copies(train_images, tmp_path / "copies")
    result = cli("match", tmp_path / "copies", "--json")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(rows) == 2 * n
    for row in rows:
        original = Path(row["path"]).stem.rsplit("-", 1)[0]
        pdq_hits = {m["content_id"] for m in row["matches"] if m["signal_type"] == "pdq"}
        assert content_of[original] in pdq_hits, row
        for m in row["matches"]:
            assert set(m) == {
                "bank",
                "content_id",
                "signal_type",
                "distance",
                "external_id",
                "variant",
            }
            assert m["bank"] == "known" and 0 <= m["distance"] <= 31
    assert {len(v) for v in copies.values()} == {n}
    unseen = cli.lines("match", val_images[0].parent, "--json")
    assert len(unseen) == n
    assert [r["path"] for r in unseen if r["matches"]] == []


def test_match_hash_list(cli, tmp_path: Path, train_images: list[Path]) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "known")
    (row,) = cli.lines("bank", "add", "known", train_images[0], "--json")
    hashed = cli.lines("hash", train_images[0])[0]
    queries = tmp_path / "q.txt"
    other = "0" * 64
    queries.write_text(f"pdq {hashed['pdq']}\nmd5 {hashed['md5']}\npdq {other}\n")
    out = cli.lines("match", "--hashes", queries, "--json")
    assert [(r["signal_type"], r["hash"], r["line"]) for r in out] == [
        ("pdq", hashed["pdq"], 1),
        ("md5", hashed["md5"], 2),
        ("pdq", other, 3),
    ]
    assert [m["content_id"] for m in out[0]["matches"]] == [row["content_id"]]
    assert out[0]["matches"][0]["distance"] == 0
    assert [m["signal_type"] for m in out[1]["matches"]] == ["md5"]
    assert out[2]["matches"] == []
    stdin = cli("match", "--hashes", "-", "--json", input=f"pdq {hashed['pdq']}\n")
    assert json.loads(stdin.stdout)["matches"][0]["content_id"] == row["content_id"]
    bad = cli("match", "--hashes", "-", input="pdq 123\n")
    assert bad.exit_code == 2 and "line 1" in bad.stderr


def test_negative_bank_through_the_cli(cli, train_images: list[Path]) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "known")
    cli("bank", "create", "benign", "--negative")
    cli("bank", "add", "known", *train_images[:2])
    cli("bank", "add", "benign", train_images[1])
    a, b = cli.lines("match", *train_images[:2])
    assert a["matches"] and not a["suppressed"]
    assert b["matches"] == [] and b["suppressed"] and b["negative_matches"]
    assert {m["bank"] for m in b["negative_matches"]} == {"benign"}
    cli("bank", "disable", "benign")
    assert cli.lines("match", train_images[1])[0]["matches"]


def test_match_needs_input(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("match")
    assert result.exit_code == 2 and "give files" in result.stderr
