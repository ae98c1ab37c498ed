"""Review: cases centred on the account, claimed and decided by people, with decisions that
feed back into banks (docs/moderation.md)."""

from safeguard.review.cases import CaseService, attach_to_case
from safeguard.review.records import CaseDetail, CaseInfo, CaseItemInfo, Decision

__all__ = ["CaseDetail", "CaseInfo", "CaseItemInfo", "CaseService", "Decision", "attach_to_case"]
