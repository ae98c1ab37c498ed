"""`/v1/referrals` (scope: review): reports of decided cases to NCMEC's CyberTipline and the
UK NCA over HTTP, as `safeguard referrals` makes them. The key's user decides what it may
do: only child-safety specialists and admins (the library checks and audits every step).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from safeguard.api.auth import Principal, require
from safeguard.api.errors import ErrorBody
from safeguard.api.models import TEXT_SPEC, Strict
from safeguard.api.routes.common import MAX_ID, errors
from safeguard.api.runtime import Runtime, runtime

review_scope = require("review")
router = APIRouter(tags=["referrals"])
ReferralId = Annotated[int, Path(ge=1, le=MAX_ID, description="referral id")]
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "Not in a state for this, or already referred"}
}
Text = Annotated[str, Field(max_length=200, json_schema_extra=TEXT_SPEC)]


class BuildIn(Strict):
    case_id: int = Field(..., ge=1, le=MAX_ID)
    agency: Literal["ncmec", "nca"]
    incident_type: str | None = Field(None, max_length=200, json_schema_extra=TEXT_SPEC)
    annotations: list[Text] = Field(default_factory=list, max_length=20)
    victims: list[Text] = Field(default_factory=list, max_length=100)
    additional_info: str = Field("", max_length=20_000, json_schema_extra=TEXT_SPEC)
    account: dict[str, Any] = Field(
        default_factory=dict, description='account details, as an event\'s "account"'
    )
    classification: Literal["A1", "A2", "B1", "B2"] | None = None


class SubmitIn(Strict):
    resubmit: bool = False


@router.post("/v1/referrals", status_code=201, responses={**errors(400, 404), **_CONFLICT})
def build_referral(
    body: BuildIn, rt: Runtime = Depends(runtime), who: Principal = Depends(review_scope)
) -> dict[str, object]:
    """Build a draft referral of a decided case: `missing` lists what it still lacks;
    `payload` is what would be sent (CyberTipline XML, or the NCA record as JSON)."""
    from safeguard.act.inputs import account_details
    from safeguard.refer.gather import GatherOptions

    options = GatherOptions(
        incident_type=body.incident_type,
        annotations=tuple(body.annotations),
        victims=tuple(body.victims),
        additional_info=body.additional_info,
        account=account_details(body.account),
        industry_classification=body.classification,
    )
    referral, payload = rt.sg.referrals_for(who.acting()).build(body.case_id, body.agency, options)
    return {**referral.to_json(), "payload": payload}


@router.get("/v1/referrals", responses=errors())
def list_referrals(
    case_id: int | None = Query(None, ge=1, le=MAX_ID),
    state: str | None = Query(None, max_length=20),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(review_scope),
) -> list[dict[str, object]]:
    return [
        r.to_json() for r in rt.sg.referrals_for(who.acting()).list(case_id=case_id, state=state)
    ]


@router.get("/v1/referrals/failed", responses=errors())
def failed_referrals(
    rt: Runtime = Depends(runtime), who: Principal = Depends(review_scope)
) -> list[dict[str, object]]:
    """Referrals whose last attempt failed, with the agency's reason."""
    return [r.to_json() for r in rt.sg.referrals_for(who.acting()).failed()]


@router.get("/v1/referrals/{referral_id}", responses=errors(404))
def show_referral(
    referral_id: ReferralId, rt: Runtime = Depends(runtime), who: Principal = Depends(review_scope)
) -> dict[str, object]:
    """A referral, its files and what it sends (viewing is audited)."""
    referral, payload = rt.sg.referrals_for(who.acting()).get(referral_id)
    return {**referral.to_json(), "payload": payload}


@router.post("/v1/referrals/{referral_id}/approve", responses={**errors(400, 404), **_CONFLICT})
def approve_referral(
    referral_id: ReferralId, rt: Runtime = Depends(runtime), who: Principal = Depends(review_scope)
) -> dict[str, object]:
    return rt.sg.referrals_for(who.acting()).approve(referral_id).to_json()


@router.post("/v1/referrals/{referral_id}/submit", responses={**errors(400, 404), **_CONFLICT})
def submit_referral(
    referral_id: ReferralId,
    body: SubmitIn | None = None,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(review_scope),
) -> dict[str, object]:
    """Send an approved referral, or continue one that failed; the answer says how it went
    (`state` finished, or failed with `error_kind` and `last_error`)."""
    resubmit = body.resubmit if body else False
    return rt.sg.referrals_for(who.acting()).submit(referral_id, resubmit=resubmit).to_json()
