"""`/v1/rules`, `/v1/users`, `/v1/webhooks` (scope: admin; rule sets are also read with a
`review` key) and `/v1/audit` (scope: audit): the configuration of the act-and-review loop
and its audit log over HTTP.

The routes are thin: the key's scope opens a route, then the key's user (`who.acting()`)
decides what it may do, checked by the library (`RuleStore`, `UserService`,
`WebhookService`, `AuditReader`), which audits every change, as the CLI does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import AfterValidator, BaseModel, Field

from safeguard.access.people import ROLES, USER_NAME, UserService
from safeguard.api.auth import Principal, bearer, require
from safeguard.api.errors import ApiError, ErrorBody
from safeguard.api.models import NUMBER_ONLY, Strict, spec, whole
from safeguard.api.routes.common import MAX_ID, errors
from safeguard.api.runtime import Runtime, runtime
from safeguard.audit.reader import MAX_LIMIT, AuditReader
from safeguard.audit.verify import verify
from safeguard.errors import RulesInvalid
from safeguard.outbox import TOPICS, WebhookService
from safeguard.outbox.webhooks import ENDPOINT_NAME, LIST_LIMIT, MAX_URL, MIN_SECRET
from safeguard.rules import RuleSet, RuleStore, parse_moment
from safeguard.rules.parse import MAX_TEXT

admin_scope = require("admin")
audit_scope = require("audit")
rules = APIRouter(tags=["rules"])
admin = APIRouter()
audit = APIRouter(tags=["audit"])

#: where an applied or checked rule set came from, as its messages and audit entry say
RULES_SOURCE = "request body"
#: rule set versions are 32-bit integers in the store
MAX_VERSION = 2**31 - 1
#: the largest job id taken: every JSON reader holds it exactly (ids never get near it)
MAX_JOB_ID = 2**53 - 1
#: text the store can hold, checked by the server (PostgreSQL text holds no NUL)
NO_NUL = "^[^\\x00]*$"


def any_scope(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """The dependency for a route open to a key with any of `scopes` (401, 429 and the rate
    limit as `require` gives them; 403 naming every scope when the key has none)."""
    checks = [require(s) for s in scopes]

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> Principal:
        for check in checks:
            try:
                return await check(request, credentials)
            except ApiError as e:
                if e.status != 403:
                    raise
        needed = " or ".join(repr(s) for s in scopes)
        raise ApiError(403, f"this API key lacks the {needed} scope", "forbidden")

    dependency.__name__ = "require_" + "_or_".join(scopes)
    return dependency


rules_reader = any_scope("review", "admin")


def one_of(options: tuple[str, ...], what: str) -> Callable[[str], str]:
    """A pydantic check that a value is one of `options` (a 422 naming them otherwise)."""

    def check(value: str) -> str:
        if value not in options:
            raise ValueError(f"unknown {what} {value!r}: use {', '.join(options)}")
        return value

    return check


Role = Annotated[
    str, Field(json_schema_extra=spec(enum=list(ROLES))), AfterValidator(one_of(ROLES, "role"))
]
Topic = Annotated[
    str, Field(json_schema_extra=spec(enum=list(TOPICS))), AfterValidator(one_of(TOPICS, "topic"))
]
UserName = Annotated[
    str, Path(description="a user's name", max_length=100, pattern=whole(USER_NAME.pattern))
]
WebhookName = Annotated[
    str,
    Path(description="an endpoint's name", max_length=100, pattern=whole(ENDPOINT_NAME.pattern)),
]
#: webhook URLs the library takes: http(s), a host name or IPv4 address, an optional port,
#: then printable ASCII; no user name or password, no spaces (IPv6 literals are not taken)
WEBHOOK_URL = r"^https?://[A-Za-z0-9][A-Za-z0-9.\-]*(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$"


# -- bodies --------------------------------------------------------------------------------


class RulesIn(Strict):
    text: str = Field(max_length=MAX_TEXT, description="a rule set in YAML (docs/moderation.md)")


class RuleProblem(BaseModel):
    line: int = Field(description="the line of the problem (0: the whole text)")
    message: str


class RulesRefused(ErrorBody):
    """A rule set refused: every problem (a body that is not JSON has none)."""

    ok: bool = False
    problems: list[RuleProblem] = Field(default_factory=list)


class UserIn(Strict):
    name: str = Field(
        description="1-100 letters, digits, '_', '-', '.' or '@'",
        max_length=100,
        pattern=whole(USER_NAME.pattern),
    )
    roles: list[Role] = Field(min_length=1, max_length=len(ROLES))
    display_name: str = Field("", max_length=200, pattern=NO_NUL)


class RolesIn(Strict):
    roles: list[Role] = Field(min_length=1, max_length=len(ROLES))


class WebhookIn(Strict):
    name: str = Field(
        description="1-100 letters, digits, '_', '-' or '.'",
        max_length=100,
        pattern=whole(ENDPOINT_NAME.pattern),
    )
    url: str = Field(max_length=MAX_URL, pattern=WEBHOOK_URL, description="where to POST")
    topics: list[Topic] | None = Field(
        None, min_length=1, max_length=len(TOPICS), description="default: every topic"
    )
    secret: str | None = Field(
        None,
        min_length=MIN_SECRET,
        max_length=200,
        pattern="^[ -~]*$",
        description="the signing secret, printable ASCII (default: one is generated and "
        "returned once)",
    )


class ReplayOne(Strict):
    job_id: Annotated[int, Field(ge=1, le=MAX_JOB_ID), NUMBER_ONLY]


class ReplayAll(Strict):
    all_failed: Literal[True]


# -- rule sets -----------------------------------------------------------------------------

_RULES_400: dict[int | str, dict[str, Any]] = {
    400: {"model": RulesRefused, "description": "An invalid rule set: every problem, at its line"}
}


def _store(rt: Runtime, who: Principal) -> RuleStore:
    return RuleStore(rt.sg.db, who.acting())


def _refused(e: RulesInvalid) -> JSONResponse:
    problems = [{"line": n, "message": m} for n, m in e.problems]
    message = "; ".join(line.strip() for line in e.message.splitlines() if line.strip())
    body = {"message": message, "code": e.code, "ok": False, "problems": problems}
    return JSONResponse(body, status_code=400)


def _names(ruleset: RuleSet) -> dict[str, object]:
    return {"rules": list(ruleset.names), "shadow": list(ruleset.shadow_names)}


@rules.get("/v1/rules", responses=errors())
def active_rules(
    rt: Runtime = Depends(runtime), who: Principal = Depends(rules_reader)
) -> dict[str, object]:
    """The active rule set: its version, rules, shadow rules and YAML `text` (version 0 is the
    built-in default, active until one is applied). Any role may read it."""
    info, text = _store(rt, who).get()
    return {**info.to_json(), "text": text}


@rules.get("/v1/rules/history", responses=errors())
def rules_history(
    rt: Runtime = Depends(runtime), who: Principal = Depends(rules_reader)
) -> list[dict[str, object]]:
    """Every version applied, newest first, then the built-in default (version 0)."""
    return [i.to_json() for i in _store(rt, who).history()]


@rules.get("/v1/rules/report", responses=errors(400))
def rules_report(
    since: str = Query(
        "7d", max_length=50, description="start: a duration ago (7d, 24h) or an ISO date/time"
    ),
    until: str | None = Query(None, max_length=50, description="end (default: now), as `since`"),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(rules_reader),
) -> dict[str, object]:
    """How each rule (live and shadow) did in the window: hits, events, accounts, verdicts,
    how often a shadow rule disagreed with the actual verdict, accounts later confirmed."""
    start = parse_moment(since, "since")
    end = parse_moment(until, "until") if until is not None else None
    rows = _store(rt, who).report(start, end)
    return {
        "since": start.isoformat(),
        "until": end.isoformat() if end else None,
        "rules": [r.to_json() for r in rows],
    }


@rules.get("/v1/rules/versions/{version}", responses=errors(400, 404))
def rules_version(
    version: Annotated[int, Path(ge=0, le=MAX_VERSION, description="0: the built-in default")],
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(rules_reader),
) -> dict[str, object]:
    """One version of the rule set with its YAML `text` (400 when there is no such version)."""
    info, text = _store(rt, who).get(version)
    return {**info.to_json(), "text": text}


@rules.post("/v1/rules/validate", response_model=None, responses={**errors(), **_RULES_400})
def validate_rules(
    body: RulesIn, rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> dict[str, object] | JSONResponse:
    """Check a rule set against this store's banks without applying it: `{"ok": true}` with
    its rules, or 400 with every problem and its line."""
    try:
        ruleset = _store(rt, who).validate(body.text, RULES_SOURCE)
    except RulesInvalid as e:
        return _refused(e)
    return {"ok": True, **_names(ruleset)}


@rules.post(
    "/v1/rules", status_code=201, response_model=None, responses={**errors(409), **_RULES_400}
)
def apply_rules(
    body: RulesIn, rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> dict[str, object] | JSONResponse:
    """Validate a rule set and make it the active one, as a new version (the key's user
    must be an admin; audited). On any problem (400, every problem with its line) nothing
    changes and the old set stays active."""
    try:
        ruleset = _store(rt, who).apply(body.text, RULES_SOURCE)
    except RulesInvalid as e:
        return _refused(e)
    # this process judges the next event by the new set at once (others within a second)
    rt.sg.active_rules(max_age=0)
    return {"ok": True, "version": ruleset.version, **_names(ruleset)}


# -- users ---------------------------------------------------------------------------------

_NO_USER: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such user"}
}


def _users(rt: Runtime, who: Principal) -> UserService:
    return UserService(rt.sg.db, who.acting())


@admin.get("/v1/users", tags=["users"], responses=errors())
def list_users(
    rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> list[dict[str, object]]:
    """Every user with their roles (disabled ones too, with `disabled_at`)."""
    return [u.to_json() for u in _users(rt, who).list()]


@admin.post("/v1/users", tags=["users"], status_code=201, responses=errors(400, 409))
def create_user(
    body: UserIn, rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> dict[str, object]:
    """Create a user (400 when the name is taken). Keys act for a user when made with
    `safeguard keys create NAME --user USER`."""
    svc = _users(rt, who)
    return svc.create(body.name, body.roles, display_name=body.display_name).to_json()


@admin.put("/v1/users/{name}/roles", tags=["users"], responses={**errors(400), **_NO_USER})
def set_user_roles(
    name: UserName,
    body: RolesIn,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(admin_scope),
) -> dict[str, object]:
    """Replace a user's roles."""
    return _users(rt, who).set_roles(name, body.roles).to_json()


@admin.post("/v1/users/{name}/disable", tags=["users"], responses={**errors(), **_NO_USER})
def disable_user(
    name: UserName, rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> dict[str, object]:
    """Disable a user: their keys act with no role from then on (within the seconds a server
    keeps a verified key). Users are never deleted, so the audit log keeps naming them."""
    return _users(rt, who).disable(name).to_json()


# -- webhooks ------------------------------------------------------------------------------


def _webhooks(rt: Runtime, who: Principal) -> WebhookService:
    return WebhookService(rt.sg.db, who.acting())


@admin.get("/v1/webhooks", tags=["webhooks"], responses=errors())
def list_webhooks(
    rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> list[dict[str, object]]:
    """Every endpoint with its topics (never its secret)."""
    return [e.to_json() for e in _webhooks(rt, who).list()]


@admin.post("/v1/webhooks", tags=["webhooks"], status_code=201, responses=errors(400, 409))
def add_webhook(
    body: WebhookIn, rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> dict[str, object]:
    """Add an endpoint. Without `secret` one is generated and returned here, once: it signs
    the endpoint's messages and is never shown again (400 when the name is taken)."""
    new = _webhooks(rt, who).add(body.name, body.url, topics=body.topics, secret=body.secret)
    return {**new.info.to_json(), **({"secret": new.secret} if new.generated else {})}


@admin.delete("/v1/webhooks/{name}", tags=["webhooks"], responses=errors(400, 404))
def remove_webhook(
    name: WebhookName, rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> dict[str, object]:
    """Remove an endpoint (400 when there is none of that name); its undelivered jobs
    become failed, replayable once it is added again."""
    return _webhooks(rt, who).remove(name).to_json()


@admin.get("/v1/webhooks/failed", tags=["webhooks"], responses=errors())
def failed_webhooks(
    limit: int = Query(100, ge=1, le=LIST_LIMIT),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(admin_scope),
) -> list[dict[str, object]]:
    """Deliveries that failed for good, oldest first."""
    return [j.to_json() for j in _webhooks(rt, who).failed(limit)]


@admin.post("/v1/webhooks/replay", tags=["webhooks"], responses=errors(400, 404))
def replay_webhooks(
    body: ReplayOne | ReplayAll,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(admin_scope),
) -> dict[str, object]:
    """Send failed jobs again: `{"job_id": N}` (400 unless that job failed and its endpoint
    exists) or `{"all_failed": true}`. Each goes back to pending; audited."""
    job_id = body.job_id if isinstance(body, ReplayOne) else None
    jobs = _webhooks(rt, who).replay(job_id, all_failed=job_id is None)
    return {"replayed": [j.to_json() for j in jobs]}


# -- the audit log -------------------------------------------------------------------------

_AUDIT_403: dict[int | str, dict[str, Any]] = {
    403: {
        "model": ErrorBody,
        "description": "The key lacks the audit scope, or its user is no auditor or admin",
    }
}


@audit.get("/v1/audit", responses={**errors(), **_AUDIT_403})
def audit_entries(
    after: int = Query(0, ge=0, le=MAX_ID, description="the seq to start after"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    subject: str | None = Query(None, max_length=200, pattern=NO_NUL, description="case:12..."),
    action: str | None = Query(
        None, max_length=60, pattern=NO_NUL, description="an action; 'bank.*': every bank action"
    ),
    actor: str | None = Query(None, max_length=200, pattern=NO_NUL, description="user:alice..."),
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(audit_scope),
) -> dict[str, object]:
    """Audit entries in seq order, a page at a time (the key's user must be an auditor or an
    admin); `next_after` is the `after` of the next page (null at the end)."""
    reader = AuditReader(rt.sg.db, who.acting())
    found = reader.entries(after, limit, subject=subject, action=action, actor_name=actor)
    items = [e.to_json() for e in found]
    return {"items": items, "next_after": found[-1].seq if len(found) == limit else None}


@audit.get("/v1/audit/verify", responses={**errors(), **_AUDIT_403})
def audit_verify(
    rt: Runtime = Depends(runtime), who: Principal = Depends(audit_scope)
) -> dict[str, object]:
    """Check the whole hash chain and every signed checkpoint: `ok` false names the first
    bad entry (as `safeguard audit verify --json`)."""
    return verify(rt.sg.db, rt.settings, actor=who.acting()).to_json()
