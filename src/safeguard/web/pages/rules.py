"""Rules (admins): the active rule set rule by rule, its YAML to validate and apply as a new
version, each rule switched between live and shadow mode, the history of versions, and what
each rule (shadow rules above all) did over the last days (`safeguard rules report`)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from safeguard.audit.reader import AuditReader
from safeguard.errors import InvalidRequest, RulesInvalid
from safeguard.rules import RuleSet, RuleStore
from safeguard.store.models import utcnow
from safeguard.web.render import HtmlRoute, after_post, page, redirect
from safeguard.web.session import Posted, Viewer, posted, viewer

router = APIRouter(route_class=HtmlRoute)

#: where a rule set applied from the page came from, as the audit log says
FORM_SOURCE = "web UI form"
#: the windows the report page offers, in days
REPORT_DAYS = (1, 7, 30, 90)
MAX_DAYS = 366


def _store(who: Viewer) -> RuleStore:
    who.actor.require_admin("see or change rule sets in the web UI")
    return RuleStore(who.sg.db, who.actor)


@router.get("/rules", response_class=HTMLResponse)
def rules(request: Request, who: Viewer = Depends(viewer)) -> Response:
    return _rules_page(request, who)


def _rules_page(
    request: Request,
    who: Viewer,
    *,
    status: int = 200,
    draft: str | None = None,
    problems: list[tuple[int, str]] | None = None,
    checked: RuleSet | None = None,
) -> Response:
    """The rules page; after a Validate or a refused Apply, with the text as sent and what
    was wrong with it (or that it is valid)."""
    store = _store(who)
    info, text = store.get()
    source = ""
    if not info.built_in:
        applied = AuditReader(who.sg.db, who.actor).entries(
            subject=f"rules:v{info.version}", action="rules.apply", limit=1
        )
        source = str(applied[0].detail.get("source", "")) if applied else ""
    return page(
        request,
        "rules.html",
        who,
        status=status,
        title="Rules",
        info=info,
        source=source,
        ruleset=store.active(),
        history=store.history(),
        text=text if draft is None else draft,
        problems=problems,
        checked=checked,
    )


@router.post("/rules")
def validate_or_apply(request: Request, form: Posted = Depends(posted)) -> Response:
    """Validate (show every problem, apply nothing) or Apply the text of the form."""
    who = form.who
    raw = form.form.get("text", "")
    text = raw.replace("\r\n", "\n") if isinstance(raw, str) else ""
    store = _store(who)
    if form.text("action") == "apply":
        try:
            ruleset = store.apply(text, FORM_SOURCE)
        except RulesInvalid as e:
            return _rules_page(request, who, status=400, draft=text, problems=e.problems)
        who.sg.active_rules(max_age=0)  # this process judges the next event by it at once
        return redirect(request, "/ui/rules", _applied(ruleset))
    try:
        checked = store.validate(text, FORM_SOURCE)
    except RulesInvalid as e:
        return _rules_page(request, who, draft=text, problems=e.problems)
    return _rules_page(request, who, draft=text, checked=checked)


def _applied(ruleset: RuleSet) -> str:
    return (
        f"applied rule set version {ruleset.version}: {len(ruleset.rules)} rule(s), "
        f"{len(ruleset.shadow_names)} in shadow mode"
    )


@router.post("/rules/shadow")
def switch_shadow(request: Request, form: Posted = Depends(posted)) -> Response:
    """One rule to shadow mode or back to live, as a new version of the active set."""
    who = form.who
    rule, shadow, seen = form.text("rule"), form.text("shadow") == "1", form.text("version")
    store = _store(who)

    def act() -> str:
        if not seen.isdigit():
            raise InvalidRequest("the form names no rule set version: reload the page")
        ruleset = store.set_shadow(rule, shadow, seen=int(seen))
        who.sg.active_rules(max_age=0)
        mode = "in shadow mode: it is recorded but changes nothing" if shadow else "live"
        return f"rule {rule} is now {mode} (rule set version {ruleset.version})"

    return after_post(request, f"/ui/rules#rule-{quote(rule)}", act)


@router.get("/rules/versions/{version}", response_class=HTMLResponse)
def version_page(request: Request, version: int, who: Viewer = Depends(viewer)) -> Response:
    info, text = _store(who).get(version)
    return page(
        request,
        "rules_version.html",
        who,
        title=f"Rule set version {version}",
        info=info,
        text=text,
    )


@router.post("/rules/versions/{version}/restore")
def restore(request: Request, version: int, form: Posted = Depends(posted)) -> Response:
    """Apply an earlier version's text again, as a new version."""
    who = form.who
    store = _store(who)

    def act() -> str:
        _info, text = store.get(version)
        ruleset = store.apply(text, f"version {version} applied again")
        who.sg.active_rules(max_age=0)
        return f"version {version} applied again as version {ruleset.version}"

    return after_post(request, f"/ui/rules/versions/{version}", act, then="/ui/rules")


@router.get("/rules/report", response_class=HTMLResponse)
def report(request: Request, days: int = 7, who: Viewer = Depends(viewer)) -> Response:
    """What each rule, live or shadow, did over the last `days` days."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidRequest(f"days must be 1 to {MAX_DAYS}, got {days}")
    store = _store(who)
    return page(
        request,
        "rules_report.html",
        who,
        title="What the rules did",
        rows=store.report(utcnow() - timedelta(days=days)),
        ruleset=store.active(),
        days=days,
        choices=sorted({*REPORT_DAYS, days}),
    )
