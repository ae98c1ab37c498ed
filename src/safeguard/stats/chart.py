"""The briefing chart: offences recorded each year as labelled bars, drawn with matplotlib (Agg).

Years without a figure get a shaded column labelled "no figure" rather than a gap that reads
as zero (and no bar, which would read as a value); qualified values ("more than") are labelled
as such. The source goes in the footer so the image can travel on its own.
"""

from __future__ import annotations

from pathlib import Path

from safeguard.extras import pyplot

BAR = "#1b6e8a"
LAST = "#0b3c4d"


def _label(value: float, qualifier: str) -> str:
    text = f"{value:,.0f}"
    if qualifier == "more than":
        return f">{text}"
    if qualifier == "approx":
        return f"~{text}"
    return text


def draw_chart(
    path: Path,
    periods: list[str],
    values: list[float | None],
    qualifiers: list[str],
    *,
    title: str,
    subtitle: str,
    footer: str,
) -> Path:
    plt = pyplot("the briefing chart")
    fig, ax = plt.subplots(figsize=(8, 4.6), dpi=150)
    known = [v for v in values if v is not None]
    top = max(known) if known else 1.0
    xs = list(range(len(periods)))
    for x, v, q in zip(xs, values, qualifiers, strict=True):
        if v is None:
            # a shaded column with a label, not a bar: a missing year has no height
            ax.axvspan(x - 0.325, x + 0.325, color="#eef1f2", zorder=0)
            ax.text(x, top * 0.04, "no figure\nin the data", ha="center", va="bottom",
                    fontsize=8, color="#5f6b71")  # fmt: skip
            continue
        colour = LAST if x == xs[-1] else BAR
        ax.bar(x, v, color=colour, width=0.65)
        ax.text(x, v + top * 0.015, _label(v, q), ha="center", va="bottom", fontsize=10,
                fontweight="bold", color="#222222")  # fmt: skip
    ax.set_xticks(xs, periods, fontsize=10)
    pad = max(0.6, (4 - len(xs)) / 2 + 0.5)  # a year or two: keep bars bar-shaped, centred
    ax.set_xlim(-pad, xs[-1] + pad)
    ax.set_ylim(0, top * 1.15)
    ax.yaxis.set_major_formatter(lambda v, _p: f"{v:,.0f}")
    ax.set_ylabel("Offences recorded", fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e3e7e9", linewidth=0.8)
    ax.set_axisbelow(True)
    size = 12.5 if len(title) <= 70 else max(9.0, 12.5 * 70 / len(title))
    fig.text(0.012, 0.975, title, ha="left", va="top", fontsize=size, fontweight="bold")
    fig.text(0.012, 0.915, subtitle, ha="left", va="top", fontsize=9.5, color="#444444")
    fig.text(0.012, 0.015, footer, fontsize=7.5, color="#555555", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.05, 1, 0.87))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
