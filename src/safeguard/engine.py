"""The library API: one `Safeguard` object to hash content, keep banks and match against them.

    from safeguard import Safeguard

    with Safeguard.open() as sg:                  # SAFEGUARD_HOME / SAFEGUARD_DATABASE_URL
        sg.banks.create("known-images", pdq_threshold=31)
        sg.add_file("known-images", "listed.jpg", Provenance(source="NCMEC", external_id="A1"))
        result = sg.match_file("upload.jpg")
        if result.matched:
            ...

The CLI (and later the HTTP API) are thin layers over this class.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from safeguard.banks import BankService, HashRecord, ImportReport, Provenance
from safeguard.banks.formats import EmptyHashList, read_hash_list, write_hash_list
from safeguard.banks.records import AddResult
from safeguard.config import Settings
from safeguard.errors import FileProblem
from safeguard.matching import Matcher, MatchResult
from safeguard.signals import validate_signals
from safeguard.signals.files import (
    FileSignals,
    hash_bytes,
    hash_file,
    hash_items,
    hash_paths,
    iter_input_files,
)
from safeguard.store import Database


class Safeguard:
    """A handle on one safeguard store: banks, hashing and matching."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.banks = BankService(db, settings.actor)
        self.matcher = Matcher(db)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        database_url: str | None = None,
        home: str | os.PathLike[str] | None = None,
        actor: str | None = None,
    ) -> Safeguard:
        """Open (and if needed create and migrate) a store: the one `settings` names, or
        else the environment's, with `database_url`, `home` and `actor` overriding it."""
        if settings is None:
            settings = Settings.from_env(home=home, database_url=database_url, actor=actor)
        elif (home, database_url, actor) != (None, None, None):
            raise TypeError("give either settings or home/database_url/actor, not both")
        return cls(settings, Database.open(settings.database_url))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Safeguard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hashing ---------------------------------------------------------------------------

    def hash_file(
        self, path: str | os.PathLike[str], *, variants: bool = False, local: bool = False
    ) -> FileSignals:
        """Signals of a file; with `variants`, also the PDQ of its rotations, flips and
        inner picture, as lookups use them (signals/variants.py); with `local`, its local
        features, as adds keep them and lookups use them (signals/local.py)."""
        s = self.settings
        return hash_file(
            path,
            quality_floor=s.pdq_quality_floor,
            max_pixels=s.max_image_pixels,
            max_image_bytes=s.max_image_bytes,
            variants=variants,
            local=local,
        )

    def hash_bytes(
        self, data: bytes, name: str = "<bytes>", *, variants: bool = False, local: bool = False
    ) -> FileSignals:
        s = self.settings
        return hash_bytes(
            data,
            name,
            quality_floor=s.pdq_quality_floor,
            max_pixels=s.max_image_pixels,
            variants=variants,
            local=local,
        )

    def hash_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        workers: int | None = None,
        local: bool = False,
    ) -> Iterator[FileSignals]:
        return hash_paths(paths, self.settings, workers=workers, local=local)

    # -- banking ---------------------------------------------------------------------------

    def add_file(
        self, bank: str, path: str | os.PathLike[str], provenance: Provenance = Provenance()
    ) -> tuple[FileSignals, AddResult]:
        """Hash a file and add it to `bank`. Raises FileProblem if it has no usable signal."""
        signals = self.hash_file(path, local=True)
        return signals, self.add_signals_of(bank, signals, provenance)

    def add_signals_of(
        self, bank: str, signals: FileSignals, provenance: Provenance = Provenance()
    ) -> AddResult:
        """Add already-hashed file signals to `bank` (a file that is not an image adds its
        digests only, and a file that could not be read raises FileProblem)."""
        found = signals.signals()
        if not found:
            raise FileProblem(
                signals.error or "no signal could be computed", signals.error_code or "unreadable"
            )
        return self.banks.add(
            bank, found, provenance, pdq_quality=signals.pdq_quality, local=signals.local
        )

    def import_list(
        self,
        bank: str,
        path: str | os.PathLike[str],
        fmt: str | None = None,
        *,
        signal_type: str | None = None,
        source: str = "",
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Validate a whole hash list, then add it in one transaction (all or nothing).

        `on_progress(done, total)` is called as new items are written.
        """
        self.banks.get(bank)  # fail on an unknown bank before reading a large file
        records = read_hash_list(path, fmt, signal_type=signal_type)
        if not records:
            raise EmptyHashList(str(path))
        return self.banks.import_records(
            bank, records, source=source or Path(path).name, on_progress=on_progress
        )

    def export_list(self, bank: str, out: TextIO, fmt: str = "jsonl") -> int:
        return write_hash_list(self.banks.iter_content(bank), out, fmt)

    # -- matching --------------------------------------------------------------------------

    def match_signals(self, signals: dict[str, str]) -> MatchResult:
        """Match raw signal values ({"pdq": "...", "md5": "..."}); values are validated."""
        return self.matcher.lookup(validate_signals(signals))

    def match_records(self, records: list[HashRecord]) -> list[MatchResult]:
        return self.matcher.lookup_many([r.signals for r in records])

    def match_file(self, path: str | os.PathLike[str]) -> MatchResult:
        return self.matcher.lookup(self.hash_file(path, variants=True, local=True).query())

    def match_bytes(self, data: bytes, name: str = "<bytes>") -> MatchResult:
        return self.matcher.lookup(self.hash_bytes(data, name, variants=True, local=True).query())

    def match_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        workers: int | None = None,
    ) -> Iterator[tuple[FileSignals, MatchResult]]:
        """Hash and match every file under `paths` (directories walked), in input order."""
        return self.match_items(list(iter_input_files(paths)), workers=workers)

    def match_items(
        self, items: list[str | FileSignals], *, workers: int | None = None, batch: int = 256
    ) -> Iterator[tuple[FileSignals, MatchResult]]:
        """Hash and match the output of `iter_input_files`, batching index lookups."""
        pending: list[FileSignals] = []
        for fs in hash_items(items, self.settings, workers=workers, variants=True, local=True):
            pending.append(fs)
            if len(pending) >= batch:
                yield from self._match_batch(pending)
                pending = []
        if pending:
            yield from self._match_batch(pending)

    def _match_batch(self, items: list[FileSignals]) -> Iterator[tuple[FileSignals, MatchResult]]:
        results = self.matcher.lookup_many([fs.query() for fs in items])
        yield from zip(items, results, strict=True)
