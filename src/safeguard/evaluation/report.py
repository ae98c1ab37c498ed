"""Writing a robustness run: `report.json`, `report.md` (tables) and `recall.png` (chart)."""

from __future__ import annotations

import json
from pathlib import Path

from safeguard.extras import pyplot


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def markdown(report: dict) -> str:
    configs = [c["name"] for c in report["configs"]]
    lines = [
        "# Robustness of matching to image edits",
        "",
        f"{report['images']} images, {report['banked']} banked; {report['queries']} queries "
        f"(every edit of every image). Recall: the share of banked images whose edited copy "
        "matched its own entry.",
        "",
        "## Recall by family",
        "",
        "| family | " + " | ".join(configs) + " |",
        "|---|" + "---:|" * len(configs),
    ]
    families = list(report["family_recall"][configs[0]])
    for f in families:
        lines.append(
            f"| {f} | " + " | ".join(_pct(report["family_recall"][c][f]) for c in configs) + " |"
        )
    lines += ["", "## Recall by edit", "", "| edit | family | " + " | ".join(configs) + " |"]
    lines.append("|---|---|" + "---:|" * len(configs))
    for e in report["edits"]:
        lines.append(
            f"| {e['name']} | {e['family']} | "
            + " | ".join(_pct(report["recall"][c][e["name"]]) for c in configs)
            + " |"
        )
    lines += ["", "## False matches and cost", ""]
    lines.append(
        "| configuration | false pairs | pairs checked | lookups/s | vs plain"
        " | signals per query | bytes kept per image vs plain |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for c in configs:
        fm, cost = report["false_matches"][c], report["cost"][c]
        lines.append(
            f"| {c} | {fm['pairs']} | {fm['pairs_checked']:,} | {cost['lookups_per_s']:,.0f} | "
            f"{cost['speed_ratio']:.2f}x | {cost['hashes_per_query']} "
            f"| {cost['index_size_ratio']:.1f}x |"
        )
    h = report["cost"]["hashing"]
    lines.append("")
    lines.append(
        f"Hashing a file: {h['ms_per_file_plain']} ms plain, "
        f"{h['ms_per_file_pdq_variants']} ms with the PDQ variants, "
        f"{h['ms_per_file_with_variants']} ms with those and the local features "
        f"({h['ratio']}x). "
        "Lookups/s: one thread, in process, the configuration's own bank."
    )
    lines.append("")
    return "\n".join(lines) + "\n"


def chart(report: dict, path: Path) -> None:
    configs = [c["name"] for c in report["configs"]]
    families = list(report["family_recall"][configs[0]])
    plt = pyplot("the recall chart of eval robustness")
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=100)
    width = 0.8 / len(configs)
    colours = ["#9aa5b1", "#3e7cb1", "#81a4cd", "#0b3c5d"]
    for k, c in enumerate(configs):
        xs = [i + (k - (len(configs) - 1) / 2) * width for i in range(len(families))]
        ax.bar(
            xs,
            [100 * report["family_recall"][c][f] for f in families],
            width,
            label=c,
            color=colours[k % 4],
        )
    ax.set_xticks(range(len(families)), families, rotation=30, ha="right")
    ax.set_ylabel("recall (%)")
    ax.set_ylim(0, 105)
    ax.axhline(90, color="#999", lw=0.8, ls="--")
    ax.legend(ncols=len(configs), loc="lower right", bbox_to_anchor=(1, 1.0), frameon=False)
    ax.set_title(
        f"Recall of edited copies by family ({report['banked']} banked images)", loc="left"
    )
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write(report: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "report.json", out / "report.md", out / "recall.png"]
    files[0].write_text(json.dumps(report, indent=2) + "\n")
    files[1].write_text(markdown(report))
    chart(report, files[2])
    return files
