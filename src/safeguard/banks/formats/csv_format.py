"""CSV hash lists: `signal_type,signal_value[,external_id,source,note,tags]`, header optional."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import TextIO

from safeguard.banks.formats.common import Problem, make_record
from safeguard.banks.records import ContentInfo, HashRecord

COLUMNS = ["signal_type", "signal_value", "external_id", "source", "note", "tags"]
EXPORT_COLUMNS = [*COLUMNS, "content_id", "added_at", "added_by"]
_ALIASES = {
    "signal_str": "signal_value",
    "value": "signal_value",
    "hash": "signal_value",
    "type": "signal_type",
    "collab": "source",
}


def parse(text: str, *, signal_type: str | None = None) -> Iterator[HashRecord | Problem]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns = COLUMNS
    first = True
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield (reader.line_num, f"malformed CSV: {e}")
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
                    yield (n, "header has no signal_type column; pass --signal-type")
                    return
                continue
        if len(row) > len(columns) and columns is COLUMNS:
            yield (n, f"expected at most {len(COLUMNS)} fields, got {len(row)}")
            continue
        fields = dict(zip(columns, (c.strip() for c in row), strict=False))
        if "signal_type" not in columns:
            fields["signal_type"] = signal_type or ""
        yield make_record(
            n,
            [(fields.get("signal_type"), fields.get("signal_value"))],
            external_id=fields.get("external_id"),
            source=fields.get("source", ""),
            note=fields.get("note", ""),
            tags=fields.get("tags"),
        )


def write(contents: Iterable[ContentInfo], out: TextIO) -> int:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(EXPORT_COLUMNS)
    n = 0
    for c in contents:
        for t, v in c.signals.items():
            w.writerow(
                [
                    t,
                    v,
                    c.external_id or "",
                    c.source,
                    c.note,
                    " ".join(c.tags),
                    c.id,
                    c.added_at.isoformat(),
                    c.added_by,
                ]
            )
        n += 1
    return n
