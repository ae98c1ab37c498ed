"""Local briefings: the figures for one force, region or nation, written the way the NSPCC's
local press stories state them, with the wider area for context, sources and caveats.

`write_briefing` writes `briefing.md`, `briefing.html` (the same text, with the chart) and
`chart.png` into a directory. Both text forms come from one list of blocks, so they never
disagree. Every number comes from `Analysis.summary`; nothing is typed in by hand.
"""

from __future__ import annotations

import html
import math
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from safeguard._version import __version__
from safeguard.stats import reference
from safeguard.stats.analysis import Analysis, Summary, YearValue, num
from safeguard.stats.chart import draw_chart
from safeguard.stats.errors import StatsError
from safeguard.stats.geography import FORCE, GROUP, REGION, UK, Geography
from safeguard.stats.periods import FY

# how each source is credited in a sentence
CREDIT = {
    "nspcc": "figures obtained by the NSPCC through Freedom of Information requests",
    "home-office": "Home Office police recorded crime figures",
    "scottish-government": "Scottish Government recorded crime figures",
    "psni": "Police Service of Northern Ireland recorded crime figures",
    "police-scotland": "Police Scotland management information",
}
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
QUAL_WORDS = {"more than": "more than ", "approx": "about "}


@dataclass
class Block:
    kind: str  # h1 | h2 | p | em | ul | table | img
    text: str = ""
    items: list[tuple[str, str | None]] | None = None  # (text, link)
    rows: list[list[str]] | None = None  # first row is the header


def display(geo: Geography, *, article: bool = True) -> str:
    """`the South West`, `Wales`, `the City of London`."""
    name = geo.name
    if "," in name:  # "London, City of"
        a, b = (x.strip() for x in name.split(",", 1))
        name = f"the {b} {a}" if article else f"{b} {a}"
        return name
    if geo.kind == UK:
        return "the UK" if article else "UK"
    if article and geo.kind in (REGION, GROUP) and name not in ("London", "England and Wales"):
        return f"the {name}"
    return name


def over(n: float) -> str:
    """A headline figure rounded down to two significant figures: 3,632 -> 'Over 3,600'."""
    if n < 100:
        return f"{n:,.0f}"
    digits = int(math.floor(math.log10(n))) - 1
    floor = int(n // 10**digits * 10**digits)
    return f"Over {floor:,}" if floor != n else f"{floor:,}"


def years_phrase(n: int, kind: str) -> str:
    unit = "years"
    return f"{NUMBER_WORDS.get(n, str(n))} {unit}" if kind == FY else f"{n} calendar years"


def _q(y: YearValue | dict[str, object], value: object = None) -> str:
    qual = y.qualifier if isinstance(y, YearValue) else str(y.get("qualifier") or "")
    v = y.value if isinstance(y, YearValue) else value
    return f"{QUAL_WORDS.get(qual or '', '')}{num(v):,}"  # type: ignore[arg-type]


def _series_sentence(s: Summary) -> str:
    """'675 were in 2019/20, 686 in 2018/19, 829 in 2017/18 and 511 in 2016/17.'"""
    earlier = [y for y in reversed(s.series[:-1]) if y.value is not None]
    if not earlier:
        return ""
    parts = [
        f"{_q(earlier[0])} {'was' if earlier[0].value == 1 else 'were'} in {earlier[0].period}"
    ]
    parts += [f"{_q(y)} in {y.period}" for y in earlier[1:]]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return text[0].upper() + text[1:] + "."


def measure_words(offence: str) -> str:
    """What is being counted, in words; the code 86 proxy is never called image crimes."""
    if offence == "image":
        return "child abuse image crimes"
    if offence == "86":
        return "obscene publications offences (Home Office code 86, a proxy)"
    return (
        f"{reference.offences()[offence].short} offences ({offence})"
        if offence in reference.offences()
        else f"offence {offence} crimes"
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _change_words(pct: float) -> str:
    r = round(pct)
    if r > 0:
        return f"a rise of {r}%"
    if r < 0:
        return f"a fall of {-r}%"
    return "no change"


def build(analysis: Analysis, s: Summary) -> tuple[list[Block], dict[str, str]]:
    geo = s.geography
    where = display(geo)
    n_years = len(s.series)
    span_words = years_phrase(n_years, s.span.kind)
    credit = CREDIT[s.source]
    first, last = s.first, s.last
    total = s.total
    crimes = measure_words(s.offence)
    blocks: list[Block] = []
    by = f"by police in {where}" if geo.kind == FORCE else f"in {where}"

    # headline and standfirst, as the local stories have them
    if total is not None and n_years > 1:
        headline = f"{over(total)} {crimes} recorded {by} in the last {span_words}"
    elif s.change_pct is not None:
        direction = "increase" if s.change_pct >= 0 else "decrease"
        headline = f"{abs(round(s.change_pct))}% {direction} in {crimes} {by} since {first.period}"
    elif last.value is not None:
        headline = f"{_q(last)} {crimes} recorded {by} in {last.period}"
    else:
        headline = f"{crimes} recorded {by}"
    blocks.append(Block("h1", _sentence(headline)))
    blocks.append(Block("em", f"{s.span.label} · {reference.SOURCES[s.source].label}"))

    lead: list[str] = []
    if total is not None and n_years > 1:
        qual = QUAL_WORDS.get(s.total_qualifier or "", "")
        lead.append(
            f"{qual.capitalize() if qual else ''}{num(total):,} {crimes} were "
            f"recorded {by} between {first.period} and {last.period}, according to {credit}."
        )
    if last.value is not None:
        lead.append(
            f"{_q(last)} {'of those ' if total is not None and n_years > 1 else ''}crimes were "
            f"recorded in {last.period}."
            if total is not None and n_years > 1
            else f"{_q(last)} {crimes} were recorded {by} in {last.period}, according to {credit}."
        )
    series = _series_sentence(s)
    if series:
        lead.append(series)
    if lead:
        blocks.append(Block("p", " ".join(_sentence(x) for x in lead)))

    facts: list[str] = []
    if s.change_pct is not None:
        change = _change_words(s.change_pct)
        if {first.qualifier, last.qualifier} - {"exact"}:
            # a change from or to a bound or an estimate is itself only a bound or an estimate
            bound = {("exact", "more than"): "at least ", ("more than", "exact"): "at most "}
            change = change.replace(
                " of ", " of " + bound.get((first.qualifier, last.qualifier), "about "), 1
            )
        facts.append(
            f"That is {change} between {first.period} and {last.period} "
            f"({_q(first)} to {_q(last)})."
        )
    peak = s.peak
    if peak is not None and n_years > 2 and len(s.available) > 1:
        if peak is last:
            facts.append(f"The {last.period} figure is the highest in the period.")
        else:
            facts.append(f"Offences peaked at {_q(peak)} in {peak.period}.")
    if last.value is not None and geo.population:
        rate = last.value / geo.population * 100_000
        facts.append(
            f"In {last.period} that is {rate:.1f} offences for every 100,000 people living in "
            f"{where}."
        )
    if s.missing:
        facts.append(
            f"No figure for {', '.join(s.missing)} is in the data held, so no total over the "
            "whole period is given."
        )
    if facts:
        blocks.append(Block("p", " ".join(f for f in facts if f)))

    published = [p for p in s.published if p["source"] == s.source and p["offence"] == s.offence]
    pub_lines = []
    for p in published:
        value = p["value"]
        if p["measure"] == "total":
            line = (
                f"The {reference.SOURCES[str(p['source'])].publisher.split(' (')[0]} published a "
                f"total of {QUAL_WORDS.get(str(p['qualifier']), '')}{value:,} for {p['period']}"
            )
        else:
            line = f"The published change for {p['period']} is {value:+}%"
        if p.get("computed") is not None:
            line += f" (the yearly figures give {p['computed']:,}"
            line += "%)" if p["measure"] == "pct_change" else ")"
        pub_lines.append(line + f" ({p['release']} release).")
    if pub_lines:
        blocks.append(Block("p", " ".join(pub_lines)))

    context, context_cites = _context(analysis, s)
    if context:
        blocks.append(Block("h2", "The wider picture"))
        blocks.extend(Block("p", paragraph) for paragraph in context)

    platforms = _platform_sentences(s)
    if platforms:
        blocks.append(Block("h2", "Platforms"))
        blocks.append(Block("p", " ".join(platforms)))

    blocks.append(Block("img", "chart.png", items=[(f"Chart: {headline}", None)]))
    rows = [["Year", "Offences", "Per 100,000 people", "Basis"]]
    for y in s.series:
        rate_text = (
            f"{y.value / geo.population * 100_000:.1f}"
            if y.value is not None and geo.population
            else "–"
        )
        basis = y.basis
        if y.coverage is not None and y.value is None:
            basis = f"{y.coverage['reported']} of {y.coverage['forces']} forces reported"
        rows.append([y.period.label, "no figure" if y.value is None else _q(y), rate_text, basis])
    if total is not None:
        qual = QUAL_WORDS.get(s.total_qualifier or "", "")
        rows.append([f"Total {s.span.label}", f"{qual}{num(total):,}", "", ""])
    blocks.append(Block("h2", "Figures"))
    blocks.append(Block("table", rows=rows))

    if s.notes:
        blocks.append(Block("h2", "Notes on the figures"))
        blocks.append(Block("ul", items=[(n, None) for n in s.notes]))
    blocks.append(Block("h2", "Caveats"))
    blocks.append(Block("ul", items=[(c, None) for c in s.caveats]))
    blocks.append(Block("h2", "Sources"))
    cites = []
    seen: set[str] = set()
    for c in [*s.citations, *context_cites]:
        ident = c["url"] or c["file"] or c["basis"]
        if ident in seen:
            continue
        seen.add(ident)
        label = c["basis"] + (f", {c['release']} release" if c["release"] else "")
        if c["file"] and not c["url"]:
            label += f" (file {c['file']})"
        cites.append((label, c["url"] or None))
    blocks.append(Block("ul", items=cites))
    meta = {
        "headline": headline,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return blocks, meta


def _context(analysis: Analysis, s: Summary) -> tuple[list[str], list[dict[str, str]]]:
    """Sentences about the areas around this one for the same years and source, and the
    citations behind them."""
    out: list[str] = []
    cites: list[dict[str, str]] = []
    geo = s.geography
    parents = list(geo.parents)
    if geo.kind == REGION:
        parents = ["nation:england"]
    if geo.kind != UK:
        parents.append("uk:united-kingdom")
    first_label, last_label = s.first.period.label, s.last.period.label
    for key in dict.fromkeys(parents):
        if key == geo.key:
            continue
        parent = analysis.gaz.get(key)
        try:
            ps = analysis.summary(key, first_label, last_label, source=s.source, offence=s.offence)
        except StatsError:
            continue
        name = display(parent)
        n = years_phrase(len(ps.series), ps.span.kind)
        said: list[str] = []
        total_said = ps.total is not None and len(ps.series) > 1
        if total_said:
            said.append(
                f"Across {name}, {QUAL_WORDS.get(ps.total_qualifier or '', '')}"
                f"{num(ps.total):,} offences were recorded over the {n}."
            )
        mine = [p for p in ps.published if p["source"] == s.source and p["offence"] == s.offence]
        for p in mine:
            whole = p["first"] == first_label and p["last"] == last_label
            if p["measure"] == "total" and whole and not total_said:
                total_said = True
                said.insert(
                    0,
                    f"Across {name}, {QUAL_WORDS.get(str(p['qualifier']), '')}{p['value']:,} "
                    f"offences were recorded over the {n} ({p['release']} release).",
                )
            elif p["measure"] == "pct_change" and p["first"] and p["last"]:
                word = "rose" if float(p["value"] or 0) >= 0 else "fell"  # type: ignore[arg-type]
                said.append(
                    f"Offences {word} by {abs(float(p['value'] or 0)):g}% in {name} between "  # type: ignore[arg-type]
                    f"{p['first']} and {p['last']} ({p['release']} release)."
                )
            else:
                continue
            cites.append(
                {"source": str(p["source"]), "basis": str(p["basis"]), "release": str(p["release"]),
                 "url": str(p["url"]), "file": ""}
            )  # fmt: skip
        if ps.last.value is not None:
            since = ""
            quoted = any(
                p["measure"] == "pct_change"
                and p["first"] == ps.first.period.label
                and p["last"] == ps.last.period.label
                for p in mine
            )
            if ps.change_pct is not None and not quoted:  # the published change was said above
                r = round(ps.change_pct)
                since = f", {'up' if r >= 0 else 'down'} {abs(r)}% on {ps.first.period}"
            said.append(f"Police across {name} recorded {_q(ps.last)} in {ps.last.period}{since}.")
            cites.extend(
                c for c in ps.citations if any(c["url"] == f.source_url for f in ps.last.used)
            )
        if said:
            out.append(" ".join(said))
    if s.source == "nspcc":
        ho = next((o for o in s.other_sources if o["source"] == "home-office"), None)
        if ho is not None:
            try:
                hs = analysis.summary(
                    geo.key,
                    first_label,
                    last_label,
                    source="home-office",
                    offence=str(ho["offence"]),
                )
            except StatsError:
                hs = None
            if hs is not None and hs.available:
                vals = ", ".join(f"{_q(y)} in {y.period}" for y in hs.available)
                what = (
                    "which count the broader offence code 86 (obscene publications etc., "
                    "including offences that do not involve children)"
                    if hs.offence == "86"
                    else "which count the same offences"
                )
                out.append(
                    f"For comparison, the Home Office's recorded crime figures, {what}, give "
                    f"{vals} for {display(geo)}."
                )
                cites.extend(hs.citations)
    return out, cites


def _platform_sentences(s: Summary) -> list[str]:
    out = []
    by_year: dict[str, list[dict[str, object]]] = {}
    for p in s.platforms:
        if p.get("share_pct") is not None:
            by_year.setdefault(str(p["period"]), []).append(p)
    for year, rows in sorted(by_year.items()):
        rows.sort(key=lambda r: -float(r["share_pct"]))  # type: ignore[arg-type]
        parts = [
            f"{'Meta’s platforms' if r['platform'] == 'Meta' else r['platform']} in "
            f"{r['share_pct']:g}%"
            for r in rows[:4]
        ]
        parts[0] = parts[0].replace(" in ", " was involved in ", 1) + " of offences"
        listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
        scope = " (UK figures)" if rows[0]["basis"] == "published" else ""
        out.append(f"In {year}, where police identified the platform used, {listed}{scope}.")
    if out:
        out.append(
            "Shares are of offences where a platform was recorded, not of all offences; Meta "
            "means Facebook, Instagram and WhatsApp together."
        )
    return out


def to_markdown(blocks: list[Block], meta: dict[str, str], command: str) -> str:
    lines: list[str] = []
    for b in blocks:
        if b.kind == "h1":
            lines += [f"# {b.text}", ""]
        elif b.kind == "h2":
            lines += [f"## {b.text}", ""]
        elif b.kind == "em":
            lines += [f"*{b.text}*", ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "img":
            alt = (b.items or [("chart", None)])[0][0]
            lines += [f"![{alt}]({b.text})", ""]
        elif b.kind == "ul":
            for text, link in b.items or []:
                lines.append(f"- [{text}]({link})" if link else f"- {text}")
            lines.append("")
        elif b.kind == "table":
            rows = b.rows or []
            lines.append("| " + " | ".join(rows[0]) + " |")
            lines.append(
                "|" + "|".join(["---"] + ["---:"] * 2 + ["---"] * (len(rows[0]) - 3)) + "|"
            )
            for r in rows[1:]:
                lines.append("| " + " | ".join(r) + " |")
            lines.append("")
    lines += [
        "---",
        "",
        f"Generated {meta['generated']} by safeguard {__version__}: `{command}`",
        "",
    ]
    return "\n".join(lines)


_CSS = """
body{font-family:Georgia,serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2327;
line-height:1.5}
h1{font-size:1.7rem;line-height:1.25;margin-bottom:.3rem}h2{font-size:1.2rem;margin-top:2rem}
.standfirst{color:#555;font-style:italic;margin-top:0}img{max-width:100%;height:auto}
table{border-collapse:collapse;font-family:system-ui,sans-serif;font-size:.92rem}
th,td{border-bottom:1px solid #dde3e6;padding:.3rem .7rem;text-align:left}
td:nth-child(2),td:nth-child(3){text-align:right}footer{font-size:.8rem;color:#666;margin-top:2rem}
"""


def to_html(blocks: list[Block], meta: dict[str, str], command: str) -> str:
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(meta['headline'])}</title><style>{_CSS}</style></head><body><article>",
    ]
    for b in blocks:
        if b.kind == "h1":
            parts.append(f"<h1>{e(b.text)}</h1>")
        elif b.kind == "h2":
            parts.append(f"<h2>{e(b.text)}</h2>")
        elif b.kind == "em":
            parts.append(f'<p class="standfirst">{e(b.text)}</p>')
        elif b.kind == "p":
            parts.append(f"<p>{e(b.text)}</p>")
        elif b.kind == "img":
            alt = (b.items or [("chart", None)])[0][0]
            parts.append(f'<figure><img src="{e(b.text)}" alt="{e(alt)}"></figure>')
        elif b.kind == "ul":
            items = []
            for text, link in b.items or []:
                items.append(
                    f'<li><a href="{e(link)}">{e(text)}</a></li>' if link else f"<li>{e(text)}</li>"
                )
            parts.append("<ul>" + "".join(items) + "</ul>")
        elif b.kind == "table":
            rows = b.rows or []
            head = "".join(f"<th>{e(c)}</th>" for c in rows[0])
            body = "".join(
                "<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows[1:]
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append(
        f"<footer>Generated {e(meta['generated'])} by safeguard {e(__version__)}: "
        f"<code>{e(command)}</code></footer></article></body></html>"
    )
    return "\n".join(parts) + "\n"


def write_briefing(
    analysis: Analysis,
    geography: str,
    out: Path,
    *,
    first: str | None = None,
    last: str | None = None,
    source: str | None = None,
    release: int | None = None,
) -> dict[str, Path]:
    s = analysis.summary(geography, first, last, source=source, release=release)
    blocks, meta = build(analysis, s)
    args = ["safeguard", "stats", "briefing", "--geography", s.geography.name]
    args += ["--from", s.first.period.label, "--to", s.last.period.label, "--source", s.source]
    if release:
        args += ["--release", str(release)]
    command = shlex.join(args)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    geo = s.geography
    years = s.first.period.label
    if len(s.series) > 1:
        years += f" to {s.last.period}"
    total = ""
    if s.total is not None and len(s.series) > 1:
        total = f" · total {QUAL_WORDS.get(s.total_qualifier or '', '')}{num(s.total):,}"
    short = "Code 86 offences (a proxy)" if s.offence == "86" else measure_words(s.offence)
    unit = "financial" if s.span.kind == FY else "calendar"
    chart = draw_chart(
        out / "chart.png",
        [y.period.label for y in s.series],
        [y.value for y in s.series],
        [y.qualifier for y in s.series],
        title=_sentence(f"{short} recorded in {display(geo)}"),
        subtitle=_sentence(f"{reference.offence_label(s.offence)} by {unit} year, {years}{total}"),
        footer=f"Source: {reference.SOURCES[s.source].label}"
        + (" (Home Office offence code 86, a proxy)" if s.offence == "86" else "")
        + ". Chart: safeguard.",
    )
    md = out / "briefing.md"
    md.write_text(to_markdown(blocks, meta, command), encoding="utf-8")
    page = out / "briefing.html"
    page.write_text(to_html(blocks, meta, command), encoding="utf-8")
    return {"markdown": md, "html": page, "chart": chart}
