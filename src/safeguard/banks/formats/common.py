"""Helpers shared by the hash-list formats: turning raw fields into a validated HashRecord."""

from __future__ import annotations

import re

from safeguard.banks.records import HashRecord
from safeguard.errors import InvalidSignal
from safeguard.signals import validate_signal

Problem = tuple[int, str]
_TAG_SPLIT = re.compile(r"[\s;]+")


def split_tags(raw: object) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, list | tuple):
        return [str(t).strip() for t in raw if str(t).strip()]
    return [t for t in _TAG_SPLIT.split(str(raw)) if t]


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
    for field_name, value, limit in (("external_id", ext, 500), ("source", source, 500)):
        if value is not None and len(str(value)) > limit:
            return (line, f"{field_name} longer than {limit} characters")
    return HashRecord(
        signals=clean,
        external_id=ext,
        source=str(source or ""),
        note=str(note or ""),
        tags=split_tags(tags),
        line=line,
    )
