"""`safeguard webhooks ...`: where verdicts and decisions are sent, and deliveries that
failed (list, replay). `safeguard worker` does the sending."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table

from safeguard.cli.context import state
from safeguard.cli.output import err_console, out_console, print_json
from safeguard.errors import InvalidRequest
from safeguard.outbox import TOPICS, EndpointInfo, JobInfo, WebhookService
from safeguard.store import Database

app = typer.Typer(
    help="Webhooks: tell the platform about verdicts and decisions.", no_args_is_help=True
)

JSON = typer.Option(False, "--json", help="Print JSON.")
LIMIT = typer.Option(100, "--limit", min=1, max=1000, help="Show at most this many jobs.")


@contextmanager
def _service() -> Iterator[WebhookService]:
    db = Database.open(state.get_settings().database_url)
    try:
        yield WebhookService(db, state.actor(db))
    finally:
        db.close()


def _show_endpoint(info: EndpointInfo) -> str:
    status = "" if info.enabled else " (disabled)"
    return f"{info.name}: {info.url} [{', '.join(info.topics)}]{status}"


def _jobs_table(jobs: list[JobInfo], *, waiting: bool = False) -> Table:
    columns = ["id", "endpoint", "topic", "state", "attempts", "last error", "created"]
    table = Table(*columns, *(["next attempt"] if waiting else []))
    for j in jobs:
        row = [str(j.id), j.endpoint, j.topic, j.state, str(j.attempts), j.last_error]
        row.append(f"{j.created_at:%Y-%m-%d %H:%M:%S}")
        if waiting:
            row.append(f"{j.next_attempt_at:%Y-%m-%d %H:%M:%S}" if j.state == "pending" else "")
        table.add_row(*row)
    return table


@app.command("add")
def add(
    name: str,
    url: str,
    topic: list[str] = typer.Option(
        [], "--topic", "-t", help=f"A topic to send (repeat; default all): {', '.join(TOPICS)}."
    ),
    secret: str | None = typer.Option(
        None, "--secret", help="The signing secret (default: generate one and print it once)."
    ),
    json_output: bool = JSON,
) -> None:
    """Add an endpoint. A generated secret is printed once: give it to the platform now."""
    topics = [t for item in topic for t in item.split(",")]
    with _service() as svc:
        new = svc.add(name, url, topics=topics, secret=secret)
    if json_output:
        print_json({**new.info.to_json(), **({"secret": new.secret} if new.generated else {})})
        return
    if new.generated:
        out_console.print(new.secret, markup=False)
        err_console.print(
            f"added webhook {name!r} for {', '.join(new.info.topics)}; the secret above signs "
            "its messages and cannot be shown again",
            markup=False,
        )
    else:
        out_console.print(f"added webhook {_show_endpoint(new.info)}", markup=False)


@app.command("list")
def list_endpoints(json_output: bool = JSON) -> None:
    """List endpoints (never their secrets)."""
    with _service() as svc:
        endpoints = svc.list()
    if json_output:
        print_json([e.to_json() for e in endpoints])
        return
    for e in endpoints:
        out_console.print(_show_endpoint(e), markup=False)


@app.command("remove")
def remove(name: str, json_output: bool = JSON) -> None:
    """Remove an endpoint; its undelivered jobs become failed (replayable if re-added)."""
    with _service() as svc:
        info = svc.remove(name)
    if json_output:
        print_json(info.to_json())
    else:
        out_console.print(f"removed webhook {name!r}", markup=False)


def _set_enabled(name: str, enabled: bool, json_output: bool) -> None:
    with _service() as svc:
        info = svc.set_enabled(name, enabled)
    if json_output:
        print_json(info.to_json())
    else:
        out_console.print(_show_endpoint(info), markup=False)


@app.command("disable")
def disable(name: str, json_output: bool = JSON) -> None:
    """Stop sending to an endpoint: no new jobs; its pending jobs wait."""
    _set_enabled(name, False, json_output)


@app.command("enable")
def enable(name: str, json_output: bool = JSON) -> None:
    """Send to a disabled endpoint again."""
    _set_enabled(name, True, json_output)


@app.command("failed")
def failed(json_output: bool = JSON, limit: int = LIMIT) -> None:
    """Deliveries that failed for good, with what went wrong last."""
    with _service() as svc:
        jobs = svc.failed(limit)
    if json_output:
        print_json([j.to_json() for j in jobs])
    elif jobs:
        out_console.print(_jobs_table(jobs))
    else:
        err_console.print("no failed deliveries")


@app.command("pending")
def pending(json_output: bool = JSON, limit: int = LIMIT) -> None:
    """Deliveries waiting or under way."""
    with _service() as svc:
        jobs = svc.pending(limit)
    if json_output:
        print_json([j.to_json() for j in jobs])
    elif jobs:
        out_console.print(_jobs_table(jobs, waiting=True))
    else:
        err_console.print("nothing waiting")


@app.command("replay")
def replay(
    job_id: int | None = typer.Argument(None, help="The failed job to send again."),
    all_failed: bool = typer.Option(False, "--all-failed", help="Send every failed job again."),
    json_output: bool = JSON,
) -> None:
    """Send failed deliveries again (back to pending, attempts reset): the worker sends them."""
    if job_id is None and not all_failed:
        raise InvalidRequest("give a failed job's id, or --all-failed")
    with _service() as svc:
        jobs = svc.replay(job_id, all_failed=all_failed)
    if json_output:
        print_json([j.to_json() for j in jobs])
    else:
        ids = ", ".join(str(j.id) for j in jobs) or "none"
        out_console.print(f"replaying {len(jobs)} job(s): {ids}", markup=False)


@app.command("stats")
def stats(json_output: bool = JSON) -> None:
    """Jobs by state, and the age of the oldest undelivered one."""
    with _service() as svc:
        counts = svc.stats()
    if json_output:
        print_json(counts)
        return
    for key, value in counts.items():
        out_console.print(f"{key}: {value:g}", markup=False)
