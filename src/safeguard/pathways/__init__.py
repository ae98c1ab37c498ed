"""Pathways: grooming and sextortion risk from behavioural metadata (issue #7).

Reads who-contacted-whom-when event logs (never message content), computes per-account
features, scores them with a calibrated monotone model and explains flags with reason codes.
See docs/pathways.md.

    from safeguard.pathways import load, score_log
    scored, threshold = score_log(load("accounts.csv", "events.csv"))

The names below are loaded on first use (PEP 562): importing a part of the package (schema,
errors) loads only that part.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safeguard.pathways.errors import PathwaysInputError, PathwaysModelError
    from safeguard.pathways.features import FEATURE_NAMES, FEATURES, compute_features
    from safeguard.pathways.io import EventLog, load
    from safeguard.pathways.model import Model
    from safeguard.pathways.scoring import IncrementalScorer, ScoredAccount, explain, score_log

# public name -> the module that defines it
_LAZY = {
    "PathwaysInputError": "safeguard.pathways.errors",
    "PathwaysModelError": "safeguard.pathways.errors",
    "FEATURE_NAMES": "safeguard.pathways.features",
    "FEATURES": "safeguard.pathways.features",
    "compute_features": "safeguard.pathways.features",
    "EventLog": "safeguard.pathways.io",
    "load": "safeguard.pathways.io",
    "Model": "safeguard.pathways.model",
    "IncrementalScorer": "safeguard.pathways.scoring",
    "ScoredAccount": "safeguard.pathways.scoring",
    "explain": "safeguard.pathways.scoring",
    "score_log": "safeguard.pathways.scoring",
}

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "EventLog",
    "IncrementalScorer",
    "Model",
    "PathwaysInputError",
    "PathwaysModelError",
    "ScoredAccount",
    "compute_features",
    "explain",
    "load",
    "score_log",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safeguard.pathways' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
