"""The word index for large banks of local features (index/words.py), chosen with
SAFEGUARD_LOCAL_INDEX, through `safeguard match`: crops, mirrored crops and rotated copies of
banked photos match their bank, never-banked photos match nothing, and a bad choice is a
clear error."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from tests.conftest import Cli


def _local_matches(cli: Cli, path: Path) -> list[dict[str, object]]:
    result = cli("match", path, "--json")
    assert result.exit_code == 0, result.output
    import json

    [line] = [json.loads(x) for x in result.stdout.splitlines() if x.strip()]
    return [m for m in line["matches"] if m["signal_type"] == "local"]


def test_match_through_the_word_index(
    cli: Cli,
    small_vocabulary: Path,
    train_images: list[Path],
    val_images: list[Path],
    tmp_path: Path,
) -> None:
    cli.env.update(SAFEGUARD_LOCAL_INDEX="words", SAFEGUARD_VOCABULARY=str(small_vocabulary))
    cli("bank", "create", "known")
    added = cli.lines("bank", "add", "known", *train_images[:8], "--json")
    ids = {str(p): r["content_id"] for p, r in zip(train_images[:8], added, strict=True)}
    copies = {}
    for n, p in enumerate(train_images[:2]):
        with Image.open(p) as im:
            im = im.convert("RGB")
            w, h = im.size
            edits = {
                "crop": im.crop((w // 10, h // 10, w - w // 10, h - h // 10)),
                "mirrored-crop": ImageOps.mirror(im).crop((0, 0, w - w // 8, h - h // 8)),
                "rotated": im.rotate(10, expand=True),
            }
        for name, edited in edits.items():
            out = tmp_path / f"{n}-{name}.jpg"
            edited.save(out, quality=85)
            copies[out] = ids[str(p)]
    for copy, content_id in copies.items():
        found = _local_matches(cli, copy)
        assert [m["content_id"] for m in found] == [content_id], copy.name
        assert found[0]["bank"] == "known"
    for never in val_images[:3]:
        assert _local_matches(cli, never) == [], never.name

    cli.env["SAFEGUARD_LOCAL_INDEX"] = "fastest"
    bad = cli("match", next(iter(copies)), "--json")
    assert bad.exit_code != 0
    assert "SAFEGUARD_LOCAL_INDEX must be auto, words or features" in bad.output
    assert "Traceback" not in bad.output
