"""`safeguard stats ...`: recorded-crime statistics (issue #6).

safeguard stats import FILE... [--format prc|foi|figures]
safeguard stats summary --geography NAME --from PERIOD --to PERIOD [--source S] [--json]
safeguard stats briefing --geography NAME --out DIR
safeguard stats coverage --geography NAME --period PERIOD [--json]
safeguard stats platforms --geography NAME [--from P --to P] [--json]
safeguard stats list | remove ID | areas
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from safeguard.cli.context import state
from safeguard.cli.output import out_console, print_json
from safeguard.errors import InvalidRequest

app = typer.Typer(help="Police-recorded child abuse image crime statistics.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON instead of text.")
GEOGRAPHY = typer.Option(
    ..., "--geography", "-g", help="A force, region, nation, 'England and Wales' or 'UK'."
)
SOURCE = typer.Option(
    None,
    "--source",
    help="nspcc, home-office, scottish-government, psni or police-scotland "
    "(default: the one with most years in the span).",
)
OFFENCE = typer.Option(
    None,
    "--offence",
    help="image (all image offences), 86 (Home Office proxy), 86/2, 86/10, 86/15.",
)
RELEASE = typer.Option(
    None, "--release", help="Use published figures as they stood in this release year."
)


def _service():
    from safeguard.stats import StatsService

    return StatsService.open(state.get_settings())


def _n(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, int | float):
        return f"{v:,}"
    return str(v)


@app.command("import")
def import_files(
    files: list[Path] = typer.Argument(..., help="Files to import (CSV, XLSX or ODS)."),
    fmt: str | None = typer.Option(
        None, "--format", help="prc (Home Office table), foi (FOI returns) or figures."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Let figures in these files replace the same figures stored."
    ),
    source: str = typer.Option(
        "nspcc", "--source", help="Who requested the FOI returns (foi files only)."
    ),
    release: str = typer.Option(
        "", "--release", help="A label for this batch of FOI returns, e.g. 2021."
    ),
    json_output: bool = JSON,
) -> None:
    """Import files, validating every row first: all files are stored, or none."""
    from safeguard.stats.ingest import FORMATS
    from safeguard.stats.reference import SOURCES

    if fmt is not None and fmt not in FORMATS:
        raise InvalidRequest(f"unknown --format {fmt!r} (choose from {', '.join(FORMATS)})")
    if source not in SOURCES:
        raise InvalidRequest(f"unknown --source {source!r} (choose from {', '.join(SOURCES)})")
    with _service() as stats:
        results = stats.import_files(files, fmt, replace=replace, source=source, release=release)
    if json_output:
        print_json({"imports": [r.to_json() for r in results]})
        return
    for r in results:
        if r.status != "imported":
            out_console.print(f"{r.file_name}: {r.status}", highlight=False)
            continue
        out_console.print(
            f"{r.file_name}: import #{r.id} ({r.kind}), {r.rows:,} row(s), "
            f"{r.figures:,} figure(s) from {', '.join(r.sources)}",
            highlight=False,
        )


@app.command("list")
def list_imports(json_output: bool = JSON) -> None:
    """List imported files (import #1 and #2 are the published figures shipped with safeguard)."""
    with _service() as stats:
        imports = stats.repo.imports()
    if json_output:
        print_json([i.to_json() for i in imports])
        return
    table = Table("id", "format", "file", "figures", "sources", "imported")
    for i in imports:
        table.add_row(
            str(i.id),
            i.kind,
            i.file_name + (" (shipped)" if i.builtin else ""),
            f"{i.figures:,}",
            ", ".join(i.sources),
            f"{i.imported_at:%Y-%m-%d %H:%M} {i.imported_by}",
        )
    out_console.print(table)


@app.command("remove")
def remove(import_id: int, json_output: bool = JSON) -> None:
    """Remove one import and all its figures."""
    with _service() as stats:
        info = stats.repo.remove(import_id)
    if json_output:
        print_json(info.to_json())
    else:
        out_console.print(f"removed import #{info.id} ({info.file_name}, {info.figures:,} figures)")


@app.command("summary")
def summary(
    geography: str = GEOGRAPHY,
    first: str | None = typer.Option(None, "--from", help="First year, e.g. 2016/17."),
    last: str | None = typer.Option(None, "--to", help="Last year, e.g. 2020/21."),
    source: str | None = SOURCE,
    offence: str | None = OFFENCE,
    release: int | None = RELEASE,
    from_forces: bool = typer.Option(
        False, "--from-forces", help="Build area figures from their forces' figures only."
    ),
    json_output: bool = JSON,
) -> None:
    """Series, total, change, peak and rate for one area over a span of years."""
    with _service() as stats:
        s = stats.summary(
            geography,
            first,
            last,
            source=source,
            offence=offence,
            release=release,
            from_forces=from_forces,
        )
    data = s.to_json()
    if json_output:
        print_json(data)
        return
    out_console.print(
        f"[bold]{data['geography']}[/] ({data['geography_kind']}): {data['offence_label']}, "
        f"{data['source_label']}"
    )
    for y in data["series"]:
        extra = f"  ({y['qualifier']})" if y["qualifier"] not in (None, "exact") else ""
        rate = f"  {y['rate_per_100k']} per 100,000" if "rate_per_100k" in y else ""
        out_console.print(f"  {y['period']:>9}  {_n(y['value']):>8}{rate}{extra}", highlight=False)
    a, b = data["from"]["period"], data["to"]["period"]
    span = a if a == b else f"{a}-{b}"
    out_console.print(f"total {span}: {_n(data['total'])}", highlight=False)
    if data["missing_periods"]:
        out_console.print(f"missing: {', '.join(data['missing_periods'])}", highlight=False)
    if data["change_pct"] is not None:
        out_console.print(f"change: {data['change_pct']:+}%", highlight=False)
    if data["peak"]:
        peak = data["peak"]
        out_console.print(f"peak: {_n(peak['value'])} in {peak['period']}", highlight=False)
    for p in data["published"]:
        unit = "%" if p["measure"] == "pct_change" else ""
        out_console.print(
            f"published ({p['source']}, {p['release']}): {p['measure']} {p['period']} "
            f"{p['qualifier']} {_n(p['value'])}{unit}",
            highlight=False,
        )
    for n in data["notes"]:
        out_console.print(f"note: {n}", highlight=False)


@app.command("coverage")
def coverage(
    geography: str = typer.Option("United Kingdom", "--geography", "-g"),
    period: str = typer.Option(..., "--period", help="A year, e.g. 2017/18."),
    source: str = typer.Option("nspcc", "--source"),
    offence: str | None = OFFENCE,
    release: int | None = RELEASE,
    json_output: bool = JSON,
) -> None:
    """Which forces have a figure for one year, so totals compare like with like."""
    with _service() as stats:
        data = stats.analysis.coverage(
            geography, period, source=source, offence=offence, release=release
        )
    if json_output:
        print_json(data)
        return
    out_console.print(
        f"{data['geography']} {data['period']} ({data['source']}): {data['reported']} of "
        f"{data['forces']} forces reported, sum {_n(data['sum_of_reported'])}; published for the "
        f"area: {_n(data['published_for_area'])}",
        highlight=False,
    )
    if data["missing"]:
        out_console.print("missing: " + ", ".join(data["missing"]), highlight=False)


@app.command("platforms")
def platforms(
    geography: str = typer.Option("United Kingdom", "--geography", "-g"),
    first: str | None = typer.Option(None, "--from"),
    last: str | None = typer.Option(None, "--to"),
    json_output: bool = JSON,
) -> None:
    """Platforms police identified in offences, with their shares."""
    from safeguard.stats.periods import Span, parse_period

    with _service() as stats:
        geo = stats.analysis.gaz.resolve(geography)
        figs = stats.repo.figures({geo.key, *geo.members}, measures=["platform"])
        if first or last:
            a = parse_period(first or last)
            b = parse_period(last or first)
            span = Span.of(a, b)
        else:
            years = [f.period_last for f in figs] or [0]
            kind = figs[0].year_kind if figs else "fy"
            span = Span(kind, min(years), max(years))
        rows = stats.analysis.platforms_for(figs, geo, span, None)
    if json_output:
        print_json({"geography": geo.name, "platforms": rows})
        return
    if not rows:
        out_console.print(f"no platform figures for {geo.name}")
    for r in rows:
        share = f"{r['share_pct']}%" if r["share_pct"] is not None else "-"
        out_console.print(
            f"{r['period']}  {r['platform']:<22} count {_n(r['count']):>7}  share {share:>6}  "
            f"({r['basis']})",
            highlight=False,
        )


@app.command("areas")
def areas(json_output: bool = JSON) -> None:
    """Forces, regions, nations and groupings that figures can be about."""
    from safeguard.stats.geography import gazetteer

    gaz = gazetteer()
    rows = [
        {
            "name": g.name,
            "kind": g.kind_name,
            "key": g.key,
            "forces": len(g.members),
            "population": g.population,
        }
        for g in gaz.by_key.values()
    ]
    if json_output:
        print_json(rows)
        return
    table = Table("name", "kind", "forces", "population")
    for r in rows:
        table.add_row(str(r["name"]), str(r["kind"]), str(r["forces"]), _n(r["population"]))
    out_console.print(table)


@app.command("briefing")
def briefing(
    geography: str = GEOGRAPHY,
    out: Path = typer.Option(..., "--out", help="Directory for briefing.md, .html, chart.png."),
    first: str | None = typer.Option(None, "--from"),
    last: str | None = typer.Option(None, "--to"),
    source: str | None = SOURCE,
    release: int | None = RELEASE,
    json_output: bool = JSON,
) -> None:
    """Write a local briefing (Markdown, HTML and a PNG chart) for one area."""
    from safeguard.stats.briefing import write_briefing

    with _service() as stats:
        paths = write_briefing(
            stats.analysis, geography, out, first=first, last=last, source=source, release=release
        )
    if json_output:
        print_json({k: str(v) for k, v in paths.items()})
        return
    for p in paths.values():
        out_console.print(f"wrote {p}", highlight=False)
