"""Storing and reading figures in the project database (tables in store/stats_tables.py).

`save` writes every file of one run in one transaction after checking all of them: a file
already imported, or a figure that an earlier import (or another file of the run) already
holds, is refused with the file, row and earlier import named, and nothing is written. With
`replace`, the earlier figures give way instead. Figures go in with one bulk insert per file.

The published figures shipped with safeguard are loaded on first use (`ensure_builtin`) and
reloaded when a new version of safeguard ships different ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safeguard.stats import reference
from safeguard.stats.errors import Problem, StatsError, StatsImportError
from safeguard.stats.geography import gazetteer
from safeguard.stats.ingest import ParsedFile, read_file
from safeguard.stats.ingest.common import Figure
from safeguard.store import Database
from safeguard.store.stats_tables import StatsFigure, StatsImport

_CHUNK = 500
_Q_SUFFIX = re.compile(r"\|q[1-4]$")


@dataclass(frozen=True)
class FigureRow:
    """A stored figure, as the analysis reads it."""

    id: int
    import_id: int
    file_name: str
    source: str
    basis: str
    is_primary: bool
    release: str
    release_year: int | None
    geography: str
    geography_label: str
    period_type: str
    year_kind: str
    period_first: int | None
    period_last: int
    quarter: int | None
    period_label: str
    measure: str
    offence: str
    offence_label: str
    platform: str
    value: float | None
    share_pct: float | None
    qualifier: str
    source_url: str
    note: str
    file_row: int | None

    def cite(self) -> str:
        """Where the figure comes from, for notes: release or file, and row."""
        if self.is_primary:
            return f"{self.file_name} row {self.file_row}"
        return f"{self.release or 'undated'} release"


_ROW_FIELDS = [f.name for f in fields(FigureRow) if f.name != "file_name"]


@dataclass(frozen=True)
class ImportInfo:
    id: int
    kind: str
    file_name: str
    sha256: str
    builtin: bool
    sources: list[str]
    rows: int
    figures: int
    imported_at: datetime
    imported_by: str
    detail: dict[str, object]
    status: str = "imported"

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "format": self.kind,
            "file": self.file_name,
            "sha256": self.sha256,
            "builtin": self.builtin,
            "sources": self.sources,
            "rows": self.rows,
            "figures": self.figures,
            "imported_at": self.imported_at.isoformat(),
            "imported_by": self.imported_by,
            "detail": self.detail,
        }


def _info(i: StatsImport, status: str = "imported") -> ImportInfo:
    return ImportInfo(
        i.id,
        i.kind,
        i.file_name,
        i.sha256,
        i.builtin,
        list(i.sources or []),
        i.row_count,
        i.figure_count,
        i.imported_at,
        i.imported_by,
        dict(i.detail or {}),
        status,
    )


def _describe(f: Figure) -> str:
    geo = gazetteer().get(f.geography).name
    what = f"{geo} {f.period_label}"
    if f.offence not in ("image", ""):
        what += f" offence {f.offence}"
    if f.platform:
        what += f" platform {f.platform}"
    if f.measure not in ("count", "platform"):
        what += f" ({f.measure.replace('_', ' ')})"
    return what


class StatsRepository:
    def __init__(self, db: Database, actor: str = "") -> None:
        self.db = db
        self.actor = actor

    # -- built-in published figures ------------------------------------------------------------

    def ensure_builtin(self) -> None:
        """Load (or refresh) the published figures shipped with safeguard."""
        for attempt in range(2):
            try:
                self._ensure_builtin()
                return
            except IntegrityError:
                if attempt:  # another process loads them at the same time: it won
                    raise

    def _ensure_builtin(self) -> None:
        with self.db.transaction() as s:
            current = {
                i.file_name: i
                for i in s.scalars(select(StatsImport).where(StatsImport.builtin.is_(True)))
            }
            for name in reference.BUILTIN_FILES:
                digest = reference.builtin_digest(name)
                old = current.get(name)
                if old is not None and old.sha256 == digest:
                    continue
                parsed = read_file(reference.data_path(name), "figures")
                if old is not None:
                    s.execute(delete(StatsFigure).where(StatsFigure.import_id == old.id))
                    s.delete(old)
                    s.flush()
                # figures a user imported (with --replace) stay; the shipped copy gives way
                taken = self._existing_keys(s, [f.dedupe_key() for f in parsed.figures])
                parsed.figures = [f for f in parsed.figures if f.dedupe_key() not in taken]
                self._write(s, parsed, builtin=True)

    # -- imports -------------------------------------------------------------------------------

    def save(self, files: list[ParsedFile], *, replace: bool = False) -> list[ImportInfo]:
        """Store every file, or (on any problem) none; returns one ImportInfo per file."""
        self.ensure_builtin()
        with self.db.transaction() as s:
            problems: list[Problem] = []
            results: list[ImportInfo | None] = []
            to_write: list[ParsedFile] = []
            seen_sha: dict[str, str] = {}
            for pf in files:
                old = s.scalars(
                    select(StatsImport).where(StatsImport.sha256 == pf.sha256).limit(1)
                ).first()
                if old is not None and old.builtin:
                    results.append(_info(old, "already loaded (shipped with safeguard)"))
                    continue
                if old is not None:
                    problems.append(
                        Problem(
                            pf.name,
                            None,
                            f"already imported as import #{old.id} ({old.file_name}, "
                            f"{old.imported_at:%Y-%m-%d %H:%M} UTC); remove it first with "
                            f"`safeguard stats remove {old.id}`",
                        )
                    )
                    continue
                if pf.sha256 in seen_sha:
                    problems.append(
                        Problem(pf.name, None, f"the same file as {seen_sha[pf.sha256]}")
                    )
                    continue
                seen_sha[pf.sha256] = pf.name
                results.append(None)
                to_write.append(pf)
            stale = self._overlaps(s, to_write, problems, replace)
            if problems:
                raise StatsImportError(problems)
            if stale:
                self._drop(s, stale)
            written = iter([self._write(s, pf) for pf in to_write])
            return [r if r is not None else next(written) for r in results]

    def _overlaps(
        self, s: Session, files: list[ParsedFile], problems: list[Problem], replace: bool
    ) -> list[int]:
        """Problems for figures already held (by the database or an earlier file of the run);
        with `replace`, the ids of the stored figures to drop instead."""
        # overlap key -> [(quarter, file, row)] within this run
        batch: dict[str, list[tuple[int | None, str, int | None]]] = {}
        for pf in files:
            for f in pf.figures:
                k = f.overlap_key()
                prev = batch.setdefault(k, [])
                for q, other, row in prev:
                    if q is None or f.quarter is None or q == f.quarter:
                        problems.append(
                            Problem(
                                pf.name,
                                f.file_row,
                                f"{_describe(f)} is also in {other} row {row} "
                                "(overlapping or duplicate returns)",
                            )
                        )
                        break
                prev.append((f.quarter, pf.name, f.file_row))
        stored = self._stored_overlaps(s, files)
        stale: list[int] = []
        for pf in files:
            for f in pf.figures:
                for fid, q, imp, fname, row in stored.get(f.overlap_key(), ()):
                    if not (q is None or f.quarter is None or q == f.quarter):
                        continue
                    if replace:
                        stale.append(fid)
                        continue
                    where = f"{fname} row {row}" if row else fname
                    problems.append(
                        Problem(
                            pf.name,
                            f.file_row,
                            f"{_describe(f)} is already in import #{imp} ({where}); remove that "
                            "import first (`safeguard stats remove ID`) or import with --replace",
                        )
                    )
                    break
        return sorted(set(stale))

    def _stored_overlaps(
        self, s: Session, files: list[ParsedFile]
    ) -> dict[str, list[tuple[int, int | None, int, str, int | None]]]:
        primary = {
            (f.source, f.year_kind, f.period_last)
            for pf in files
            for f in pf.figures
            if f.is_primary
        }
        published = [f.dedupe_key() for pf in files for f in pf.figures if not f.is_primary]
        cols = (
            StatsFigure.id,
            StatsFigure.dedupe_key,
            StatsFigure.quarter,
            StatsFigure.import_id,
            StatsImport.file_name,
            StatsFigure.file_row,
        )
        base = select(*cols).join(StatsImport, StatsImport.id == StatsFigure.import_id)
        found: list[tuple[int, str, int | None, int, str, int | None]] = []
        by_group: dict[tuple[str, str], set[int]] = {}
        for src, kind, year in primary:
            by_group.setdefault((src, kind), set()).add(year)
        for (src, kind), years in by_group.items():
            q = base.where(
                StatsFigure.is_primary.is_(True),
                StatsFigure.source == src,
                StatsFigure.year_kind == kind,
                StatsFigure.period_last.in_(sorted(years)),
            )
            found.extend(s.execute(q))
        for i in range(0, len(published), _CHUNK):
            q = base.where(StatsFigure.dedupe_key.in_(published[i : i + _CHUNK]))
            found.extend(s.execute(q))
        out: dict[str, list[tuple[int, int | None, int, str, int | None]]] = {}
        for fid, key, quarter, imp, fname, row in found:
            out.setdefault(_Q_SUFFIX.sub("", key), []).append((fid, quarter, imp, fname, row))
        return out

    def _existing_keys(self, s: Session, keys: list[str]) -> set[str]:
        taken: set[str] = set()
        for i in range(0, len(keys), _CHUNK):
            q = select(StatsFigure.dedupe_key).where(
                StatsFigure.dedupe_key.in_(keys[i : i + _CHUNK])
            )
            taken.update(s.scalars(q))
        return taken

    def _drop(self, s: Session, ids: list[int]) -> None:
        touched: set[int] = set()
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            touched.update(
                s.scalars(select(StatsFigure.import_id).where(StatsFigure.id.in_(chunk)))
            )
            s.execute(delete(StatsFigure).where(StatsFigure.id.in_(chunk)))
        for imp in touched:
            n = len(s.scalars(select(StatsFigure.id).where(StatsFigure.import_id == imp)).all())
            s.execute(update(StatsImport).where(StatsImport.id == imp).values(figure_count=n))

    def _write(self, s: Session, pf: ParsedFile, *, builtin: bool = False) -> ImportInfo:
        imp = StatsImport(
            kind=pf.kind,
            file_name=pf.name,
            sha256=pf.sha256,
            builtin=builtin,
            sources=pf.sources,
            row_count=pf.rows,
            figure_count=len(pf.figures),
            imported_by="safeguard" if builtin else self.actor,
            detail=pf.detail,
        )
        s.add(imp)
        s.flush()
        rows = [f.row_dict(imp.id) for f in pf.figures]
        table = StatsFigure.__table__
        for i in range(0, len(rows), 5000):
            s.execute(table.insert(), rows[i : i + 5000])  # type: ignore[attr-defined]
        return _info(imp)

    def imports(self) -> list[ImportInfo]:
        self.ensure_builtin()
        with self.db.transaction() as s:
            return [_info(i) for i in s.scalars(select(StatsImport).order_by(StatsImport.id))]

    def remove(self, import_id: int) -> ImportInfo:
        with self.db.transaction() as s:
            imp = s.get(StatsImport, import_id)
            if imp is None:
                raise StatsError(f"no import #{import_id} (see `safeguard stats list`)")
            if imp.builtin:
                raise StatsError(
                    f"import #{import_id} is the published figures shipped with safeguard; "
                    "it cannot be removed (import a corrected copy with --replace instead)"
                )
            info = _info(imp, "removed")
            s.execute(delete(StatsFigure).where(StatsFigure.import_id == import_id))
            s.delete(imp)
            return info

    # -- reading -------------------------------------------------------------------------------

    def figures(
        self,
        geographies: Iterable[str] | None = None,
        measures: Iterable[str] | None = None,
        offences: Iterable[str] | None = None,
    ) -> list[FigureRow]:
        self.ensure_builtin()
        cols = [getattr(StatsFigure, n) for n in _ROW_FIELDS]
        q = select(*cols, StatsImport.file_name).join(
            StatsImport, StatsImport.id == StatsFigure.import_id
        )
        if geographies is not None:
            q = q.where(StatsFigure.geography.in_(sorted(set(geographies))))
        if measures is not None:
            q = q.where(StatsFigure.measure.in_(sorted(set(measures))))
        if offences is not None:
            q = q.where(StatsFigure.offence.in_(sorted(set(offences))))
        out = []
        with self.db.transaction() as s:
            for row in s.execute(q.order_by(StatsFigure.id)):
                d = dict(zip(_ROW_FIELDS, row[:-1], strict=True))
                out.append(FigureRow(file_name=row[-1], **d))
        return out


def import_paths(
    repo: StatsRepository,
    paths: list[str],
    fmt: str | None = None,
    *,
    replace: bool = False,
    source: str = "nspcc",
    release: str = "",
) -> list[ImportInfo]:
    """Read and validate every file, then store them all in one transaction."""
    from pathlib import Path

    parsed: list[ParsedFile] = []
    problems: list[Problem] = []
    for p in paths:
        try:
            parsed.append(read_file(Path(p), fmt, source=source, release=release))
        except StatsImportError as e:
            problems.extend(e.problems)
    if problems:
        raise StatsImportError(problems)
    return repo.save(parsed, replace=replace)
