"""`/v1/exchange/...`: feeds between safeguard instances (docs/exchange.md).

A peer's key (scope `exchange`) reads a feed's signed entries from a cursor, sends its
opinions on them back, and checks accounts privately against an identifier list; an admin
key (scope `admin`) publishes banks as feeds, reads the opinions peers sent, lists the
sources this instance follows and gives opinions on what they sent. Subscribing and
syncing are `safeguard exchange subscribe|sync` (and the worker). The library
(safeguard.exchange) checks and audits everything; these routes translate.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from safeguard.api.auth import Principal, require
from safeguard.api.errors import ErrorBody
from safeguard.api.models import NUMBER_ONLY, Strict, spec, whole
from safeguard.api.routes.common import MAX_ID, errors
from safeguard.api.runtime import Runtime, runtime
from safeguard.exchange import OPINIONS
from safeguard.exchange.feeds import FEED_NAME, MAX_NOTE, MAX_OPINIONS, MAX_PAGE
from safeguard.exchange.psi import LIST_NAME, MAX_REQUEST_BYTES
from safeguard.exchange.sources import SOURCE_NAME

peer_scope = require("exchange")
admin_scope = require("admin")
router = APIRouter(tags=["exchange"])

FeedName = Annotated[
    str, Path(description="a feed's name", max_length=100, pattern=whole(FEED_NAME.pattern))
]
SourceName = Annotated[
    str, Path(description="a source's name", max_length=100, pattern=whole(SOURCE_NAME.pattern))
]
#: item and content ids in bodies: every JSON reader holds them exactly (ids never get near)
MAX_BODY_ID = 2**53 - 1
Item = Annotated[int, Field(ge=1, le=MAX_BODY_ID), NUMBER_ONLY]
Opinion = Annotated[str, Field(json_schema_extra=spec(enum=list(OPINIONS)))]
Note = Annotated[str, Field(max_length=MAX_NOTE, pattern="^[^\\x00]*$")]
ListName = Annotated[
    str, Path(description="an identifier list", max_length=100, pattern=whole(LIST_NAME.pattern))
]
_NO_LIST: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such identifier list"}
}
_NO_FEED: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such feed (or item)"}
}


class OpinionIn(Strict):
    item: Item
    opinion: Opinion
    note: Note = ""


class OpinionsIn(Strict):
    opinions: list[OpinionIn] = Field(min_length=1, max_length=MAX_OPINIONS)


class PublishIn(Strict):
    name: str = Field(
        description="the feed's name: 1-100 letters, digits, '_', '-' or '.'",
        max_length=100,
        pattern=whole(FEED_NAME.pattern),
    )
    bank: str = Field(max_length=100, pattern="^[^\\x00]*$", description="the bank to publish")
    description: Note = ""


class MyOpinionIn(Strict):
    item: Item | None = Field(None, description="the publisher's item id (or content_id)")
    content_id: Item | None = Field(None, description="the local content it became")
    opinion: Opinion
    note: Note = ""


# -- what peers call -----------------------------------------------------------------------


@router.get("/v1/exchange/feeds/{feed}/entries", responses={**errors(400), **_NO_FEED})
def feed_entries(
    feed: FeedName,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="the last entry already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many")] = 1000,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(peer_scope),
) -> dict[str, object]:
    """A feed's signed entries after `after`, in order, with the publisher's key and the
    feed's head (docs/exchange.md: the wire format and how to check it)."""
    page = rt.sg.feeds_for(who.acting()).entries(feed, after=after, limit=limit)
    return page.to_json()


@router.post("/v1/exchange/feeds/{feed}/opinions", responses={**errors(400), **_NO_FEED})
def send_opinions(
    feed: FeedName,
    body: OpinionsIn,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(peer_scope),
) -> dict[str, object]:
    """A peer's opinions (confirmed, disputed, false_positive) on items of a feed; the
    latest per item and peer counts. 404 names an item the feed never published."""
    given = [(o.item, o.opinion, o.note) for o in body.opinions]
    n = rt.sg.feeds_for(who.acting()).record_opinions(feed, who.actor, given)
    return {"recorded": n}


class CheckIn(Strict):
    request: str = Field(
        min_length=1,
        max_length=MAX_REQUEST_BYTES,
        pattern="^[A-Za-z0-9+/]*={0,2}$",
        description="an OpenMined PSI Request message, base64 (docs/exchange.md)",
    )


@router.post("/v1/exchange/psi/{list_name}", responses={**errors(400), **_NO_LIST})
def check_accounts(
    list_name: ListName,
    body: CheckIn,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(peer_scope),
) -> dict[str, object]:
    """A peer's private account check against an identifier list: the list's setup message
    and the request blinded again, for the peer to find which of its identifiers are on it.
    This side learns only how many identifiers were asked about (audited)."""
    lists = rt.sg.identifier_lists_for(who.acting())
    return lists.answer(list_name, who.actor, body.request)


# -- what admins call ----------------------------------------------------------------------


@router.get("/v1/exchange/feeds", responses=errors())
def list_feeds(
    rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> list[dict[str, object]]:
    """The feeds this instance publishes, with the public key peers pin."""
    return [f.to_json() for f in rt.sg.feeds_for(who.acting()).list()]


@router.post("/v1/exchange/feeds", status_code=201, responses=errors(400, 404, 409))
def publish(
    body: PublishIn, rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> dict[str, object]:
    """Publish a bank as a feed: its items now, then every change (404: no such bank)."""
    svc = rt.sg.feeds_for(who.acting())
    return svc.publish(body.name, body.bank, description=body.description).to_json()


@router.get("/v1/exchange/feeds/{feed}/opinions", responses={**errors(), **_NO_FEED})
def feed_opinions(
    feed: FeedName,
    item: Annotated[int | None, Query(ge=1, le=MAX_ID, description="one item only")] = None,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(admin_scope),
) -> list[dict[str, object]]:
    """What peers said about the feed's items, per item and peer."""
    return [o.to_json() for o in rt.sg.feeds_for(who.acting()).opinions(feed, item=item)]


@router.get("/v1/exchange/sources", responses=errors())
def list_sources(
    rt: Runtime = Depends(runtime), who: Principal = Depends(admin_scope)
) -> list[dict[str, object]]:
    """The peers' feeds this instance follows: cursor, trust, the last sync's outcome."""
    return [s.to_json() for s in rt.sg.sources_for(who.acting()).list()]


@router.post("/v1/exchange/sources/{name}/opinions", responses={**errors(400), **_NO_FEED})
def give_opinion(
    name: SourceName,
    body: MyOpinionIn,
    rt: Runtime = Depends(runtime),
    who: Principal = Depends(admin_scope),
) -> dict[str, object]:
    """Say what this instance thinks of an item a source sent (by `item` or `content_id`,
    one of them): sent to the publisher on the next sync; false_positive also switches the
    item off here."""
    svc = rt.sg.sources_for(who.acting())
    info = svc.set_opinion(
        name, body.opinion, item=body.item, content_id=body.content_id, note=body.note
    )
    return info.to_json()
