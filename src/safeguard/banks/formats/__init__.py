"""Hash-list formats: read and write bank content as JSON Lines, CSV or plain text.

Every format carries whole items: all the signals of one content item, its provenance
(`external_id`, `source`, `note`) and its tags, so an export imports back to the same items.
None carries local features (an image's keypoints): only the image file does.

- `jsonl`: one JSON object per line, `{"signal_type": "pdq", "signal_value": "...",
  "external_id": ..., "source": ..., "note": ..., "tags": [...]}`, or `"signals": {type: value}`
  for one item carrying several signals, or a key per signal type (`{"url": ...}`); a file
  that is one JSON array of such objects is read too. Export writes the `signals` form.
- `csv`: `signal_type,signal_value[,external_id,source,note,tags]`, with or without a header.
  A header may name columns in any order; `signal_str` (python-threatexchange's
  `dataset --csv`) is read as `signal_value`, `collab` as `source`. Consecutive rows with the
  same `content_id` (or `item`) are one item; export writes one row per signal with the item's
  `content_id`. Tags are space-separated words, or a JSON array when a tag is not one word.
  A header may instead give each signal type a column (`url,category`): one item per row.
- `txt`: one `TYPE VALUE` per line (python-threatexchange's local file format), or bare values
  with `--signal-type`; each line is an item. A one-word `item` line, optionally followed by
  `?` and URL-encoded `external_id`, `source`, `note` and repeated `tag` fields, starts one
  item: the signal lines after it, up to a blank line, are its signals. Export writes an
  item with one signal and no provenance as a plain line, any other as an `item` block.
  Lines starting with `#` are comments.

Readers validate every line and raise one ImportFormatError listing the bad lines by number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from safeguard.banks.formats import csv_format, jsonl_format, txt_format
from safeguard.banks.records import ContentInfo, HashRecord
from safeguard.errors import ImportFormatError, InvalidRequest, SafeguardError

FORMATS = {"jsonl": jsonl_format, "csv": csv_format, "txt": txt_format}
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".txt": "txt",
    ".te": "txt",
}
MAX_REPORTED_PROBLEMS = 1000


class EmptyHashList(SafeguardError):
    """A hash list with no entries: an empty file, or only blank lines, comments or a header."""

    code = "empty_hash_list"

    def __init__(self, source: str) -> None:
        super().__init__(
            f"{source}: no hash-list entries (the file is empty or holds only blank lines, "
            "comments or a header); nothing was imported"
        )


def format_of_path(path: str | os.PathLike[str]) -> str | None:
    """The format a file name's extension names (`.csv`, `.jsonl`, `.txt`...), if any."""
    return _EXTENSIONS.get(Path(path).suffix.lower())


def detect_format(path: str | os.PathLike[str], first_line: str = "") -> str:
    if fmt := format_of_path(path):
        return fmt
    head = first_line.lstrip()
    if head.startswith("{"):
        return "jsonl"
    if "," in head:
        return "csv"
    return "txt"


def read_hash_list(
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    signal_type: str | None = None,
) -> list[HashRecord]:
    """Parse and validate a whole hash list. Raises ImportFormatError naming every bad line."""
    name = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise InvalidRequest(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InvalidRequest(f"{name}: is a directory, not a hash list") from None
    except UnicodeDecodeError as e:
        raise ImportFormatError(
            name, [(text_line_of_offset(path, e.start), "not valid UTF-8 text")]
        ) from None
    except OSError as e:
        raise InvalidRequest(f"{name}: cannot read: {e.strerror or e}") from None
    return parse_hash_list(text, name, fmt, signal_type=signal_type)


def parse_hash_list(
    text: str, name: str = "<input>", fmt: str | None = None, *, signal_type: str | None = None
) -> list[HashRecord]:
    """Parse and validate hash-list text; `name` is used for messages and format detection."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ImportFormatError(name, [(line, "contains a NUL byte: not a text hash list")])
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    fmt = fmt or detect_format(name, first)
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown hash-list format {fmt!r} (known: {', '.join(FORMATS)})")
    records: list[HashRecord] = []
    problems: list[tuple[int, str]] = []
    total = 0
    for item in FORMATS[fmt].parse(text, signal_type=signal_type):
        if isinstance(item, HashRecord):
            records.append(item)
        else:
            total += 1
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems.append(item)
    if total:
        raise ImportFormatError(name, problems, total)
    return records


def write_hash_list(contents: Iterable[ContentInfo], out: IO[str], fmt: str = "jsonl") -> int:
    """Write bank content to `out` in `fmt`; returns the number of content items written."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown hash-list format {fmt!r} (known: {', '.join(FORMATS)})")
    return FORMATS[fmt].write(contents, out)


def text_line_of_offset(path: str | os.PathLike[str], offset: int) -> int:
    with open(path, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1


__all__ = [
    "FORMATS",
    "EmptyHashList",
    "detect_format",
    "format_of_path",
    "parse_hash_list",
    "read_hash_list",
    "write_hash_list",
]
