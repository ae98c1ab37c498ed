"""CSV hash lists: `signal_type,signal_value[,external_id,source,note,tags]`, header optional;
consecutive rows with the same `content_id` (or `item`) are one item with several signals.
A header may instead give each signal type a column (`url,category`, `md5,sha256,pdq`), as
hotlines' lists do: each row is one item with the signals of its non-empty type columns;
columns neither a type nor provenance (`external_id`, `source`, `note`, `tags`) are ignored."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import IO

from safeguard.banks.formats.common import (
    Problem,
    join_items,
    join_tags,
    make_record,
    type_named,
)
from safeguard.banks.records import ContentInfo, HashRecord
from safeguard.errors import InvalidSignal
from safeguard.signals import validate_signal

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
    per_type: list[str] = []  # with a column per signal type: those columns
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
            if _is_type_header(row):
                columns, per_type = head, type_named(head)
                continue
        if len(row) > len(columns) and columns is COLUMNS:
            yield None, (n, f"expected at most {len(COLUMNS)} fields, got {len(row)}")
            continue
        fields = dict(zip(columns, (c.strip() for c in row), strict=False))
        if per_type:
            signals: list[tuple[object, object]] = [
                (t, fields[t]) for t in per_type if fields.get(t)
            ]
            record = make_record(
                n,
                signals,
                external_id=fields.get("external_id"),
                source=fields.get("source", ""),
                note=fields.get("note", ""),
                tags=fields.get("tags"),
            )
            yield None, record
            continue
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


#: a column name: letters and separators only (a value has digits, dots or slashes)
_WORD = re.compile(r"^[a-z][a-z_ -]*$")


def _is_type_header(row: list[str]) -> bool:
    """Whether a first row names a column per signal type (`url,category`) rather than being
    a `signal_type,signal_value` data row (`url,example.com/a`) or a header of that form."""
    named = type_named(row)
    if not named:
        return False
    if len(row) >= 2 and row[0] in named and not _WORD.match(row[1].strip().lower()):
        try:
            validate_signal(row[0], row[1])
            return False  # the first row is data: a type and a valid value of it
        except InvalidSignal:
            pass
    return True


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
