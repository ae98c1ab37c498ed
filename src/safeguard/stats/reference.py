"""Reference data shipped inside the package (see data/SOURCES.md): no download needed.

- `police_forces_uk.csv`: every UK police force with its ONS region, nation and population.
- `aliases.csv`: other names people and files use for forces and areas.
- `groupings.csv`: areas made of other areas (England and Wales, the UK, NSPCC groupings).
- `offences.csv`: the offence codes the module knows, with labels for readers.
- `other_bodies.csv`: national fraud bodies that appear in Home Office tables but are no area.
- `platforms.csv`: platform names as returns write them, and which belong to Meta.
- `nspcc_press_figures.csv`, `nspcc_platform_figures.csv`: published figures, loaded into
  every database on first use as the built-in dataset.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

DATA = resources.files("safeguard.stats") / "data"

#: published figures loaded into every store as the built-in dataset
BUILTIN_FILES = ("nspcc_press_figures.csv", "nspcc_platform_figures.csv")


@dataclass(frozen=True)
class SourceInfo:
    key: str
    label: str
    publisher: str


#: who produced a figure; figures of different sources are never added together
SOURCES: dict[str, SourceInfo] = {
    s.key: s
    for s in (
        SourceInfo(
            "nspcc",
            "NSPCC Freedom of Information requests to police forces",
            "NSPCC (FOI returns from police forces)",
        ),
        SourceInfo(
            "home-office",
            "Home Office police recorded crime",
            "Home Office",
        ),
        SourceInfo(
            "scottish-government",
            "Scottish Government recorded crime",
            "Scottish Government",
        ),
        SourceInfo("psni", "Police Service of Northern Ireland recorded crime", "PSNI"),
        SourceInfo(
            "police-scotland",
            "Police Scotland management information",
            "Police Scotland",
        ),
    )
}

#: when no source is asked for and several cover a span equally, prefer in this order
SOURCE_ORDER = list(SOURCES)


@dataclass(frozen=True)
class ForceRow:
    name: str
    police_uk_id: str
    pfa_code: str
    nation: str
    ons_region: str
    ons_region_code: str
    workforce_region: str
    population: int | None
    in_prc: bool
    note: str


@dataclass(frozen=True)
class Offence:
    code: str
    label: str
    short: str
    note: str


def _rows(name: str) -> list[dict[str, str]]:
    # a Traversable's open() passes `newline` on to the file; typeshed's stub omits it
    with (DATA / name).open(encoding="utf-8", newline="") as fh:  # type: ignore[call-overload]
        return list(csv.DictReader(fh))


def data_path(name: str) -> Path:
    return Path(str(DATA / name))


@cache
def forces() -> tuple[ForceRow, ...]:
    out = []
    for r in _rows("police_forces_uk.csv"):
        pop = r["population_hoc_sn00634"].strip()
        out.append(
            ForceRow(
                name=r["force_prc_name"].strip(),
                police_uk_id=r["police_uk_id"].strip(),
                pfa_code=r["pfa_code"].strip(),
                nation=r["nation"].strip(),
                ons_region=r["ons_region"].strip(),
                ons_region_code=r["ons_region_code"].strip(),
                workforce_region=r["ho_workforce_region"].strip(),
                population=int(pop) if pop else None,
                in_prc=r["in_prc_open_data"].strip() == "yes",
                note=r["notes"].strip(),
            )
        )
    return tuple(out)


@cache
def aliases() -> tuple[tuple[str, str, str], ...]:
    """(alias, kind, canonical name)"""
    return tuple((r["alias"], r["kind"], r["name"]) for r in _rows("aliases.csv"))


@cache
def groupings() -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(name, members as kind:name, note)"""
    return tuple(
        (r["name"], tuple(m.strip() for m in r["members"].split(";")), r["note"])
        for r in _rows("groupings.csv")
    )


@cache
def offences() -> dict[str, Offence]:
    return {
        r["code"]: Offence(r["code"], r["label"], r["short"], r["note"])
        for r in _rows("offences.csv")
    }


def offence_label(code: str) -> str:
    known = offences().get(code)
    return known.label if known else f"Home Office offence code {code}"


@cache
def other_bodies() -> tuple[str, ...]:
    return tuple(r["name"] for r in _rows("other_bodies.csv"))


@cache
def builtin_digest(name: str) -> str:
    return hashlib.sha256((DATA / name).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Platform:
    name: str
    group: str  # "Meta" for Facebook, Instagram, WhatsApp, Messenger; "" otherwise


NOT_IDENTIFIED = "not identified"


def _pkey(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


@cache
def _platforms() -> dict[str, Platform]:
    out: dict[str, Platform] = {}
    for r in _rows("platforms.csv"):
        p = Platform(r["name"], r["group"])
        for a in [r["name"], *r["aliases"].split(";")]:
            if a.strip():
                out[_pkey(a)] = p
    return out


def platform(text: str) -> Platform:
    """The canonical platform for how a return names it (unknown names are kept as given)."""
    return _platforms().get(_pkey(text), Platform(" ".join(text.split()), ""))


def platform_groups() -> dict[str, list[str]]:
    """Group name -> member platform names."""
    groups: dict[str, list[str]] = {}
    for p in dict.fromkeys(_platforms().values()):
        if p.group:
            groups.setdefault(p.group, []).append(p.name)
    return groups
