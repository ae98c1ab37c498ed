"""Read and validate pathways event logs (CSV, JSON Lines or Parquet) into polars frames.

Every value is checked before anything is scored: a problem raises PathwaysInputError naming the
file, the 1-based data row (and for text files the line) and the column. Events of a kind this
version does not know are dropped, counted and reported, never fatal.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from safeguard.pathways.errors import PathwaysInputError
from safeguard.pathways.schema import ACCOUNT_COLUMNS, AGE_BANDS, EVENT_COLUMNS, KINDS

FORMATS = ("csv", "jsonl", "parquet")
_OFFSET = r"([+-])(\d{2}):?(\d{2})$"
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.f"


@dataclass
class EventLog:
    """A validated log: accounts and events, timestamps as naive UTC datetimes (microseconds)."""

    accounts: pl.DataFrame
    events: pl.DataFrame
    unknown_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def end(self):
        """The time of the last event (the default 'as of' time for scoring)."""
        return self.events["ts"].max() if self.events.height else None


def sniff_format(path: Path) -> str:
    """csv, jsonl or parquet, from the file's first bytes (never trusting the extension)."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        raise PathwaysInputError(str(path), "no such file") from None
    except IsADirectoryError:
        raise PathwaysInputError(str(path), "is a directory, not a file") from None
    except OSError as e:
        raise PathwaysInputError(str(path), f"cannot be read ({e.strerror})") from None
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    binary = (
        b"\x00" in head
        or head[:2] in (b"PK", b"\x1f\x8b")
        or head.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8"))
    )
    if binary:
        raise PathwaysInputError(
            str(path), "not a CSV, JSON Lines or Parquet file (it looks binary)"
        )
    if text.startswith((b"{", b"[")):
        return "jsonl"
    if not text:
        raise PathwaysInputError(str(path), "is empty (expected a header row)")
    return "csv"


def _csv_problem(path: Path) -> PathwaysInputError:
    """Find the first malformed CSV row with the standard library, for a precise message."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            for i, fields in enumerate(reader, start=1):
                if fields and len(fields) != len(header):
                    return PathwaysInputError(
                        str(path),
                        f"expected {len(header)} fields, found {len(fields)}",
                        row=i,
                        line=reader.line_num,
                    )
    except UnicodeDecodeError as e:
        return PathwaysInputError(str(path), f"not UTF-8 text (byte offset {e.start})")
    except csv.Error as e:
        return PathwaysInputError(str(path), f"malformed CSV ({e})")
    return PathwaysInputError(str(path), "malformed CSV")


def _jsonl_problem(path: Path) -> PathwaysInputError:
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    return PathwaysInputError(str(path), f"invalid JSON ({e.msg})", row=n, line=n)
                if not isinstance(obj, dict):
                    return PathwaysInputError(
                        str(path), "each line must be one JSON object", row=n, line=n
                    )
    except UnicodeDecodeError as e:
        return PathwaysInputError(str(path), f"not UTF-8 text (byte offset {e.start})")
    return PathwaysInputError(str(path), "malformed JSON Lines")


def read_table(path: Path | str, columns: tuple[str, ...]) -> tuple[pl.DataFrame, str]:
    """The file as a frame of string columns (timestamps may stay native in Parquet)."""
    path = Path(path)
    fmt = sniff_format(path)
    try:
        if fmt == "parquet":
            df = pl.read_parquet(path)
        elif fmt == "jsonl":
            with path.open("rb") as f:
                first = f.read(64).lstrip()
            if first.startswith(b"["):
                df = pl.read_json(path, infer_schema_length=None)
            else:
                df = pl.read_ndjson(path, infer_schema_length=None)
        else:
            df = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except Exception as e:
        if fmt == "csv":
            raise _csv_problem(path) from None
        if fmt == "jsonl":
            raise _jsonl_problem(path) from None
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PathwaysInputError(str(path), f"unreadable Parquet ({msg})") from None
    df = df.rename({c: c.strip() for c in df.columns if c != c.strip()})
    missing = [c for c in columns if c not in df.columns]
    if missing:
        hint = ""
        if columns == ACCOUNT_COLUMNS and all(c in df.columns for c in EVENT_COLUMNS):
            hint = " (this looks like an events file)"
        elif columns == EVENT_COLUMNS and all(c in df.columns for c in ACCOUNT_COLUMNS):
            hint = " (this looks like an accounts file)"
        found = ", ".join(df.columns[:8]) or "none"
        raise PathwaysInputError(
            str(path),
            f"missing column(s) {', '.join(repr(c) for c in missing)} (found: {found}){hint}",
            row=None,
            column=missing[0],
        )
    out = []
    for c in columns:
        s = df[c]
        if not (s.dtype == pl.String or isinstance(s.dtype, pl.Datetime)):
            if s.dtype.is_nested():
                raise PathwaysInputError(str(path), "nested value, expected text", column=c)
            s = s.cast(pl.String)
        out.append(s)
    return pl.DataFrame(out), fmt


def _row_of(index: int, fmt: str) -> dict[str, int | None]:
    """Error location for the 0-based frame index: 1-based row, and line for text files."""
    row = index + 1
    if fmt == "csv":
        return {"row": row, "line": row + 1}
    if fmt == "jsonl":
        return {"row": row, "line": None}
    return {"row": row, "line": None}


def _first(mask: pl.Series) -> int | None:
    idx = mask.arg_true()
    return int(idx[0]) if len(idx) else None


def parse_timestamps(s: pl.Series) -> pl.Series:
    """ISO 8601 strings (Z, +00:00 or another offset, or none meaning UTC) to naive UTC us."""
    if isinstance(s.dtype, pl.Datetime):
        if s.dtype.time_zone is not None:
            s = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return s.dt.cast_time_unit("us")
    s = s.str.strip_chars()
    fast = s.str.to_datetime(_TS_FORMAT + "Z", strict=False, time_unit="us")
    if fast.null_count() == s.null_count():
        return fast
    frame = pl.DataFrame({"s": s})
    base = (
        pl.col("s").str.replace(r"(Z|z|[+-]\d{2}:?\d{2})$", "").str.replace(" ", "T", literal=True)
    )
    base = pl.when(base.str.len_chars() == 10).then(base + "T00:00:00").otherwise(base)
    sign = pl.col("s").str.extract(_OFFSET, 1)
    minutes = pl.col("s").str.extract(_OFFSET, 2).cast(pl.Int64) * 60 + pl.col("s").str.extract(
        _OFFSET, 3
    ).cast(pl.Int64)
    offset = pl.when(sign == "-").then(-minutes).otherwise(minutes).fill_null(0)
    parsed = base.str.to_datetime(_TS_FORMAT, strict=False, time_unit="us")
    return frame.select((parsed - pl.duration(minutes=offset)).alias(s.name)).to_series()


def _check_required(df: pl.DataFrame, col: str, path: Path, fmt: str) -> None:
    s = df[col]
    bad = s.is_null()
    if s.dtype == pl.String:
        bad = bad | (s.str.strip_chars() == "")
    i = _first(bad)
    if i is not None:
        if fmt == "csv":
            # polars pads short rows with nulls: report a short row as what it is
            ragged = _csv_problem(path)
            if ragged.row is not None and ragged.row <= i + 1:
                raise ragged
        raise PathwaysInputError(str(path), "empty value", column=col, **_row_of(i, fmt))


def _check_time(df: pl.DataFrame, col: str, path: Path, fmt: str) -> pl.Series:
    parsed = parse_timestamps(df[col])
    i = _first(parsed.is_null())
    if i is not None:
        raise PathwaysInputError(
            str(path),
            f"unparseable timestamp {df[col][i]!r} (expected ISO 8601 UTC, "
            "e.g. 2025-03-01T14:05:00Z)",
            column=col,
            **_row_of(i, fmt),
        )
    return parsed


def read_accounts(path: Path | str) -> pl.DataFrame:
    """The accounts table, validated: unique ids, timestamps, age bands, country codes."""
    path = Path(path)
    df, fmt = read_table(path, ACCOUNT_COLUMNS)
    for col in ("account_id", "created_at", "age_band"):
        _check_required(df, col, path, fmt)
    ids = df["account_id"].str.strip_chars()
    dup = ids.is_duplicated() & ~ids.is_first_distinct()
    i = _first(dup)
    if i is not None:
        first = _first(ids == ids[i])
        raise PathwaysInputError(
            str(path),
            f"duplicate account_id {ids[i]!r} (first at row {(first or 0) + 1})",
            column="account_id",
            **_row_of(i, fmt),
        )
    created = _check_time(df, "created_at", path, fmt)
    band = df["age_band"].str.strip_chars().str.to_lowercase()
    i = _first(~band.is_in(AGE_BANDS))
    if i is not None:
        raise PathwaysInputError(
            str(path),
            f"age_band {df['age_band'][i]!r} is not one of {', '.join(AGE_BANDS)}",
            column="age_band",
            **_row_of(i, fmt),
        )
    country = df["country"].fill_null("").str.strip_chars().str.to_uppercase()
    i = _first((country != "") & ~country.str.contains(r"^[A-Z]{2}$"))
    if i is not None:
        raise PathwaysInputError(
            str(path),
            f"country {df['country'][i]!r} is not an ISO 3166 alpha-2 code (or empty)",
            column="country",
            **_row_of(i, fmt),
        )
    return pl.DataFrame(
        {"account_id": ids, "created_at": created, "age_band": band, "country": country}
    )


def read_events(path: Path | str, accounts: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """The events table, validated against `accounts`; unknown kinds dropped and counted."""
    path = Path(path)
    df, fmt = read_table(path, EVENT_COLUMNS)
    for col in EVENT_COLUMNS:
        _check_required(df, col, path, fmt)
    ts = _check_time(df, "ts", path, fmt)
    kind = df["kind"].str.strip_chars().str.to_lowercase()
    actor = df["actor"].str.strip_chars()
    target = df["target"].str.strip_chars()
    known_ids = accounts["account_id"]
    for name, s in (("actor", actor), ("target", target)):
        i = _first(~s.is_in(known_ids.implode()))
        if i is not None:
            raise PathwaysInputError(
                str(path),
                f"{name} {s[i]!r} is not in the accounts file",
                column=name,
                **_row_of(i, fmt),
            )
    events = pl.DataFrame({"ts": ts, "kind": kind, "actor": actor, "target": target})
    known = kind.is_in(KINDS)
    unknown: dict[str, int] = {}
    if not bool(known.all()):
        unknown = dict(Counter(kind.filter(~known).to_list()).most_common())
        events = events.filter(known)
    return events, unknown


def load(accounts_path: Path | str, events_path: Path | str) -> EventLog:
    """Read and validate both files; raises before returning anything if either is bad."""
    accounts = read_accounts(accounts_path)
    events, unknown = read_events(events_path, accounts)
    return EventLog(accounts=accounts, events=events, unknown_kinds=unknown)


def write_table(df: pl.DataFrame, path: Path | str, fmt: str | None = None) -> Path:
    """Write a frame as CSV, JSON Lines or Parquet (from `fmt` or the file's extension)."""
    path = Path(path)
    fmt = fmt or {
        ".parquet": "parquet",
        ".pq": "parquet",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
    }.get(path.suffix.lower(), "csv")
    out = df.with_columns(
        pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        for c, t in df.schema.items()
        if isinstance(t, pl.Datetime) and fmt != "parquet"
    )
    if fmt == "parquet":
        out.write_parquet(path)
    elif fmt == "jsonl":
        out.write_ndjson(path)
    else:
        out.write_csv(path)
    return path
