"""Plain-text hash lists: `TYPE VALUE` per line (python-threatexchange's format) or bare values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TextIO

from safeguard.banks.formats.common import Problem, make_record
from safeguard.banks.records import ContentInfo, HashRecord


def parse(text: str, *, signal_type: str | None = None) -> Iterator[HashRecord | Problem]:
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) == 1:
            if signal_type is None:
                yield (
                    n,
                    "bare value with no signal type; write `TYPE VALUE` or pass --signal-type",
                )
                continue
            yield make_record(n, [(signal_type, parts[0])])
        elif len(parts) == 2:
            yield make_record(n, [(parts[0], parts[1])])
        else:
            yield (n, f"expected `TYPE VALUE`, got {len(parts)} fields")


# python-threatexchange's names for the digests of a file's bytes, so it can read our export
THREATEXCHANGE_NAMES = {"md5": "video_md5", "sha256": "video_sha256"}


def write(contents: Iterable[ContentInfo], out: TextIO) -> int:
    n = 0
    for c in contents:
        for t, v in c.signals.items():
            out.write(f"{THREATEXCHANGE_NAMES.get(t, t)} {v}\n")
        n += 1
    return n
