"""safeguard: an open-source child-safety engine.

The library API a platform calls in its upload path:

    from safeguard import Safeguard, Provenance
    with Safeguard.open() as sg:
        result = sg.match_file("upload.jpg")

See docs/python-api.md.

The names below are loaded on first use (PEP 562), so `import safeguard.stats` or
`import safeguard.pathways` does not pull in the detection stack (SQLAlchemy models, PDQ,
OpenCV, faiss) through this package's root.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safeguard._version import __version__
    from safeguard.banks import (
        AddResult,
        BankInfo,
        ContentInfo,
        HashRecord,
        ImportReport,
        Provenance,
    )
    from safeguard.config import Settings
    from safeguard.engine import Safeguard
    from safeguard.errors import (
        BankExists,
        BankNotFound,
        ConfigError,
        ContentNotFound,
        FileProblem,
        ImportFormatError,
        InvalidRequest,
        InvalidSignal,
        SafeguardError,
    )
    from safeguard.matching import Match, MatchResult
    from safeguard.signals.files import FileSignals, hash_bytes, hash_file

# public name -> the module that defines it
_LAZY = {
    "__version__": "safeguard._version",
    "AddResult": "safeguard.banks",
    "BankInfo": "safeguard.banks",
    "ContentInfo": "safeguard.banks",
    "HashRecord": "safeguard.banks",
    "ImportReport": "safeguard.banks",
    "Provenance": "safeguard.banks",
    "Settings": "safeguard.config",
    "Safeguard": "safeguard.engine",
    "BankExists": "safeguard.errors",
    "BankNotFound": "safeguard.errors",
    "ConfigError": "safeguard.errors",
    "ContentNotFound": "safeguard.errors",
    "FileProblem": "safeguard.errors",
    "ImportFormatError": "safeguard.errors",
    "InvalidRequest": "safeguard.errors",
    "InvalidSignal": "safeguard.errors",
    "SafeguardError": "safeguard.errors",
    "Match": "safeguard.matching",
    "MatchResult": "safeguard.matching",
    "FileSignals": "safeguard.signals.files",
    "hash_bytes": "safeguard.signals.files",
    "hash_file": "safeguard.signals.files",
}

__all__ = [
    "AddResult",
    "BankExists",
    "BankInfo",
    "BankNotFound",
    "ConfigError",
    "ContentInfo",
    "ContentNotFound",
    "FileProblem",
    "FileSignals",
    "HashRecord",
    "ImportFormatError",
    "ImportReport",
    "InvalidRequest",
    "InvalidSignal",
    "Match",
    "MatchResult",
    "Provenance",
    "SafeguardError",
    "Safeguard",
    "Settings",
    "__version__",
    "hash_bytes",
    "hash_file",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safeguard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
