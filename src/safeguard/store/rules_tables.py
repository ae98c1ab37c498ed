"""Tables of rules (issue #15). Created by migration 0012.

`rule_sets` keeps every version of the rule set ever applied (its YAML text as given); at
most one is active, and applying a new one replaces it in one transaction. `rule_hits`
records each rule that fired on an event, live or in shadow mode, so shadow rules can be
compared with live ones (`safeguard rules report`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, BigId, UTCDateTime, utcnow


class RuleSetVersion(Base):
    __tablename__ = "rule_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_by: Mapped[str] = mapped_column(String(200), default="")


class RuleHit(Base):
    __tablename__ = "rule_hits"
    __table_args__ = (Index("ix_rule_hits_rule", "rule", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # not indexed: the rules report reads hits by rule and time (every index is written
    # with every verdict)
    event_id: Mapped[int] = mapped_column(BigId)
    account_id: Mapped[str] = mapped_column(String(200))
    # 0: the built-in default rule set
    rule_set: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(100))
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    # the verdict it gave (or, in shadow mode, would have given); "" when it gives none
    verdict: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
