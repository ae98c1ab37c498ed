"""Review: cases centred on the account, claimed and decided by people, with decisions that
feed back into banks (docs/moderation.md)."""

from safeguard.review.cases import (
    CaseService,
    CaseWant,
    case_item_rows,
    cases_for_events,
    insert_case_items,
)
from safeguard.review.queue import QueueFilter, QueuePage, QueueRow
from safeguard.review.records import CaseDetail, CaseInfo, CaseItemInfo, Decision

__all__ = [
    "CaseDetail",
    "CaseInfo",
    "CaseItemInfo",
    "CaseService",
    "CaseWant",
    "Decision",
    "QueueFilter",
    "QueuePage",
    "QueueRow",
    "case_item_rows",
    "cases_for_events",
    "insert_case_items",
]
