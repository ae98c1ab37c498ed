"""`safeguard events submit FILE`: judge events (JSON Lines) and print each verdict."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from safeguard.cli.context import state
from safeguard.cli.output import reporter
from safeguard.errors import InvalidRequest, SafeguardError

app = typer.Typer(help="Events from the platform: uploads, reports, pathways flags.")

#: events judged together (one matching pass)
BATCH = 256


@app.command("submit")
def submit(
    file: str = typer.Argument(..., help="JSON Lines of events ('-' for stdin)."),
    json_output: bool = typer.Option(False, "--json", help="One JSON object per event."),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Progress bar on a terminal."
    ),
) -> None:
    """Judge each event and print its verdict (allow, hold or block), the rules that fired
    and the case it joined. A bad line gets its own error; the others are judged (exit 1
    when any failed).

    {"kind": "upload", "account_id": "u1", "path": "photo.jpg"} (or "hashes": {...})
    {"kind": "report", "account_id": "u1", "reporter": "u2", "reason": "..."}
    {"kind": "pathways_flag", "account_id": "u1", "score": 0.9, "reasons": ["..."]}
    """
    from safeguard.act import EventInput

    lines = _read(file)
    parsed: list[EventInput | SafeguardError] = []
    for n, line in enumerate(lines, 1):
        try:
            parsed.append(EventInput.from_json(json.loads(line)))
        except json.JSONDecodeError as e:
            parsed.append(InvalidRequest(f"line {n}: not JSON ({e.msg})"))
        except SafeguardError as e:
            parsed.append(InvalidRequest(f"line {n}: {e.message}"))
    sg = state.open()
    failed = 0
    counts: dict[str, int] = {}
    try:
        service = sg.events_for(state.actor(sg.db))
        with reporter(progress) as out:
            out.start(len(parsed), "judging")
            for start in range(0, len(parsed), BATCH):
                for v in service.submit_many(parsed[start : start + BATCH]):
                    out.advance()
                    if not v.ok:
                        failed += 1
                        out.warn(f"error: {v.error}")
                    else:
                        counts[v.verdict or ""] = counts.get(v.verdict or "", 0) + 1
                    if json_output:
                        out.record(v.to_json())
                    elif v.ok:
                        case = f" case {v.case_id}" if v.case_id else ""
                        rules = f" ({', '.join(v.rules)})" if v.rules else ""
                        out.line(f"{v.account_id} {v.kind}: {v.verdict}{rules}{case}")
            summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            out.warn(f"{len(parsed)} event(s): {summary or 'none judged'}; {failed} error(s)")
    finally:
        sg.close()
    if failed:
        raise typer.Exit(1)


def _read(file: str) -> list[str]:
    if file == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidRequest(
                f"cannot read {file}: {getattr(e, 'strerror', None) or e}"
            ) from None
    return [line for line in text.splitlines() if line.strip()]
