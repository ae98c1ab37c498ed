"""Plain-text hash lists: `TYPE VALUE` per line (python-threatexchange's format: the value is
the rest of the line, so a vPDQ's JSON array may hold spaces) or bare values, and `item`
blocks: one item with several signals and its provenance.

An `item` line (one word: `item`, or `item?` and URL-encoded `external_id`, `source`, `note`
and repeated `tag` fields) starts an item; the signal lines after it, up to a blank line, the
next `item` line or the end, are its signals. python-threatexchange skips one-word lines, so
it reads the signal lines of such a file as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO
from urllib.parse import parse_qsl, urlencode

from safeguard.banks.formats.common import Problem, join_items, make_record
from safeguard.banks.records import ContentInfo, HashRecord

ITEM = "item"
_FIELDS = {"external_id", "source", "note", "tag"}
# python-threatexchange's names for the digests of a file's bytes, so it can read our export
THREATEXCHANGE_NAMES = {"md5": "video_md5", "sha256": "video_sha256"}


def parse(text: str, *, signal_type: str | None = None) -> Iterator[HashRecord | Problem]:
    return join_items(_rows(text, signal_type))


def _rows(text: str, signal_type: str | None) -> Iterator[tuple[int | None, HashRecord | Problem]]:
    """(line of the item's `item` line or None, the row's record) for each signal line."""
    block: tuple[int, dict[str, object]] | None = None  # the open item: its line, provenance
    empty = False  # the open item has no signal line yet
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        is_item = line == ITEM or line.startswith(ITEM + "?")
        if block is not None and empty and (not line or is_item):
            yield None, (block[0], "`item` line with no signal lines after it")
        if not line:
            block = None
            continue
        if line.startswith("#"):
            continue
        if is_item:
            fields = _item_fields(line[len(ITEM) + 1 :])
            if isinstance(fields, str):
                yield None, (n, fields)
                block = None
            else:
                block, empty = (n, fields), True
            continue
        empty = False
        parts = line.split(None, 1)  # the value is the rest of the line, as threatexchange reads it
        if len(parts) == 1 and signal_type is None:
            yield (
                None,
                (n, "bare value with no signal type; write `TYPE VALUE` or pass --signal-type"),
            )
            continue
        pair = (signal_type, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
        provenance = block[1] if block is not None else {}
        yield (block[0] if block else None), make_record(n, [pair], **provenance)
    if block is not None and empty:
        yield None, (block[0], "`item` line with no signal lines after it")


def _item_fields(query: str) -> dict[str, object] | str:
    """The provenance of an `item?...` line, or what is wrong with it."""
    try:
        pairs = parse_qsl(
            query, keep_blank_values=True, strict_parsing=bool(query), errors="strict"
        )
    except (ValueError, UnicodeDecodeError) as e:
        return f"malformed `item` line: {e}"
    fields: dict[str, object] = {"tags": []}
    for key, value in pairs:
        if key not in _FIELDS:
            return f"unknown field {key!r} in `item` line (known: {', '.join(sorted(_FIELDS))})"
        if key == "tag":
            fields["tags"].append(value)  # type: ignore[attr-defined]
        else:
            fields[key] = value
    return fields


def write(contents: Iterable[ContentInfo], out: IO[str]) -> int:
    n = 0
    for c in contents:
        lines = [f"{THREATEXCHANGE_NAMES.get(t, t)} {v}\n" for t, v in c.signals.items()]
        fields = [
            (k, v)
            for k, v in (("external_id", c.external_id), ("source", c.source), ("note", c.note))
            if v
        ] + [("tag", t) for t in c.tags]
        if len(lines) == 1 and not fields:
            out.write(lines[0])
        else:
            query = urlencode(fields, safe="", encoding="utf-8")
            out.write(ITEM + (f"?{query}" if query else "") + "\n" + "".join(lines) + "\n")
        n += 1
    return n
