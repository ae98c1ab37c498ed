"""Why one account scored as it did: its score and reason codes, each feature beside the edge
of 95% of benign accounts, and the evidence behind them, minor by minor: when the account
first reached each child, who moved first, whether the child accepted, replied, blocked or
reported, and when a handle for another app was sent. Counts and times only, never content
(`safeguard pathways explain ACCOUNT`, docs/pathways.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from safeguard.errors import InvalidRequest
from safeguard.pathways.features import (
    DEFAULT_WINDOW_DAYS,
    FEATURES,
    account_table,
    encode_events,
    minor_message_hours,
    quiet_hours,
)
from safeguard.pathways.io import EventLog
from safeguard.pathways.model import Model
from safeguard.pathways.rules import plain_words
from safeguard.pathways.schema import (
    BLOCK,
    CONTACT_ACCEPT,
    CONTACT_REQUEST,
    MESSAGE,
    MINOR_BANDS,
    OFF_PLATFORM_HANDLE,
    OUTREACH_KINDS,
    REPORT,
    SUBJECT_BANDS,
    WHO_IS_SCORED,
)
from safeguard.pathways.scoring import explain as explain_rows
from safeguard.pathways.scoring import score_log


@dataclass(frozen=True)
class Contact:
    """One minor the account was in touch with inside the window."""

    account_id: str
    age_band: str
    country: str
    first_contact: datetime
    account_moved_first: bool
    requests: int  # contact requests the account sent the minor
    accepted: bool  # the minor accepted one
    messages_sent: int
    messages_received: int
    #: the account's messages to the minor in the quiet hours of the minor's country (those of
    #: the feature quiet_hours_share)
    quiet_hours_messages: int
    handle_sent_at: datetime | None
    blocked_at: datetime | None
    reported_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            k: (v.isoformat() + "Z" if isinstance(v, datetime) else v)
            for k, v in self.__dict__.items()
        }


@dataclass(frozen=True)
class FeatureValue:
    name: str
    meaning: str
    value: float
    benign_edge: float | None  # 95% of benign accounts are on the safe side of this
    beyond: bool  # past that edge, toward risk

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Explanation:
    account_id: str
    age_band: str
    country: str
    created_at: datetime
    as_of: datetime
    window_days: float
    score: float
    flagged: bool
    threshold: float
    reasons: list[dict[str, str]]
    features: list[FeatureValue]
    contacts: list[Contact] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "account_id": self.account_id,
            "age_band": self.age_band,
            "country": self.country,
            "created_at": self.created_at.isoformat() + "Z",
            "as_of": self.as_of.isoformat() + "Z",
            "window_days": self.window_days,
            "score": round(self.score, 6),
            "flagged": self.flagged,
            "threshold": self.threshold,
            "reasons": [{**r, "plain_words": plain_words(r["code"])} for r in self.reasons],
            "features": [f.to_json() for f in self.features],
            "contacts": [c.to_json() for c in self.contacts],
        }


def explain_account(
    log: EventLog,
    account_id: str,
    model: Model | None = None,
    *,
    as_of: datetime | None = None,
    threshold: float | None = None,
    window_days: float = DEFAULT_WINDOW_DAYS,
) -> Explanation:
    """The account's score, reasons (always, flagged or not), features and contacts with
    minors. InvalidRequest when the account is not in the log or is not scored (a child)."""
    model = model or Model.load()
    found = log.accounts.filter(pl.col("account_id") == account_id)
    if found.height == 0:
        raise InvalidRequest(f"no account {account_id!r} in the accounts file")
    band, country, created = found.select("age_band", "country", "created_at").row(0)
    if band not in SUBJECT_BANDS:
        raise InvalidRequest(f"account {account_id!r} is declared {band}: {WHO_IS_SCORED}")
    end = as_of or log.end or created
    scored, thr = score_log(log, model, as_of=end, threshold=threshold, window_days=window_days)
    row = scored.filter(pl.col("account_id") == account_id)
    if row.height == 0:
        raise InvalidRequest(f"account {account_id!r} has no score as of {end}")
    (scored_row,) = explain_rows(row, model, all_rows=True)
    reasons = scored_row.reasons
    if not reasons:  # not flagged and no rule fired: say which features stand out all the same
        (flag_style,) = explain_rows(row.with_columns(pl.lit(True).alias("flagged")), model)
        reasons = flag_style.reasons
    values = row.row(0, named=True)
    features = []
    for f in FEATURES:
        edge = model.benign_p95.get(f.name)
        v = float(values[f.name])
        beyond = edge is not None and (
            (f.direction > 0 and v > edge) or (f.direction < 0 and v < edge)
        )
        features.append(FeatureValue(f.name, f.meaning, v, edge, bool(beyond)))
    return Explanation(
        account_id=account_id,
        age_band=band,
        country=country or "",
        created_at=created,
        as_of=end,
        window_days=window_days,
        score=scored_row.score,
        flagged=scored_row.flagged,
        threshold=thr,
        reasons=reasons,
        features=features,
        contacts=_contacts(log, account_id, band, end, window_days),
    )


def _contacts(
    log: EventLog, account_id: str, band: str, as_of: datetime, window_days: float
) -> list[Contact]:
    """Minor by minor, what passed between the account and each child in the window."""
    kids = log.accounts.filter(pl.col("age_band").is_in(MINOR_BANDS)).select(
        "account_id", "age_band", "country"
    )
    start = as_of - timedelta(days=window_days)
    ev = log.events.filter(
        (pl.col("ts") > start)
        & (pl.col("ts") <= as_of)
        & ((pl.col("actor") == account_id) | (pl.col("target") == account_id))
    ).with_columns(
        pl.when(pl.col("actor") == account_id)
        .then(pl.col("target"))
        .otherwise(pl.col("actor"))
        .alias("other"),
        (pl.col("actor") == account_id).alias("outgoing"),
    )
    ev = ev.join(kids, left_on="other", right_on="account_id", how="inner")
    if ev.height == 0:
        return []
    out, inc = pl.col("outgoing"), ~pl.col("outgoing")

    def first(cond: pl.Expr) -> pl.Expr:
        return pl.col("ts").filter(cond).min()

    def count(cond: pl.Expr) -> pl.Expr:
        return cond.sum().cast(pl.Int64)

    window = encode_events(log.accounts, log.events).filter(
        (pl.col("ts") > start) & (pl.col("ts") <= as_of)
    )
    quiet = quiet_hours(minor_message_hours(account_table(log.accounts), window))
    quiet = quiet.with_columns(pl.lit(True).alias("quiet"))
    ev = (
        ev.with_columns(pl.col("ts").dt.hour().cast(pl.Int8).alias("h"))
        .join(
            quiet,
            left_on=[pl.col("country").fill_null(""), "h"],
            right_on=["country", "h"],
            how="left",
        )
        .with_columns(pl.col("quiet").fill_null(False))
    )
    outreach = out & pl.col("kind").is_in(OUTREACH_KINDS)
    table = (
        ev.group_by("other", "age_band", "country")
        .agg(
            first(pl.lit(True)).alias("first_contact"),
            first(outreach).alias("first_out"),
            first(inc & pl.col("kind").is_in((CONTACT_REQUEST, MESSAGE))).alias("first_in"),
            count(out & (pl.col("kind") == CONTACT_REQUEST)).alias("requests"),
            count(inc & (pl.col("kind") == CONTACT_ACCEPT)).alias("accepts"),
            count(out & (pl.col("kind") == MESSAGE)).alias("sent"),
            count(inc & (pl.col("kind") == MESSAGE)).alias("received"),
            count(out & (pl.col("kind") == MESSAGE) & pl.col("quiet")).alias("quiet"),
            first(out & (pl.col("kind") == OFF_PLATFORM_HANDLE)).alias("handle"),
            first(inc & (pl.col("kind") == BLOCK)).alias("blocked"),
            first(inc & (pl.col("kind") == REPORT)).alias("reported"),
        )
        .sort("first_contact", "other")
    )
    contacts = []
    for r in table.iter_rows(named=True):
        moved_first = r["first_out"] is not None and (
            r["first_in"] is None or r["first_out"] <= r["first_in"]
        )
        contacts.append(
            Contact(
                account_id=r["other"],
                age_band=r["age_band"],
                country=r["country"] or "",
                first_contact=r["first_contact"],
                account_moved_first=moved_first,
                requests=r["requests"],
                accepted=r["accepts"] > 0,
                messages_sent=r["sent"],
                messages_received=r["received"],
                quiet_hours_messages=r["quiet"],
                handle_sent_at=r["handle"],
                blocked_at=r["blocked"],
                reported_at=r["reported"],
            )
        )
    return contacts
