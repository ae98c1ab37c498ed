"""CSV hash lists: `signal_type,signal_value[,external_id,source,note,tags]`, header optional;
consecutive rows with the same `content_id` (or `item`) are one item with several signals."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO

from safeguard.banks.formats.common import Problem, join_items, join_tags, make_record
from safeguard.banks.records import ContentInfo, HashRecord

COLUMNS = ["signal_type", "signal_value", "external_id", "source", "note", "tags"]
EXPORT_COLUMNS = [*COLUMNS, "content_id", "added_at", "added_by"]
_ALIASES = {
    "signal_str": "signal_value",
    "value": "signal_value",
    "hash": "signal_value",
    "type": "signal_type",
    "collab": "source",
    "item": "content_id",
}


def parse(text: str, *, signal_type: str | None = None) -> Iterator[HashRecord | Problem]:
    return join_items(_rows(text, signal_type))


def _rows(text: str, signal_type: str | None) -> Iterator[tuple[str | None, HashRecord | Problem]]:
    """(item key or None, the row's record) for each data row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns = COLUMNS
    first = True
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield None, (reader.line_num, f"malformed CSV: {e}")
            return
        n = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if first:
            first = False
            head = [_ALIASES.get(c.strip().lower(), c.strip().lower()) for c in row]
            if "signal_value" in head:
                columns = head
                if "signal_type" not in columns and signal_type is None:
                    yield None, (n, "header has no signal_type column; pass --signal-type")
                    return
                continue
        if len(row) > len(columns) and columns is COLUMNS:
            yield None, (n, f"expected at most {len(COLUMNS)} fields, got {len(row)}")
            continue
        fields = dict(zip(columns, (c.strip() for c in row), strict=False))
        if "signal_type" not in columns:
            fields["signal_type"] = signal_type or ""
        record = make_record(
            n,
            [(fields.get("signal_type"), fields.get("signal_value"))],
            external_id=fields.get("external_id"),
            source=fields.get("source", ""),
            note=fields.get("note", ""),
            tags=fields.get("tags"),
        )
        yield fields.get("content_id") or None, record


def write(contents: Iterable[ContentInfo], out: IO[str]) -> int:
    plain = csv.writer(out, lineterminator="\n")
    # a bare carriage return in a field is not quoted by the minimal writer: quote that row
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    plain.writerow(EXPORT_COLUMNS)
    n = 0
    for c in contents:
        for t, v in c.signals.items():
            row = [
                t,
                v,
                c.external_id or "",
                c.source,
                c.note,
                join_tags(c.tags),
                str(c.id),
                c.added_at.isoformat(),
                c.added_by,
            ]
            (quoted if any("\r" in f for f in row) else plain).writerow(row)
        n += 1
    return n
