"""`safeguard exchange ...`: share banks with other safeguard instances (docs/exchange.md).

Publisher: `key` (the public key peers pin), `publish BANK`, `feeds`, `entries FEED`,
`opinions FEED` (what peers said), `unpublish FEED`. Subscriber: `subscribe NAME ADDRESS`,
`sources`, `sync [NAME] [--follow]`, `opinion SOURCE` (say what you think of an item),
`my-opinions SOURCE`, `unsubscribe NAME`. Peers call the publisher over HTTP with a key of
scope `exchange` (`safeguard keys create PEER --scope exchange`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from safeguard.cli.context import state
from safeguard.cli.output import err_console, out_console, print_json, reporter, stop_on_signals
from safeguard.engine import Safeguard, parse_thresholds
from safeguard.errors import InvalidRequest, SafeguardError
from safeguard.exchange import OPINIONS, FeedInfo, SourceInfo, SyncReport

app = typer.Typer(help="Exchange: publish banks to peers, follow theirs.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON.")


@contextmanager
def _engine() -> Iterator[Safeguard]:
    sg = state.open()
    try:
        yield sg
    finally:
        sg.close()


def _show(info: Any, json_output: bool, text: str) -> None:
    """One record: its JSON, or a line for people."""
    if json_output:
        print_json(info.to_json())
    else:
        out_console.print(text, markup=False)


def _show_all(
    found: Sequence[Any], json_output: bool, line: Callable[[Any], str], none: str
) -> None:
    """Records: a JSON array, or a line each for people (`none` on stderr when empty)."""
    if json_output:
        print_json([x.to_json() for x in found])
        return
    for x in found:
        out_console.print(line(x), markup=False)
    if not found and none:
        err_console.print(none, markup=False)


def _show_feed(f: FeedInfo) -> str:
    return (
        f"{f.name}: bank {f.bank or '(deleted)'}, {f.items} item(s), {f.head_seq} entries, "
        f"key {f.key_id}"
    )


def _show_source(s: SourceInfo) -> str:
    trust = "may block" if s.may_block else "holds only"
    state_ = "" if s.enabled else " (disabled)"
    last = f"{s.last_sync_at:%Y-%m-%d %H:%M:%S}" if s.last_sync_at else "never"
    error = f"\n  last error: {s.last_error}" if s.last_error else ""
    where = f"the {s.api} service" if s.kind == "api" else f"feed {s.feed} at {s.url}"
    at = "" if s.kind == "api" else f", at entry {s.cursor}"
    return (
        f"{s.name}: {where} -> bank {s.bank} ({trust}){state_}; "
        f"{s.items} item(s){at}, synced {last}{error}"
    )


@app.command("key")
def key(json_output: bool = JSON) -> None:
    """This instance's exchange public key (created on first use): give it to peers, who
    pin it when they subscribe."""
    with _engine() as sg:
        out = sg.feeds_for(state.actor(sg.db)).key()
    if json_output:
        print_json(out)
    else:
        out_console.print(f"{out['public_key']}  (key id {out['key_id']})", markup=False)


@app.command("publish")
def publish(
    bank: str,
    feed: str | None = typer.Option(None, "--feed", help="The feed's name (default: the bank's)."),
    description: str = typer.Option("", "--description", help="What the feed holds."),
    json_output: bool = JSON,
) -> None:
    """Publish a bank as a feed: its items now, then every addition and removal."""
    with _engine() as sg:
        info = sg.feeds_for(state.actor(sg.db)).publish(feed or bank, bank, description=description)
    _show(info, json_output, f"published {_show_feed(info)}")


@app.command("unpublish")
def unpublish(feed: str, json_output: bool = JSON) -> None:
    """Stop publishing a feed (its entries are deleted; peers get 404 from now on)."""
    with _engine() as sg:
        info = sg.feeds_for(state.actor(sg.db)).unpublish(feed)
    _show(info, json_output, f"unpublished {feed!r}")


@app.command("feeds")
def feeds(json_output: bool = JSON) -> None:
    """The feeds this instance publishes."""
    with _engine() as sg:
        found = sg.feeds_for(state.actor(sg.db)).list()
    _show_all(found, json_output, _show_feed, "no feeds published (`exchange publish BANK`)")


@app.command("entries")
def entries(
    feed: str,
    after: int = typer.Option(0, "--after", min=0, help="Entries after this one."),
    limit: int = typer.Option(100, "--limit", min=1, max=5000, help="At most this many."),
) -> None:
    """A feed's entries as peers read them, one JSON object per line (brought up to date
    with the bank first)."""
    with _engine() as sg:
        page = sg.feeds_for(state.actor(sg.db)).entries(feed, after=after, limit=limit)
    for e in page.entries:
        print_json(e)


@app.command("opinions")
def opinions(
    feed: str,
    item: int | None = typer.Option(None, "--item", min=1, help="One item only."),
    json_output: bool = JSON,
) -> None:
    """What peers said about a feed's items (confirmed, disputed, false_positive)."""
    with _engine() as sg:
        found = sg.feeds_for(state.actor(sg.db)).opinions(feed, item=item)
    _show_all(
        found,
        json_output,
        lambda o: (
            f"item {o.item}: {o.opinion} by {o.peer} at {o.at:%Y-%m-%d %H:%M}"
            + (f": {o.note}" if o.note else "")
        ),
        "no opinions yet",
    )


@app.command("subscribe")
def subscribe(
    name: str,
    address: str = typer.Argument(..., help="The publisher's base address, http(s)://host:port"),
    feed: str = typer.Option(..., "--feed", help="The feed to follow."),
    public_key: str = typer.Option(
        ..., "--key", help="The publisher's public key (`safeguard exchange key` there)."
    ),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Read the publisher's API key from this variable."
    ),
    api_key_file: str | None = typer.Option(
        None, "--api-key-file", help="Read the publisher's API key from this file."
    ),
    bank: str | None = typer.Option(None, "--bank", help="The bank to fill (peer-NAME)."),
    may_block: bool = typer.Option(
        False,
        "--may-block",
        help="Let this source's matches block (default: they hold for review at most).",
    ),
    threshold: list[str] = typer.Option(
        [], "--threshold", help="TYPE=N: the bank's distance threshold for a signal type."
    ),
    json_output: bool = JSON,
) -> None:
    """Follow a peer's feed into a bank of its own. The API key is never stored: name the
    variable or file it is read from at each sync."""
    if (api_key_env is None) == (api_key_file is None):
        raise InvalidRequest("give the publisher's API key with --api-key-env or --api-key-file")
    credential = f"env:{api_key_env}" if api_key_env else f"file:{api_key_file}"
    with _engine() as sg:
        info = sg.sources_for(state.actor(sg.db)).subscribe(
            name,
            address,
            feed,
            public_key,
            credential,
            bank=bank,
            may_block=may_block,
            thresholds=parse_thresholds(threshold) or None,
        )
    _show(info, json_output, f"subscribed {_show_source(info)}")


@app.command("subscribe-api")
def subscribe_api(
    name: str,
    api: str = typer.Option(
        ..., "--api", help="The service: ncmec, stop_ncii, fb_threatexchange or local_file."
    ),
    config: str = typer.Option(
        "{}",
        "--config",
        help='Its settings as JSON, as python-threatexchange names them: {"environment": '
        '"Industry"} for ncmec, {"filename": "/path"} for local_file.',
    ),
    credential_env: str | None = typer.Option(
        None, "--credential-env", help="Read its credentials from this variable (ncmec: user:pass)."
    ),
    credential_file: str | None = typer.Option(
        None, "--credential-file", help="Or from this file."
    ),
    address: str | None = typer.Option(
        None, "--address", help="Another address for the service (a proxy, a stand-in)."
    ),
    bank: str | None = typer.Option(None, "--bank", help="The bank to fill (peer-NAME)."),
    may_block: bool = typer.Option(
        False, "--may-block", help="Let its matches block (default: they hold at most)."
    ),
    threshold: list[str] = typer.Option(
        [], "--threshold", help="TYPE=N: the bank's distance threshold for a signal type."
    ),
    json_output: bool = JSON,
) -> None:
    """Follow a hash-sharing service (through python-threatexchange) into a bank of its
    own; `exchange sync` fetches what changed since the last sync."""
    try:
        settings = json.loads(config)
    except ValueError as e:
        raise InvalidRequest(f"--config is not JSON: {e}") from None
    if not isinstance(settings, dict):
        raise InvalidRequest("--config is a JSON object of the service's settings")
    if credential_env is not None and credential_file is not None:
        raise InvalidRequest("give --credential-env or --credential-file, not both")
    credential = (
        f"env:{credential_env}"
        if credential_env
        else f"file:{credential_file}"
        if credential_file
        else None
    )
    with _engine() as sg:
        info = sg.sources_for(state.actor(sg.db)).subscribe_api(
            name,
            api,
            settings,
            credential=credential,
            address=address,
            bank=bank,
            may_block=may_block,
            thresholds=parse_thresholds(threshold) or None,
        )
    _show(info, json_output, f"subscribed {_show_source(info)}")


@app.command("unsubscribe")
def unsubscribe(
    name: str,
    delete_bank: bool = typer.Option(False, "--delete-bank", help="Delete its bank too."),
    json_output: bool = JSON,
) -> None:
    """Stop following a source (its bank stays and matches unless --delete-bank)."""
    with _engine() as sg:
        info = sg.sources_for(state.actor(sg.db)).unsubscribe(name, delete_bank=delete_bank)
    _show(info, json_output, f"unsubscribed {name!r}")


@app.command("sources")
def sources(json_output: bool = JSON) -> None:
    """The peers' feeds this instance follows."""
    with _engine() as sg:
        found = sg.sources_for(state.actor(sg.db)).list()
    _show_all(found, json_output, _show_source, "no sources (`exchange subscribe`)")


@app.command("sync")
def sync(
    name: str | None = typer.Argument(None, help="One source (default: every enabled one)."),
    follow: bool = typer.Option(
        False, "--follow", help="Keep syncing until SIGTERM or SIGINT (exit 0)."
    ),
    interval: float = typer.Option(
        2.0, "--interval", min=0.1, help="Seconds between syncs with --follow."
    ),
    page_size: int = typer.Option(
        500, "--page", min=1, max=5000, help="Entries asked for (and applied) at a time."
    ),
    show_progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Progress bar on a terminal."
    ),
    json_output: bool = JSON,
) -> None:
    """Read sources' feeds: opinions sent, new entries checked and applied. Exit 1 when a
    sync failed (the error names the entry; nothing of a bad page is applied)."""
    stop = threading.Event()
    failed = False
    with (
        _engine() as sg,
        stop_on_signals(stop, "the page under way"),
        reporter(show_progress) as rep,
    ):
        syncer = sg.syncer_for(state.actor(sg.db))
        syncer.page = page_size

        def page(r: SyncReport) -> None:
            rep.start(max(r.head_seq, r.cursor), f"sync {r.source}")
            rep.advance(r.cursor - rep.completed)

        def once() -> bool:
            if name is not None:
                reports = [syncer.sync(name, stop=stop, on_page=page, raise_errors=False)]
            else:
                reports = syncer.sync_all(stop)
            for r in reports:
                if json_output:
                    rep.record(r.to_json())
                elif r.entries or r.opinions_sent or not r.ok:
                    outcome = f"failed: {r.error}" if not r.ok else "ok"
                    rep.line(
                        f"{r.source}: {r.entries} entries ({r.added} added, {r.removed} "
                        f"removed), {r.opinions_sent} opinion(s) sent, at entry {r.cursor} "
                        f"of {r.head_seq}; {outcome}"
                    )
            return all(r.ok for r in reports)

        while True:
            try:
                ok = once()
            except SafeguardError as e:
                if not follow:
                    raise
                rep.warn(f"sync failed: {e.message}")
                ok = False
            failed = failed or not ok
            if not follow or stop.wait(interval):
                break
    if failed and not follow:
        raise typer.Exit(1)


@app.command("opinion")
def opinion(
    source: str,
    opinion_: str = typer.Option(..., "--opinion", help=f"One of {', '.join(OPINIONS)}."),
    item: int | None = typer.Option(None, "--item", min=1, help="The publisher's item id."),
    content_id: int | None = typer.Option(
        None, "--content-id", min=1, help="Or the local content it became."
    ),
    note: str = typer.Option("", "--note", help="Why (sent to the publisher)."),
    json_output: bool = JSON,
) -> None:
    """Say what you think of an item a source sent; the publisher sees it after the next
    sync. false_positive also switches the item off here at once."""
    with _engine() as sg:
        info = sg.sources_for(state.actor(sg.db)).set_opinion(
            source, opinion_, item=item, content_id=content_id, note=note
        )
    _show(info, json_output, f"{source} item {info.item}: {info.opinion} (sent at the next sync)")


@app.command("my-opinions")
def my_opinions(source: str, json_output: bool = JSON) -> None:
    """The opinions given on a source's items, and whether the publisher has them."""
    with _engine() as sg:
        found = sg.sources_for(state.actor(sg.db)).my_opinions(source)
    _show_all(
        found,
        json_output,
        lambda o: f"item {o.item}: {o.opinion} ({'sent' if o.sent else 'not sent yet'})",
        "no opinions given",
    )


# -- private account checks ----------------------------------------------------------------

identifiers = typer.Typer(
    help="Lists of account identifiers peers may check privately.", no_args_is_help=True
)
app.add_typer(identifiers, name="identifiers")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a file's lines that are neither blank nor `#` comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidRequest(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield n, line.strip()


@identifiers.command("add")
def identifiers_add(
    list_name: str,
    file: Path = typer.Argument(
        ..., help="One KIND:VALUE per line (email, phone, handle, account)."
    ),
    json_output: bool = JSON,
) -> None:
    """Add identifiers to a list, all or none; only their SHA-256 digests are stored."""
    with _engine() as sg:
        added = sg.identifier_lists_for(state.actor(sg.db)).add(list_name, _lines(file))
    if json_output:
        print_json({"list": list_name, "added": added})
    else:
        out_console.print(f"{added} identifier(s) added to {list_name!r}", markup=False)


@identifiers.command("list")
def identifiers_list(json_output: bool = JSON) -> None:
    """The identifier lists, with how many identifiers of each kind."""
    with _engine() as sg:
        found = sg.identifier_lists_for(state.actor(sg.db)).list()
    _show_all(
        found,
        json_output,
        lambda i: (
            f"{i.name}: {i.identifiers} ("
            + ", ".join(f"{n} {k}" for k, n in sorted(i.kinds.items()))
            + ")"
        ),
        "no identifier lists",
    )


@identifiers.command("clear")
def identifiers_clear(list_name: str, json_output: bool = JSON) -> None:
    """Delete a list."""
    with _engine() as sg:
        removed = sg.identifier_lists_for(state.actor(sg.db)).clear(list_name)
    if json_output:
        print_json({"list": list_name, "removed": removed})
    else:
        out_console.print(f"list {list_name!r} deleted ({removed} identifiers)", markup=False)


@app.command("check")
def check(
    source: str,
    list_name: str,
    file: Path = typer.Argument(..., help="CSV lines ACCOUNT_ID,KIND:VALUE (a header is skipped)."),
    json_output: bool = JSON,
) -> None:
    """Check accounts' identifiers against a list at a source's publisher, privately (PSI):
    neither side sees the other's list. Each account found opens a case for review."""
    rows = []
    for n, line in _lines(file):
        account, sep, identifier = line.partition(",")
        if n == 1 and account.strip().lower() == "account_id":
            continue
        rows.append((n, account.strip(), identifier.strip() if sep else ""))
    with _engine() as sg:
        report = sg.account_checker_for(state.actor(sg.db)).check(source, list_name, rows)
    if json_output:
        print_json(report.to_json())
        return
    out_console.print(
        f"{report.checked} identifier(s) checked against {source}'s list {list_name!r}: "
        f"{len(report.hits)} found",
        markup=False,
    )
    for h in report.hits:
        out_console.print(f"  {h.account_id} ({h.kind}): case {h.case_id}", markup=False)
