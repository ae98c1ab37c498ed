"""Score accounts: features -> calibrated model -> flags with reason codes.

`score_log` scores one event log as of its last event (or a given time). `IncrementalScorer`
keeps compact per-pair state and folds in new batches of events as they arrive, so each batch
costs work in proportion to its own size plus the (small) pair table, not the whole log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import numpy as np
import polars as pl

from safeguard.pathways.features import (
    DEFAULT_WINDOW_DAYS,
    FEATURE_NAMES,
    PairState,
    account_table,
    compute_features,
    encode_events,
    feature_matrix,
    features_from_state,
    pair_state,
)
from safeguard.pathways.io import EventLog
from safeguard.pathways.model import Model
from safeguard.pathways.rules import as_row, reasons


@dataclass(frozen=True)
class ScoredAccount:
    account_id: str
    score: float
    flagged: bool
    reasons: list[dict[str, str]]

    def to_json(self) -> dict[str, object]:
        return {
            "account_id": self.account_id,
            "score": round(self.score, 6),
            "flagged": self.flagged,
            "reasons": self.reasons,
        }


def threshold_for_capacity(scores: np.ndarray, capacity: int) -> float:
    """The lowest threshold that flags at most `capacity` accounts (reviewers' daily budget)."""
    if capacity <= 0:
        return float("inf")
    s = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if capacity >= s.size:
        return float(s[-1]) if s.size else 0.0
    # flag strictly more than the first score left out
    return float(np.nextafter(s[capacity], np.inf))


def score_features(
    features: pl.DataFrame, model: Model, threshold: float | None = None
) -> pl.DataFrame:
    """account_id, score, raw, flagged and the features, highest score first."""
    x = feature_matrix(features)
    raw = model.raw(x) if x.shape[0] else np.zeros(0)
    prob = model.calibrate(raw)
    thr = model.threshold if threshold is None else threshold
    return features.with_columns(
        pl.Series("score", prob, dtype=pl.Float64),
        pl.Series("raw", raw, dtype=pl.Float64),
        pl.Series("flagged", prob >= thr, dtype=pl.Boolean),
    ).sort(["score", "raw", "account_id"], descending=[True, True, False])


def explain(scored: pl.DataFrame, model: Model, all_rows: bool = True) -> list[ScoredAccount]:
    """Each row as a ScoredAccount; reasons for flagged rows (and for all if `all_rows`)."""
    out = []
    cols = scored.select("account_id", "score", "flagged", *FEATURE_NAMES).rows()
    for account_id, score, flagged, *vals in cols:
        why: list[dict[str, str]] = []
        if flagged or all_rows:
            why = reasons(as_row(np.asarray(vals)), model.benign_p95 if flagged else None)
        out.append(ScoredAccount(account_id, float(score), bool(flagged), why))
    return out


def score_log(
    log: EventLog,
    model: Model | None = None,
    *,
    as_of: datetime | None = None,
    threshold: float | None = None,
    capacity: int | None = None,
    window_days: float = DEFAULT_WINDOW_DAYS,
) -> tuple[pl.DataFrame, float]:
    """Scored frame (highest first) and the threshold used (default, given, or for capacity)."""
    model = model or Model.load()
    feats = compute_features(log.accounts, log.events, as_of=as_of, window_days=window_days)
    scored = score_features(feats, model, threshold)
    thr = model.threshold if threshold is None else threshold
    if capacity is not None:
        thr = max(thr, threshold_for_capacity(scored["score"].to_numpy(), capacity))
        scored = scored.with_columns((pl.col("score") >= thr).alias("flagged"))
    return scored, thr


class IncrementalScorer:
    """Keeps the per-pair state of a log and folds new batches of events into it.

    The pair aggregates (first contact in each direction, flags such as blocked or replied)
    and the connection edges merge exactly, so after `add` the scores equal a full recompute
    over all events seen so far, at the cost of aggregating only the new batch. The sliding
    window is not applied to the running state: call `rebuild` (a full recompute over the
    window) periodically, e.g. daily, to let old activity expire.
    """

    def __init__(
        self,
        accounts: pl.DataFrame,
        model: Model | None = None,
        *,
        threshold: float | None = None,
    ) -> None:
        self.accounts = accounts
        self.acc = account_table(accounts)
        self.model = model or Model.load()
        self.threshold = self.model.threshold if threshold is None else threshold
        self.state: PairState | None = None
        self.as_of: datetime | None = None
        self.scores: pl.DataFrame | None = None

    def add(self, events: pl.DataFrame, as_of: datetime | None = None) -> pl.DataFrame:
        """Fold in a batch of validated events (all at or after the previous batch)."""
        if events.height:
            latest = cast(datetime, events["ts"].max())
            as_of = as_of or (latest if self.as_of is None else max(self.as_of, latest))
        as_of = as_of or self.as_of or datetime(1970, 1, 1)
        delta = pair_state(self.acc, encode_events(self.accounts, events), None, as_of)
        self.state = delta if self.state is None else self.state.merge(delta)
        self.as_of = as_of
        feats = features_from_state(self.acc, self.state, as_of)
        self.scores = score_features(feats, self.model, self.threshold)
        return self.scores

    def rebuild(
        self, events: pl.DataFrame, as_of: datetime, window_days: float = DEFAULT_WINDOW_DAYS
    ) -> pl.DataFrame:
        """Start again from `events` restricted to the window ending at `as_of`."""
        start = as_of - timedelta(days=window_days)
        self.state = pair_state(self.acc, encode_events(self.accounts, events), start, as_of)
        self.as_of = as_of
        feats = features_from_state(self.acc, self.state, as_of)
        self.scores = score_features(feats, self.model, self.threshold)
        return self.scores
