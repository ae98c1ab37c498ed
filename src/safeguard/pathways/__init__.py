"""Pathways: grooming and sextortion risk from behavioural metadata (issue #7).

Reads who-contacted-whom-when event logs (never message content), computes per-account
features, scores them with a calibrated monotone model and explains flags with reason codes.
See docs/pathways.md.

    from safeguard.pathways import load, score_log
    scored, threshold = score_log(load("accounts.csv", "events.csv"))
"""

from __future__ import annotations

from safeguard.pathways.errors import PathwaysInputError, PathwaysModelError
from safeguard.pathways.features import FEATURE_NAMES, FEATURES, compute_features
from safeguard.pathways.io import EventLog, load
from safeguard.pathways.model import Model
from safeguard.pathways.scoring import IncrementalScorer, ScoredAccount, explain, score_log

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
