"""Police-recorded child abuse image crime statistics (issue #6).

Import Home Office tables, FOI returns from forces and published figures; summarise them by
force, region, nation or the UK; write briefings that state the figures the way the NSPCC's
local press stories do, with sources and caveats. See docs/stats.md.

    from safeguard.stats import StatsService
    stats = StatsService.open(settings)
    stats.import_files(["prc-pfa-2017-18.csv"])
    print(stats.summary("Devon and Cornwall", "2016/17", "2020/21").to_json())

The names below are loaded on first use (PEP 562): importing a part of the package (periods,
geography, ingest) loads only that part.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safeguard.stats.analysis import Analysis, Summary
    from safeguard.stats.errors import StatsError, StatsImportError
    from safeguard.stats.repository import ImportInfo
    from safeguard.stats.service import StatsService

# public name -> the module that defines it
_LAZY = {
    "Analysis": "safeguard.stats.analysis",
    "Summary": "safeguard.stats.analysis",
    "StatsError": "safeguard.stats.errors",
    "StatsImportError": "safeguard.stats.errors",
    "ImportInfo": "safeguard.stats.repository",
    "StatsService": "safeguard.stats.service",
}

__all__ = [
    "Analysis",
    "ImportInfo",
    "StatsError",
    "StatsImportError",
    "StatsService",
    "Summary",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safeguard.stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
