"""Briefings: Markdown, HTML and a PNG chart stating the figures the way the articles do."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

from tests.conftest import Cli


def briefing(cli: Cli, out: Path, *args: str) -> tuple[str, str, Image.Image]:
    result = cli("stats", "briefing", *args, "--out", out)
    assert result.exit_code == 0, result.output
    md = (out / "briefing.md").read_text(encoding="utf-8")
    page = (out / "briefing.html").read_text(encoding="utf-8")
    return md, page, Image.open(out / "chart.png")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_devon_and_cornwall_briefing(figures_cli: Cli, tmp_path: Path) -> None:
    md, page, chart = briefing(figures_cli, tmp_path, "--geography", "Devon and Cornwall")
    # seeds/000: "over 3,500 ... in the last five years", "931 of those crimes occurred here in
    # 2020-21. 675 were in 2019-20, 686 in 2018-19, 829 were in 2017-18 and 511 ... in 2016-17"
    headline = md.splitlines()[0]
    assert headline.startswith("# Over 3,600 child abuse image crimes") and "five years" in headline
    assert "931 of those crimes were recorded in 2020/21." in md
    assert "675 were in 2019/20, 686 in 2018/19, 829 in 2017/18 and 511 in 2016/17." in md
    assert "3,632" in md
    # the wider area, as seeds/000 and 004 give it
    assert "Across the South West, 6,852 offences were recorded over the five years" in md
    assert "Offences rose by 26% in the South West between 2019/20 and 2020/21" in md
    assert "## Caveats" in md and "## Sources" in md
    assert (
        "https://hellorayo.co.uk/greatest-hits/plymouth/news/child-abuse-image-crimes-devon-cornwall"
        in md
    )

    tags = _Tags()
    tags.feed(page)
    imgs = [a for t, a in tags.tags if t == "img"]
    assert imgs and imgs[0]["src"] == "chart.png" and imgs[0]["alt"]
    text = " ".join(" ".join(tags.text).split())
    assert "931 of those crimes were recorded in 2020/21." in text

    assert chart.format == "PNG" and chart.size[0] >= 1000 and chart.size[1] >= 600
    assert len(chart.convert("RGB").getcolors(1_000_000) or []) > 10  # not a blank image


def test_briefing_with_missing_years(figures_cli: Cli, tmp_path: Path) -> None:
    md, _page, _chart = briefing(figures_cli, tmp_path, "--geography", "Wales")
    # seeds/002: "43% increase in child abuse image crimes in Wales"
    assert md.startswith("# 43% increase in child abuse image crimes in Wales since 2016/17")
    assert "No figure for 2018/19, 2019/20, 2020/21 is in the data held" in md
    assert "| 2018/19 | no figure |" in md


def test_uk_briefing_has_platforms(figures_cli: Cli, tmp_path: Path) -> None:
    md, _page, _chart = briefing(
        figures_cli, tmp_path, "--geography", "UK", "--from", "2021/22", "--to", "2022/23"
    )
    # seeds/002 and 003: Snapchat 43% (2021/22) and 44% (2022/23) where a platform was identified
    assert (
        "In 2021/22, where police identified the platform used, Snapchat was involved in 43%" in md
    )
    assert (
        "In 2022/23, where police identified the platform used, Snapchat was involved in 44%" in md
    )
    assert "More than 33,000" in md
    # a change to a lower bound is a lower bound
    assert "That is a rise of at least 7%" in md


def test_unknown_area_for_a_briefing(figures_cli: Cli, tmp_path: Path) -> None:
    result = figures_cli("stats", "briefing", "--geography", "Dorsett", "--out", tmp_path / "b")
    assert result.exit_code == 2
    assert "unknown area 'Dorsett'; did you mean 'Dorset'?" in result.stderr
    assert not (tmp_path / "b").exists()


def test_uk_briefing_over_every_year_held(figures_cli: Cli, tmp_path: Path) -> None:
    # a published change whose years have no figure held has nothing computed beside it
    # (this once crashed: "unsupported format string passed to NoneType")
    md, _page, _chart = briefing(figures_cli, tmp_path, "--geography", "UK")
    assert md.startswith("# ")
    assert "None" not in md
