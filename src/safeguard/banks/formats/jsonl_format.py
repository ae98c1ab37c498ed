"""JSON Lines hash lists: one object per line, one item per object (`signals` for several)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO

from safeguard.banks.formats.common import Problem, make_record
from safeguard.banks.records import ContentInfo, HashRecord


def parse(text: str, *, signal_type: str | None = None) -> Iterator[HashRecord | Problem]:
    # lines end at "\n" only: a JSON string may hold U+2028 and other characters that
    # str.splitlines() would take for line ends
    for n, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            yield (n, f"not valid JSON ({e.msg} at column {e.colno})")
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
        else:
            value = obj.get("signal_value", obj.get("signal_str"))
            pairs = [(obj.get("signal_type", signal_type), value)]
        yield make_record(
            n,
            pairs,
            external_id=obj.get("external_id"),
            source=obj.get("source", ""),
            note=obj.get("note", ""),
            tags=obj.get("tags"),
        )


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
