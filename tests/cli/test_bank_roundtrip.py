"""Every hash-list format round-trips through `safeguard bank export` and `bank import`: random
banks of multi-signal items with awkward provenance come back as the same items (both stores)."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import Cli

LENGTHS = {"md5": 32, "sha256": 64, "pdq": 64}
AWKWARD = [",", '"', "'", " ", "  ", "\t", "\n", "\r\n", "\r", ";", "[", "]", "#", "&", "=", "?"]
AWKWARD += ["%", "+", "\\", "é", "漢字", "🙂", "\u2028", "\x85", "\xa0", "item?", "pdq "]
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.lists(st.sampled_from(AWKWARD) | st.text(CHARS, max_size=4), max_size=6).map("".join)
ITEM = st.fixed_dictionaries(
    {
        "types": st.sets(st.sampled_from(sorted(LENGTHS)), min_size=1),
        "external_id": st.none() | TEXT,
        "source": TEXT,
        "note": TEXT,
        "tags": st.lists(TEXT, max_size=4),
    }
)
_names = itertools.count()


def _value(kind: str, n: int, salt: int) -> str:
    """A valid value, different for every item (random values shrink to equal zeros)."""
    return hashlib.sha256(f"{kind}/{n}/{salt}".encode()).hexdigest()[: LENGTHS[kind]]


def _items(cli: Cli, bank: str) -> list[tuple[object, ...]]:
    result = cli("bank", "content", bank, "--limit", "0", "--json")
    assert result.exit_code == 0, result.output
    # JSON Lines end at "\n" only (a note may hold U+2028, which splitlines() splits at)
    rows = [json.loads(line) for line in result.stdout.split("\n") if line]
    return sorted(
        (sorted(r["signals"].items()), r["external_id"], r["source"], r["note"], r["tags"])
        for r in rows
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "txt"])
@settings(  # each example runs seven commands: a few examples, no shrinking (too slow)
    max_examples=6,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=st.lists(ITEM, min_size=1, max_size=8), salt=st.integers(0, 2**32))
def test_export_then_import_gives_the_same_items(
    cli: Cli,
    tmp_path: Path,
    fmt: str,
    items: list[dict],
    salt: int,  # type: ignore[type-arg]
) -> None:
    n = next(_names)
    src, dst = f"src{n}", f"dst{n}"
    setup = tmp_path / f"setup{n}.jsonl"
    with setup.open("w", encoding="utf-8") as fh:
        for i, item in enumerate(items):
            signals = {t: _value(t, i, salt) for t in sorted(item["types"])}
            fields = {k: item[k] for k in ("external_id", "source", "note", "tags")}
            fh.write(json.dumps({"signals": signals, **fields}) + "\n")
    assert cli("bank", "create", src).exit_code == 0
    assert cli("bank", "create", dst).exit_code == 0
    assert cli("bank", "import", src, setup).exit_code == 0
    expected = sorted(
        (
            sorted((t, _value(t, i, salt)) for t in item["types"]),
            (item["external_id"] or "").strip() or None,
            item["source"].strip() or setup.name,  # an item with no source gets the file's name
            item["note"].strip(),
            [t.strip() for t in item["tags"] if t.strip()],
        )
        for i, item in enumerate(items)
    )
    assert _items(cli, src) == expected

    listed = tmp_path / f"list{n}.{fmt}"
    exported = cli("bank", "export", src, "-o", listed, "--json")
    assert exported.exit_code == 0, exported.output
    summary = json.loads(exported.stdout)
    assert summary["items"] == len(items) and summary["format"] == fmt
    assert summary["local_features_not_exported"] == 0 and summary["warnings"] == []
    imported = cli("bank", "import", dst, listed, "--json")
    assert imported.exit_code == 0, (imported.output, listed.read_text(encoding="utf-8"))
    assert json.loads(imported.stdout)["added"] == len(items)
    assert _items(cli, dst) == expected, listed.read_text(encoding="utf-8")
