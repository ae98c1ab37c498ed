"""The review queue as a reviewer pages through it: active cases by priority and age, with
filters (bank, rule, account age band, pathways reason code) and a total, one page read in
two indexed queries however many cases are open (bench/ui_queue.py).

A claim older than the claim timeout shows as lapsed: anyone may take the case over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from safeguard.errors import InvalidRequest
from safeguard.review.records import CaseInfo
from safeguard.store.review_tables import Case, CaseItem, case_is_active

AGE_BANDS = ("under_13", "13_15", "16_17", "adult")
PAGE_LIMIT = 200


@dataclass(frozen=True)
class QueueFilter:
    """What a reviewer narrows the queue to; empty fields filter nothing."""

    bank: str = ""
    rule: str = ""
    age_band: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if self.age_band and self.age_band not in AGE_BANDS:
            raise InvalidRequest(f"unknown age band {self.age_band!r}: use {', '.join(AGE_BANDS)}")
        for name in ("bank", "rule", "reason"):
            if len(getattr(self, name)) > 200:
                raise InvalidRequest(f"the {name} filter is at most 200 characters")

    @property
    def active(self) -> bool:
        return any((self.bank, self.rule, self.age_band, self.reason))


@dataclass(frozen=True)
class QueueRow:
    case: CaseInfo
    claim_lapsed: bool  # claimed, but longer ago than the claim timeout


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[QueueRow, ...]
    total: int  # active cases matching the filter that this reviewer may see
    offset: int
    limit: int


def _in_detail(key: str, value: str) -> str:
    """The text a JSON item detail holds for `key` -> `value` (or a list holding it)."""
    return json.dumps({key: value})[1:-1]


def _filtered(q: Select[Any], f: QueueFilter, others_only: bool) -> Select[Any]:
    q = q.where(case_is_active())
    if others_only:
        q = q.where(Case.child_safety.is_(False))
    items = select(CaseItem.id).where(CaseItem.case_id == Case.id)
    if f.bank:
        q = q.where(exists(items.where(CaseItem.bank_name == f.bank)))
    if f.rule:  # `reason` lists the rules that opened the case, comma-separated
        r = Case.reason
        q = q.where(
            or_(
                r == f.rule,
                r.startswith(f"{f.rule},", autoescape=True),
                r.endswith(f",{f.rule}", autoescape=True),
                r.contains(f",{f.rule},", autoescape=True),
            )
        )
    detail = cast(CaseItem.detail, String)
    if f.age_band:
        q = q.where(
            exists(items.where(detail.contains(_in_detail("account_age_band", f.age_band))))
        )
    if f.reason:
        code = json.dumps(f.reason)
        q = q.where(exists(items.where(CaseItem.kind == "pathways_flag", detail.contains(code))))
    return q


def queue_page(
    s: Session,
    f: QueueFilter,
    *,
    others_only: bool,
    offset: int,
    limit: int,
    now: datetime,
    claim_timeout: timedelta,
) -> QueuePage:
    limit = max(1, min(limit, PAGE_LIMIT))
    offset = max(0, offset)
    total = s.scalar(_filtered(select(func.count(Case.id)), f, others_only)) or 0
    items = select(func.count()).where(CaseItem.case_id == Case.id).scalar_subquery()
    q = _filtered(select(Case, items), f, others_only)
    q = q.order_by(Case.priority.desc(), Case.opened_at, Case.id).offset(offset).limit(limit)
    rows = []
    for case, n in s.execute(q).all():
        lapsed = (
            case.state == "in_review"
            and case.claimed_at is not None
            and now - case.claimed_at >= claim_timeout
        )
        rows.append(QueueRow(CaseInfo.of(case, n), lapsed))
    return QueuePage(tuple(rows), total, offset, limit)
