"""Forces, regions and nations by name: aliases, suggestions, and refusing to guess."""

from __future__ import annotations

import csv

import pytest

from safeguard.stats.errors import UnknownGeography
from safeguard.stats.geography import gazetteer
from tests.stats.conftest import FORCES_CSV


@pytest.mark.parametrize(
    "name",
    [
        "Devon and Cornwall",
        "Devon & Cornwall",
        "Devon and Cornwall Police",
        "devon & cornwall police",
        "E23000035",
    ],
)
def test_force_aliases(name: str) -> None:
    assert gazetteer().resolve(name).name == "Devon and Cornwall"


def test_every_force_in_the_shared_list_is_known_with_its_region_and_nation() -> None:
    gaz = gazetteer()
    with open(FORCES_CSV, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        force = gaz.resolve(f"force:{r['force_prc_name']}")
        assert force.name == r["force_prc_name"]
        if r["nation"] == "England":
            region = gaz.resolve(f"region:{r['ons_region']}")
            assert force.key in region.members
        if r["nation"] in ("England", "Wales", "Scotland", "Northern Ireland"):
            assert force.key in gaz.resolve(f"nation:{r['nation']}").members
        if r["population_hoc_sn00634"]:
            assert force.population == int(r["population_hoc_sn00634"])


def test_area_membership_from_the_shared_list() -> None:
    gaz = gazetteer()
    with open(FORCES_CSV, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    south_west = {r["force_prc_name"] for r in rows if r["ons_region"] == "South West"}
    assert {gaz.get(k).name for k in gaz.resolve("South West").members} == south_west
    wales = {r["force_prc_name"] for r in rows if r["nation"] == "Wales"}
    assert {gaz.get(k).name for k in gaz.resolve("Wales").members} == wales
    ew = {r["force_prc_name"] for r in rows if r["nation"] in ("England", "Wales")}
    assert {gaz.get(k).name for k in gaz.resolve("England and Wales").members} == ew
    assert len(gaz.resolve("UK").members) == len(rows)
    pops = [int(r["population_hoc_sn00634"]) for r in rows if r["nation"] == "Wales"]
    assert gaz.resolve("Wales").population == sum(pops)


def test_nspcc_groupings() -> None:
    gaz = gazetteer()
    ne = {gaz.get(k).name for k in gaz.resolve("North East and Cumbria").members}
    assert ne == {"Cleveland", "Durham", "Northumbria", "Cumbria"}
    west = gaz.resolve("West (Avon & Somerset, Gloucestershire, Wiltshire)")
    assert {gaz.get(k).name for k in west.members} == {
        "Avon and Somerset",
        "Gloucestershire",
        "Wiltshire",
    }


def test_unknown_names_get_the_closest_suggestion() -> None:
    with pytest.raises(UnknownGeography, match="did you mean 'Devon and Cornwall'"):
        gazetteer().resolve("Devon and Cornwal")


def test_ambiguous_names_are_refused_not_guessed() -> None:
    with pytest.raises(UnknownGeography, match="ambiguous"):
        gazetteer().resolve("West Midlands")
    assert gazetteer().resolve("West Midlands Police").kind == "force"
    assert gazetteer().resolve("West Midlands region").kind == "region"
    assert gazetteer().resolve("Northern Ireland").kind == "nation"
    assert gazetteer().resolve("PSNI").kind == "force"
