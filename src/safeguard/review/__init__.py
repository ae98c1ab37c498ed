"""Review: cases centred on the account, claimed and decided by people, with decisions that
feed back into banks (docs/moderation.md)."""

from safeguard.review.cases import CaseService, add_case_items, case_for_event
from safeguard.review.records import CaseDetail, CaseInfo, CaseItemInfo, Decision

__all__ = [
    "CaseDetail",
    "CaseInfo",
    "CaseItemInfo",
    "CaseService",
    "Decision",
    "add_case_items",
    "case_for_event",
]
