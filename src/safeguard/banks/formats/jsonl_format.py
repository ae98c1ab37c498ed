"""JSON Lines hash lists: one object per line, one item per object (`signals` for several,
or a key per signal type: `{"url": ...}`, `{"md5": ..., "pdq": ...}`); a file that is one
JSON array of such objects is read too."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO

from safeguard.banks.formats.common import Problem, make_record, type_named
from safeguard.banks.records import ContentInfo, HashRecord


def parse(text: str, *, signal_type: str | None = None) -> Iterator[HashRecord | Problem]:
    for n, obj in _objects(text):
        if isinstance(obj, tuple):  # (line, problem)
            yield obj
            continue
        if not isinstance(obj, dict):
            yield (n, f"expected a JSON object, got {type(obj).__name__}")
            continue
        if "signals" in obj:
            sig = obj["signals"]
            if not isinstance(sig, dict) or not sig:
                yield (n, '"signals" must be a non-empty object of {type: value}')
                continue
            pairs = list(sig.items())
        elif "signal_type" in obj or "signal_value" in obj or "signal_str" in obj:
            value = obj.get("signal_value", obj.get("signal_str"))
            pairs = [(obj.get("signal_type", signal_type), value)]
        elif named := type_named(obj):
            pairs = [(k, obj[k]) for k in named]
        else:
            pairs = [(signal_type, None)]
        yield make_record(
            n,
            pairs,
            external_id=obj.get("external_id"),
            source=obj.get("source", ""),
            note=obj.get("note", ""),
            tags=obj.get("tags"),
        )


def _objects(text: str) -> Iterator[tuple[int, object]]:
    """(line, parsed value) of each JSON Lines line, or of each element of a file that is
    one JSON array (numbered from 1); a value that does not parse is (line, problem)."""
    if text.lstrip().startswith("["):
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as e:
            yield e.lineno, (e.lineno, f"not valid JSON ({e.msg} at column {e.colno})")
            return
        yield from enumerate(whole, start=1)
        return
    # lines end at "\n" only: a JSON string may hold U+2028 and other characters that
    # str.splitlines() would take for line ends
    for n, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            yield n, json.loads(raw)
        except json.JSONDecodeError as e:
            yield n, (n, f"not valid JSON ({e.msg} at column {e.colno})")


def write(contents: Iterable[ContentInfo], out: IO[str]) -> int:
    n = 0
    for c in contents:
        record = {
            "signals": c.signals,
            "external_id": c.external_id,
            "source": c.source,
            "note": c.note,
            "tags": c.tags,
            "content_id": c.id,
            "bank": c.bank,
            "added_at": c.added_at.isoformat(),
            "added_by": c.added_by,
        }
        out.write(json.dumps(record, sort_keys=False) + "\n")
        n += 1
    return n
