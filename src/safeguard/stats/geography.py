"""Where figures are about: police forces, ONS regions, nations, the UK and NSPCC groupings.

Every area is a set of member forces, so totals for an area can be built from its forces and
checked for coverage. Names resolve through the shipped aliases ("Devon & Cornwall", "Devon
and Cornwall Police") and a forgiving normalisation (case, `&`, punctuation, "Police" or
"Constabulary" suffixes); an unknown name gets the closest known names as suggestions, and a
name that fits two areas (the West Midlands force and region) is refused with both spelled
out rather than guessed. `force:`, `region:`, `nation:` and `group:` prefixes pick one kind.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache

from safeguard.stats import reference
from safeguard.stats.errors import UnknownGeography

FORCE, REGION, NATION, GROUP, UK, BODY = "force", "region", "nation", "group", "uk", "body"
KINDS = (FORCE, REGION, NATION, GROUP, UK, BODY)
KIND_NAMES = {
    FORCE: "police force",
    REGION: "ONS region",
    NATION: "nation",
    GROUP: "grouping",
    UK: "country",
    BODY: "national reporting body",
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", norm(text)).strip("-")


def norm(text: str) -> str:
    t = text.lower().replace("&", " and ").replace("'", "").replace("’", "").replace(".", "")
    t = re.sub(r"[^a-z0-9]+", " ", t).strip()
    return re.sub(r"^the ", "", t)


_SUFFIXES = ("police service", "police force", "constabulary", "police", "region", "area")


def loose(text: str) -> str:
    t = norm(text)
    changed = True
    while changed:
        changed = False
        for s in _SUFFIXES:
            if t.endswith(" " + s):
                t = t[: -len(s) - 1].strip()
                changed = True
    return t


@dataclass(frozen=True)
class Geography:
    key: str
    name: str
    kind: str
    members: tuple[str, ...]  # force keys
    population: int | None = None
    population_note: str = ""
    note: str = ""
    parents: tuple[str, ...] = field(default=())  # keys of areas this one lies in

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def is_force(self) -> bool:
        return self.kind == FORCE


class Gazetteer:
    """All known areas and how to find them by name."""

    def __init__(self) -> None:
        self.by_key: dict[str, Geography] = {}
        # normalised name -> {area key: 0 for the area's own name, 1 for other names}
        self._exact: dict[str, dict[str, int]] = {}
        self._loose: dict[str, dict[str, int]] = {}
        self._build()

    # -- building ----------------------------------------------------------------------------

    def _name(self, key: str, *names: str, rank: int = 1) -> None:
        for n in names:
            if not n:
                continue
            for index, form in ((self._exact, norm(n)), (self._loose, loose(n))):
                keys = index.setdefault(form, {})
                keys[key] = min(rank, keys.get(key, rank))

    def _build(self) -> None:
        forces = reference.forces()
        regions: dict[str, list[str]] = {}
        nations: dict[str, list[str]] = {}
        pops: dict[str, int | None] = {}
        for f in forces:
            key = f"{FORCE}:{slug(f.name)}"
            pops[key] = f.population
            parents = []
            if f.nation == "England" and f.ons_region:
                regions.setdefault(f.ons_region, []).append(key)
                parents.append(f"{REGION}:{slug(f.ons_region)}")
            if f.nation in ("England", "Wales", "Scotland", "Northern Ireland"):
                nations.setdefault(f.nation, []).append(key)
                parents.append(f"{NATION}:{slug(f.nation)}")
            self.by_key[key] = Geography(
                key,
                f.name,
                FORCE,
                (key,),
                f.population,
                "" if f.population else "no population figure in the shipped reference data",
                f.note,
                tuple(parents),
            )
            self._name(key, f.name, rank=0)
            self._name(key, f.police_uk_id.replace("-", " "), f.pfa_code)
            self._name(key, f"{f.name} Police", f"{f.name} Constabulary")
        for region, members in regions.items():
            self._area(f"{REGION}:{slug(region)}", region, REGION, members, pops)
            self._name(f"{REGION}:{slug(region)}", f"{region} region")
        for nation, members in nations.items():
            self._area(f"{NATION}:{slug(nation)}", nation, NATION, members, pops)
        for name, parts, note in reference.groupings():
            members = []
            for part in parts:
                kind, _, pname = part.partition(":")
                members.extend(self.by_key[f"{kind}:{slug(pname)}"].members)
            kind = UK if name == "United Kingdom" else GROUP
            self._area(f"{kind}:{slug(name)}", name, kind, members, pops, note)
        for body in reference.other_bodies():
            key = f"{BODY}:{slug(body)}"
            self.by_key[key] = Geography(key, body, BODY, (), None, "not an area")
            self._name(key, body, rank=0)
        for alias, kind, name in reference.aliases():
            self._name(f"{kind}:{slug(name)}", alias)
        # which groupings each force belongs to, for briefings' context
        groups = [g for g in self.by_key.values() if g.kind == GROUP]
        for key, g in list(self.by_key.items()):
            if g.kind == FORCE:
                extra = tuple(x.key for x in groups if key in x.members and len(x.members) < 10)
                self.by_key[key] = Geography(
                    g.key, g.name, g.kind, g.members, g.population, g.population_note, g.note,
                    g.parents + extra,
                )  # fmt: skip

    def _area(
        self,
        key: str,
        name: str,
        kind: str,
        members: list[str],
        pops: dict[str, int | None],
        note: str = "",
    ) -> None:
        unknown = [self.by_key[m].name for m in members if pops.get(m) is None]
        population = None if unknown else sum(pops[m] or 0 for m in members)
        pnote = f"no population figure for {', '.join(unknown)}" if unknown else ""
        self.by_key[key] = Geography(key, name, kind, tuple(members), population, pnote, note)
        self._name(key, name, rank=0)

    # -- lookup ------------------------------------------------------------------------------

    def get(self, key: str) -> Geography:
        return self.by_key[key]

    def forces(self) -> list[Geography]:
        return [g for g in self.by_key.values() if g.kind == FORCE]

    def resolve(self, name: str, kinds: tuple[str, ...] | None = None) -> Geography:
        """The one area `name` means, or UnknownGeography saying why not."""
        raw = str(name).strip()
        prefix, sep, rest = raw.partition(":")
        if sep and prefix.strip().lower() in KINDS:
            kinds = (prefix.strip().lower(),)
            raw = rest.strip()
            if kinds == (GROUP,):
                kinds = (GROUP, UK)
        if not raw:
            raise UnknownGeography("empty area name")
        for index, form in ((self._exact, norm(raw)), (self._loose, loose(raw))):
            ranked = {
                k: r
                for k, r in index.get(form, {}).items()
                if kinds is None or k.split(":")[0] in kinds
            }
            best = min(ranked.values(), default=0)
            found = sorted(k for k, r in ranked.items() if r == best)
            if len(found) == 1:
                return self.by_key[found[0]]
            if len(found) > 1:
                options = "; ".join(
                    f"the {self.by_key[k].kind_name} {self.by_key[k].name!r} "
                    f"(write {k.split(':')[0]}:{self.by_key[k].name})"
                    for k in found
                )
                raise UnknownGeography(f"{name!r} is ambiguous: it could be {options}")
        what = " or ".join(KIND_NAMES[k] for k in kinds) if kinds else "area"
        hint = self.suggest(raw, kinds)
        raise UnknownGeography(
            f"unknown {what} {name!r}" + (f"; did you mean {hint}?" if hint else "")
        )

    def suggest(self, name: str, kinds: tuple[str, ...] | None = None) -> str:
        """The closest known names, quoted, for an error message."""
        candidates: dict[str, str] = {}
        for index in (self._exact,):
            for form, keys in index.items():
                for k in keys:
                    if kinds is None or k.split(":")[0] in kinds:
                        candidates.setdefault(form, self.by_key[k].name)
        close = difflib.get_close_matches(norm(name), list(candidates), n=3, cutoff=0.6)
        names = list(dict.fromkeys(candidates[c] for c in close))
        return " or ".join(repr(n) for n in names)


@cache
def gazetteer() -> Gazetteer:
    return Gazetteer()
