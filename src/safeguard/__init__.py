"""safeguard: an open-source child-safety engine.

The library API a platform calls in its upload path:

    from safeguard import Safeguard, Provenance
    with Safeguard.open() as sg:
        result = sg.match_file("upload.jpg")

See docs/python-api.md.
"""

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

__version__ = "0.1.0"

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
