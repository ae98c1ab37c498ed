"""Banks: lists of known signals with provenance, per-bank thresholds and negative banks."""

from safeguard.banks.records import (
    AddResult,
    BankInfo,
    ContentInfo,
    ExportReport,
    HashRecord,
    ImportReport,
    Provenance,
)
from safeguard.banks.service import BankService

__all__ = [
    "AddResult",
    "BankInfo",
    "BankService",
    "ContentInfo",
    "ExportReport",
    "HashRecord",
    "ImportReport",
    "Provenance",
]
