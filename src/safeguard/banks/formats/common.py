"""Helpers shared by the hash-list formats: validated records, tags, and joining the rows of
one item (rows that share an item key) into one record."""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterable, Iterator

from safeguard.banks.records import HashRecord
from safeguard.errors import InvalidSignal
from safeguard.signals import get_signal_type, validate_signal

Problem = tuple[int, str]
_TAG_SPLIT = re.compile(r"[\s;]+")


def type_named(keys: Iterable[object]) -> list[str]:
    """The keys (columns, object keys) that name a listable signal type, in order: lists
    that give each type a column of its own (`url`, `md5`, `pdq`...)."""
    out = []
    for key in keys:
        try:
            if get_signal_type(str(key).strip()).listable:
                out.append(str(key))
        except InvalidSignal:
            continue
    return out


def split_tags(raw: object) -> list[str]:
    """Tags from a list, a JSON array (`["a b", "c"]`) or space- or `;`-separated words."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str) and raw.lstrip().startswith("["):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            raw = parsed
    if isinstance(raw, list | tuple):
        return [str(t).strip() for t in raw if str(t).strip()]
    return [t for t in _TAG_SPLIT.split(str(raw)) if t]


def join_tags(tags: list[str]) -> str:
    """Tags as one text field: space-separated words, or a JSON array when a tag is not one
    word (so `split_tags` gives back exactly the same list)."""
    if all(t and not t.startswith("[") and _TAG_SPLIT.search(t) is None for t in tags):
        return " ".join(tags)
    return json.dumps(tags, ensure_ascii=False)


def make_record(
    line: int,
    signals: list[tuple[object, object]],
    *,
    external_id: object = None,
    source: object = "",
    note: object = "",
    tags: object = None,
) -> HashRecord | Problem:
    """A validated record, or (line, message) naming what is wrong."""
    clean: dict[str, str] = {}
    for t, v in signals:
        if t is None or str(t).strip() == "":
            return (line, "missing signal type")
        if v is None or str(v).strip() == "":
            return (line, f"missing value for signal type {t!s}")
        try:
            name, value = validate_signal(str(t), str(v))
        except InvalidSignal as e:
            return (line, e.message)
        if name in clean and clean[name] != value:
            return (line, f"two different {name} values")
        clean[name] = value
    if not clean:
        return (line, "no signal on this line")
    ext = None if external_id in (None, "") else str(external_id)
    for field_name, given, limit in (("external_id", ext, 500), ("source", source, 500)):
        if given is not None and len(str(given)) > limit:
            return (line, f"{field_name} longer than {limit} characters")
    return HashRecord(
        signals=clean,
        external_id=ext,
        source=str(source or ""),
        note=str(note or ""),
        tags=split_tags(tags),
        line=line,
    )


def join_items(
    rows: Iterable[tuple[Hashable | None, HashRecord | Problem]],
) -> Iterator[HashRecord | Problem]:
    """Join consecutive rows that share an item key into one record; a row whose key is None
    is an item of its own. A later row may leave provenance blank; where it gives some, it
    must agree with the item's first row."""
    current: HashRecord | None = None
    current_key: Hashable | None = None
    started: dict[Hashable, int] = {}  # item key -> line of its first row
    for key, rec in rows:
        if key is None or key != current_key:
            if current is not None:
                yield current
            current, current_key = None, key
            if key is not None and key in started:
                yield (
                    _line(rec),
                    f"more rows of item {key}, apart from its rows at line "
                    f"{started[key]}: keep the rows of one item together",
                )
                continue
            if key is not None:
                started[key] = _line(rec)
        if not isinstance(rec, HashRecord):
            yield rec
        elif current is None:
            current = rec
        elif problem := _merge(current, rec):
            yield problem
    if current is not None:
        yield current


def _line(rec: HashRecord | Problem) -> int:
    return rec.line if isinstance(rec, HashRecord) else rec[0]


def _merge(item: HashRecord, row: HashRecord) -> Problem | None:
    for t, v in row.signals.items():
        if item.signals.get(t, v) != v:
            return (row.line, f"a second {t} value for the item that starts at line {item.line}")
    for name in ("external_id", "source", "note", "tags"):
        mine, theirs = getattr(item, name), getattr(row, name)
        if theirs and mine and theirs != mine:
            return (row.line, f"{name} differs from line {item.line}, a row of the same item")
        if theirs and not mine:
            setattr(item, name, theirs)
    item.signals.update(row.signals)
    return None
