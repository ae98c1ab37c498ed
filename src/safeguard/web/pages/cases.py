"""A case: the account, its timeline (matches with bank, distance, variant and provenance;
reports; pathways flags in plain words; decisions), its media as blurred greyscale
previews revealed one at a time, and the decision form that can feed a bank."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from safeguard.banks.records import ContentInfo
from safeguard.errors import ContentNotFound, Forbidden, SafeguardError
from safeguard.evidence import EvidenceStore
from safeguard.evidence.previews import render
from safeguard.review.records import DECISIONS
from safeguard.web.render import HtmlRoute, after_post, page
from safeguard.web.session import Posted, Viewer, posted, viewer

router = APIRouter(route_class=HtmlRoute)

DECISION_WORDS = {
    "confirmed": "Confirm: known abuse material",
    "not_abuse": "Not abuse: stop it matching",
    "escalate": "Escalate to a child-safety specialist",
}


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, who: Viewer = Depends(viewer)) -> Response:
    detail = who.sg.cases_for(who.actor).get(case_id)
    banks = who.sg.banks_for(who.actor.name)
    provenance: dict[int, str] = {}
    for item in detail.items:
        if item.content_id is not None and item.content_id not in provenance:
            try:
                info = banks.get_content(item.content_id)
                provenance[item.content_id] = _provenance(info)
            except ContentNotFound:
                provenance[item.content_id] = "no longer in the bank"
    media, media_note = [], ""
    try:
        media = who.sg.evidence_for(who.actor).list(case_id)
    except Forbidden:
        media_note = "Previews of media are shown to child-safety specialists and admins."
    all_banks = banks.list()
    matched = [i.bank for i in detail.items if i.bank]
    return page(
        request,
        "case.html",
        who,
        title=f"Case {case_id}",
        d=detail,
        c=detail.case,
        provenance=provenance,
        media=media,
        media_note=media_note,
        revealed=who.session.revealed,
        blur=who.session.preferences.get("blur", 16),
        plain_words=_plain_words,
        decisions=[(d, DECISION_WORDS[d]) for d in DECISIONS],
        banks=[b.name for b in all_banks if not b.negative],
        negative_banks=[b.name for b in all_banks if b.negative],
        default_bank=matched[0] if matched else "",
        me=who.actor.user,
    )


def _provenance(c: ContentInfo) -> str:
    """Where a bank entry came from: its source, its id there, who added it."""
    parts = [c.source or "no source", f"id {c.external_id}" if c.external_id else ""]
    return " · ".join(p for p in [*parts, f"added by {c.added_by}"] if p)


@router.post("/cases/{case_id}/decide")
def decide(request: Request, case_id: int, form: Posted = Depends(posted)) -> Response:
    who = form.who
    decision = form.text("decision")
    bank = form.text("add_to_bank") if decision == "confirmed" else ""
    negative = form.text("negative_bank") if decision == "not_abuse" else ""

    def act() -> str:
        done = who.sg.cases_for(who.actor).decide(
            case_id,
            decision,
            add_to_bank=bank or None,
            negative_bank=negative or None,
            note=form.text("note")[:5000],
        )
        added = f"; {len(done.added)} item(s) added to {bank or negative}" if done.added else ""
        return f"case {case_id}: {decision.replace('_', ' ')}{added}"

    return after_post(request, f"/ui/cases/{case_id}", act)


@router.post("/cases/{case_id}/media/{evidence_id}/reveal")
def reveal(
    request: Request, case_id: int, evidence_id: int, form: Posted = Depends(posted)
) -> Response:
    """Show this one item unblurred (any other revealed item goes back under blur)."""
    who = form.who
    _item_of_case(who, case_id, evidence_id)
    show = None if form.text("hide") else evidence_id

    def act() -> str:
        who.logins().reveal(who.token, show)
        return ""

    return after_post(request, f"/ui/cases/{case_id}#m{evidence_id}", act)


@router.get("/cases/{case_id}/media/{evidence_id}/{view}.png")
def media(
    request: Request, case_id: int, evidence_id: int, view: str, who: Viewer = Depends(viewer)
) -> Response:
    """A preview (blurred, greyscale, at the viewer's blur strength) or, for the one item
    this session revealed, the sharp picture; each read is audited by the evidence store."""
    if view not in ("preview", "full"):
        raise ContentNotFound(f"no view {view!r}: use preview or full")
    if view == "full" and who.session.revealed != evidence_id:
        raise Forbidden("reveal this item first: media are shown unblurred one at a time")
    store = _item_of_case(who, case_id, evidence_id)
    data = store.read(evidence_id, purpose="reveal" if view == "full" else "preview")
    try:
        png = render(
            data,
            who.sg.settings,
            blur=0 if view == "full" else who.session.preferences.get("blur", 16),
            greyscale=view != "full",
        )
    except SafeguardError:
        png = b""
    if not png:
        return Response(status_code=415, content=b"", media_type="image/png")
    return Response(png, media_type="image/png")


def _item_of_case(who: Viewer, case_id: int, evidence_id: int) -> EvidenceStore:
    store = who.sg.evidence_for(who.actor)
    if store.get(evidence_id).case_id != case_id:
        raise ContentNotFound(f"case {case_id} has no media item {evidence_id}")
    return store


def _plain_words(code: str) -> str:
    """A pathways reason code in words. The pathways package (and polars with it) is
    loaded when a case first shows a flag, not by every server that serves the UI."""
    from safeguard.pathways.rules import plain_words

    return plain_words(code)
